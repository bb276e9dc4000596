/**
 * bos/eos/pad/unk ids: from tokenizer_config.json, then special_tokens_map.json (the files HF
 * saves beside a tokenizer), else the format's convention. A key that is present but null in the
 * config (Qwen's `"bos_token": null`) means "none", not "use the convention".
 */
import { TokenizerError } from './errors.js';
import { jsonDepthViolation, MAX_JSON_DEPTH } from '@dcformer/checkpoint';
import type { SpecialIds } from './pipeline.js';

export interface TokenizerExtras {
  /** tokenizer_config.json, parsed or as text. */
  tokenizerConfig?: unknown;
  /** special_tokens_map.json, parsed or as text. */
  specialTokensMap?: unknown;
}

/** Token strings to try, in order, for each role when no config names one. */
export interface Conventions {
  bos: readonly string[];
  eos: readonly string[];
  pad: readonly string[];
  unk: readonly string[];
}

const ROLES = ['bos', 'eos', 'pad', 'unk'] as const;

function parseExtra(value: unknown, name: string): Record<string, unknown> | null {
  if (value === undefined || value === null) return null;
  let parsed = value;
  if (typeof value === 'string') {
    if (jsonDepthViolation(value) >= 0)
      throw new TokenizerError(`${name}: JSON nests deeper than ${MAX_JSON_DEPTH} levels`, { file: name });
    try {
      parsed = JSON.parse(value);
    } catch (error) {
      throw new TokenizerError(`${name}: not valid JSON (${(error as Error).message})`, { file: name });
    }
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new TokenizerError(`${name}: must be a JSON object`, { file: name });
  }
  return parsed as Record<string, unknown>;
}

/** `"<s>"` or `{"content": "<s>", ...}` (HF AddedToken form) -> the content; null stays null. */
function tokenString(value: unknown, field: string, file: string): string | null | undefined {
  if (value === undefined) return undefined;
  if (value === null) return null;
  if (typeof value === 'string') return value;
  if (typeof value === 'object' && typeof (value as { content?: unknown }).content === 'string') {
    return (value as { content: string }).content;
  }
  throw new TokenizerError(`${file}: '${field}' must be a token string, {"content": string} or null`, { field, file });
}

export function resolveSpecialIds(
  tokenToId: (token: string) => number | undefined,
  conventions: Conventions,
  extras: TokenizerExtras = {},
  fallback: SpecialIds = { bosId: null, eosId: null, padId: null, unkId: null },
): SpecialIds {
  const config = parseExtra(extras.tokenizerConfig, 'tokenizer_config.json');
  const map = parseExtra(extras.specialTokensMap, 'special_tokens_map.json');
  const result: SpecialIds = { bosId: null, eosId: null, padId: null, unkId: null };
  for (const role of ROLES) {
    const key = `${role}_token`;
    let token = config === null ? undefined : tokenString(config[key], key, 'tokenizer_config.json');
    if (token === undefined && map !== null) token = tokenString(map[key], key, 'special_tokens_map.json');
    let id: number | null = fallback[`${role}Id`];
    if (token === undefined) {
      for (const candidate of conventions[role]) {
        const found = tokenToId(candidate);
        if (found !== undefined) {
          id = found;
          break;
        }
      }
    } else if (token !== null) {
      // A config naming a token the vocabulary lacks would make every later id wrong: refuse it.
      const found = tokenToId(token);
      if (found === undefined) {
        throw new TokenizerError(
          `tokenizer config: '${key}' is ${JSON.stringify(token)}, which is not in the vocabulary`,
          { field: key },
        );
      }
      id = found;
    }
    result[`${role}Id`] = id;
  }
  return result;
}
