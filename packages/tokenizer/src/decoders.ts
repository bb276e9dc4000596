/**
 * tokenizer.json decoders: token strings -> text, with HF's `decode_chain` semantics (each
 * decoder maps the list of token strings to a new list; the results are concatenated). Supported:
 * ByteLevel, ByteFallback, Fuse, Replace, Strip, Metaspace, Sequence. A tokenizer.json without a
 * decoder joins tokens with spaces, as HF does.
 */
import { TokenizerError } from './errors.js';
import { CHAR_TO_BYTE } from './byte-level.js';
import { asArray, asBool, asObject, asString, optionalString, typeOf, type JsonObject } from './json-fields.js';
import { boundedReplace, patternRegex } from './pre-tokenizers.js';

export type DecodeChain = (tokens: string[]) => string[];

export interface TokenDecoder {
  chain: DecodeChain;
  /** The decoder is exactly ByteLevel: ids can be decoded through precomputed bytes. */
  byteLevelOnly: boolean;
}

const SUPPORTED = ['ByteLevel', 'ByteFallback', 'Fuse', 'Replace', 'Strip', 'Metaspace', 'Sequence'] as const;

const utf8Lossy = new TextDecoder('utf-8');
const utf8Strict = new TextDecoder('utf-8', { fatal: true });

const textEncoder = new TextEncoder();

/** A token's bytes under ByteLevel decoding: mapped through the alphabet, else its own UTF-8. */
export function byteLevelTokenBytes(token: string): Uint8Array {
  const out = new Uint8Array(token.length);
  for (let i = 0; i < token.length; i++) {
    const c = token.charCodeAt(i);
    const b = c < CHAR_TO_BYTE.length ? CHAR_TO_BYTE[c] : -1;
    if (b < 0) return textEncoder.encode(token);
    out[i] = b;
  }
  return out;
}

function byteLevelChain(tokens: string[]): string[] {
  const parts = tokens.map(byteLevelTokenBytes);
  const total = parts.reduce((n, p) => n + p.length, 0);
  const bytes = new Uint8Array(total);
  let at = 0;
  for (const p of parts) {
    bytes.set(p, at);
    at += p.length;
  }
  return [utf8Lossy.decode(bytes)];
}

const BYTE_TOKEN = /^<0x([0-9A-Fa-f]{2})>$/;

function byteFallbackChain(tokens: string[]): string[] {
  const out: string[] = [];
  let pending: number[] = [];
  const flush = (): void => {
    if (pending.length === 0) return;
    try {
      out.push(utf8Strict.decode(new Uint8Array(pending)));
    } catch {
      // HF: bytes that are not valid UTF-8 become one U+FFFD each.
      for (let k = 0; k < pending.length; k++) out.push('\uFFFD');
    }
    pending = [];
  };
  for (const token of tokens) {
    const m = BYTE_TOKEN.exec(token);
    if (m !== null) {
      pending.push(parseInt(m[1], 16));
    } else {
      flush();
      out.push(token);
    }
  }
  flush();
  return out;
}

function stripChain(content: string, start: number, stop: number): DecodeChain {
  return (tokens) =>
    tokens.map((token) => {
      const chars = Array.from(token);
      let a = 0;
      while (a < start && a < chars.length && chars[a] === content) a++;
      let b = chars.length;
      while (chars.length - b < stop && b > a && chars[b - 1] === content) b--;
      return chars.slice(a, b).join('');
    });
}

function buildOne(config: JsonObject, field: string): DecodeChain {
  const type = typeOf(config, field, SUPPORTED);
  switch (type) {
    case 'ByteLevel':
      return byteLevelChain;
    case 'ByteFallback':
      return byteFallbackChain;
    case 'Fuse':
      return (tokens) => [tokens.join('')];
    case 'Replace': {
      const { regex } = patternRegex(config.pattern, `${field}.pattern`);
      const content = asString(config.content, `${field}.content`);
      return (tokens) => tokens.map((t) => boundedReplace(t, regex, content, field));
    }
    case 'Strip': {
      const content = asString(config.content, `${field}.content`);
      const start = typeof config.start === 'number' ? config.start : 0;
      const stop = typeof config.stop === 'number' ? config.stop : 0;
      return stripChain(content, start, stop);
    }
    case 'Metaspace': {
      const replacement = asString(config.replacement ?? '\u2581', `${field}.replacement`);
      if ([...replacement].length !== 1) {
        throw new TokenizerError(
          `tokenizer.json: '${field}.replacement' must be one character; got ${JSON.stringify(replacement.slice(0, 20))}`,
          { field: `${field}.replacement` },
        );
      }
      let scheme = optionalString(config.prepend_scheme, `${field}.prepend_scheme`);
      if (scheme === null)
        scheme = asBool(config.add_prefix_space, `${field}.add_prefix_space`, true) ? 'always' : 'never';
      return (tokens) =>
        tokens.map((t, i) => {
          const s = t.replaceAll(replacement, ' ');
          return i === 0 && scheme !== 'never' && s.startsWith(' ') ? s.slice(1) : s;
        });
    }
    default: {
      const list = asArray(config.decoders, `${field}.decoders`);
      const parts = list.map((item, k) =>
        buildOne(asObject(item, `${field}.decoders[${k}]`), `${field}.decoders[${k}]`),
      );
      return (tokens) => parts.reduce((acc, step) => step(acc), tokens);
    }
  }
}

/** The decoder of a tokenizer.json. */
export function buildDecoder(config: unknown, field = 'decoder'): TokenDecoder {
  if (config === null || config === undefined) return { chain: (tokens) => [tokens.join(' ')], byteLevelOnly: false };
  const object = asObject(config, field);
  return { chain: buildOne(object, field), byteLevelOnly: object.type === 'ByteLevel' };
}
