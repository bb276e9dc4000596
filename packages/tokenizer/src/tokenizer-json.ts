/**
 * Hugging Face tokenizer.json (BPE models) -> Tokenizer. Every component is validated while it is
 * built, and a malformed file raises a TokenizerError naming the JSON field.
 */
import type { AddedToken } from './added-tokens.js';
import { BpeModel } from './bpe.js';
import { buildDecoder } from './decoders.js';
import { TokenizerError } from './errors.js';
import { jsonDepthViolation, MAX_JSON_DEPTH, valueTooDeep } from '@dcformer/checkpoint';
import {
  asArray,
  asBool,
  asId,
  asObject,
  asString,
  bad,
  MAX_ID,
  optionalString,
  type JsonObject,
} from './json-fields.js';
import { buildNormalizer } from './normalizers.js';
import { PipelineTokenizer } from './pipeline.js';
import { readTokenizerJsonBytes, type TokenizerJsonParts } from './json-bytes.js';
import { buildPreTokenizer } from './pre-tokenizers.js';
import { resolveSpecialIds, type Conventions, type TokenizerExtras } from './special-ids.js';
import type { Tokenizer } from './types.js';

export type { TokenizerExtras } from './special-ids.js';

export const TOKENIZER_JSON_CONVENTIONS: Conventions = {
  bos: ['<s>', '<|begin_of_text|>', '<bos>'],
  eos: ['<|endoftext|>', '</s>', '<|end_of_text|>', '<eos>'],
  pad: ['<|padding|>', '<pad>'],
  unk: [],
};

/** Parses JSON text, turning a syntax error into a TokenizerError with the offset when known. */
export function parseJsonText(text: string, file: string): unknown {
  const deep = jsonDepthViolation(text);
  if (deep >= 0) {
    throw new TokenizerError(
      `${file}: JSON nests deeper than ${MAX_JSON_DEPTH} levels (at offset ${deep}); refusing to parse it`,
      { offset: deep, file },
    );
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    // V8 quotes the text around the error, newlines included: escape them to keep the error one line
    const message = (error as Error).message.replace(/[\u0000-\u001f\u2028\u2029]/g, (c) =>
      JSON.stringify(c).slice(1, -1),
    );
    const position = /position (\d+)/.exec(message);
    const offset = position === null ? (/end of JSON/.test(message) ? text.length : undefined) : Number(position[1]);
    throw new TokenizerError(
      `${file}: not valid JSON${offset === undefined ? '' : ` at offset ${offset}`}${offset === text.length ? ' (truncated?)' : ''}: ${message}`,
      { offset, file },
    );
  }
}

function parseVocab(value: unknown): Map<string, number> {
  const vocab = asObject(value, 'model.vocab');
  const map = new Map<string, number>();
  const keys = Object.keys(vocab);
  for (let k = 0; k < keys.length; k++) {
    const id = vocab[keys[k]];
    map.set(
      keys[k],
      typeof id === 'number' && id >= 0 && id <= MAX_ID && Number.isInteger(id)
        ? id
        : asId(id, `model.vocab[${JSON.stringify(keys[k])}]`),
    );
  }
  return map;
}

/** Streams `model.merges` ("a b" strings or ["a", "b"] pairs) without building a second array. */
function mergesOf(value: unknown): { count: number; forEach: (add: (a: string, b: string) => void) => void } {
  const list = value === undefined ? [] : asArray(value, 'model.merges');
  return {
    count: list.length,
    forEach: (add) => {
      for (let k = 0; k < list.length; k++) {
        const item = list[k];
        if (typeof item === 'string') {
          const space = item.indexOf(' ');
          if (space <= 0 || space === item.length - 1 || item.indexOf(' ', space + 1) >= 0) {
            bad(`model.merges[${k}]`, 'two tokens separated by one space ("a b")', item);
          }
          add(item.slice(0, space), item.slice(space + 1));
        } else if (
          Array.isArray(item) &&
          item.length === 2 &&
          typeof item[0] === 'string' &&
          typeof item[1] === 'string'
        ) {
          add(item[0], item[1]);
        } else {
          bad(`model.merges[${k}]`, 'a string "a b" or a pair ["a", "b"]', item);
        }
      }
    },
  };
}

function parseAddedTokens(value: unknown): AddedToken[] {
  if (value === undefined || value === null) return [];
  return asArray(value, 'added_tokens').map((item, k) => {
    const field = `added_tokens[${k}]`;
    const t = asObject(item, field);
    const special = asBool(t.special, `${field}.special`, false);
    return {
      id: asId(t.id, `${field}.id`),
      content: asString(t.content, `${field}.content`),
      special,
      singleWord: asBool(t.single_word, `${field}.single_word`, false),
      lstrip: asBool(t.lstrip, `${field}.lstrip`, false),
      rstrip: asBool(t.rstrip, `${field}.rstrip`, false),
      normalized: asBool(t.normalized, `${field}.normalized`, !special),
    };
  });
}

/** Vocabulary and merges already read from the bytes (json-bytes.ts), when the input was bytes. */
type Prebuilt = Omit<TokenizerJsonParts, 'skeleton'>;

function buildModel(json: JsonObject, byteLevel: boolean, prebuilt: Prebuilt | null): BpeModel {
  const model = asObject(json.model, 'model');
  const type = model.type === undefined ? 'BPE' : asString(model.type, 'model.type');
  if (type !== 'BPE') {
    const hint = type === 'Unigram' ? '; load the SentencePiece .model file instead' : '';
    throw new TokenizerError(
      `tokenizer.json: 'model.type' is ${JSON.stringify(type)}; only BPE is supported here${hint}`,
      { field: 'model.type' },
    );
  }
  const merges =
    prebuilt === null ? mergesOf(model.merges) : { count: prebuilt.mergeCount, forEach: prebuilt.forEachMerge };
  return new BpeModel({
    vocab: prebuilt === null ? parseVocab(model.vocab) : prebuilt.vocab,
    mergeCount: merges.count,
    forEachMerge: merges.forEach,
    mergeLocation: (k) => ({ field: `model.merges[${k}]` }),
    byteLevel,
    unkToken: optionalString(model.unk_token, 'model.unk_token'),
    continuingSubwordPrefix: optionalString(model.continuing_subword_prefix, 'model.continuing_subword_prefix'),
    endOfWordSuffix: optionalString(model.end_of_word_suffix, 'model.end_of_word_suffix'),
    fuseUnk: asBool(model.fuse_unk, 'model.fuse_unk', false),
    byteFallback: asBool(model.byte_fallback, 'model.byte_fallback', false),
    ignoreMerges: asBool(model.ignore_merges, 'model.ignore_merges', false),
  });
}

const lossyUtf8 = new TextDecoder('utf-8');

/** Input already split by readTokenizerJsonBytes (node.ts has done it to tell the format). */
export class TokenizerJsonBytes {
  constructor(readonly parts: TokenizerJsonParts) {}
}

/** The parsed JSON (and, for bytes, the vocabulary and merges read without JSON.parse). */
function readInput(input: unknown): { json: JsonObject; prebuilt: Prebuilt | null } {
  if (input instanceof TokenizerJsonBytes)
    return { json: asObject(input.parts.skeleton, '(root)'), prebuilt: input.parts };
  if (input instanceof Uint8Array) {
    const parts = readTokenizerJsonBytes(input);
    if (parts !== null) return { json: asObject(parts.skeleton, '(root)'), prebuilt: parts };
    // Not a layout the byte reader handles, or malformed: JSON.parse says where.
    return { json: asObject(parseJsonText(lossyUtf8.decode(input), 'tokenizer.json'), '(root)'), prebuilt: null };
  }
  const json = asObject(typeof input === 'string' ? parseJsonText(input, 'tokenizer.json') : input, '(root)');
  // An object from the caller (e.g. JSON.parse of a download) skipped the text's depth check; the
  // components built recursively must not nest deeper than a file may.
  for (const key of ['normalizer', 'pre_tokenizer', 'post_processor', 'decoder', 'added_tokens']) {
    if (valueTooDeep(json[key], MAX_JSON_DEPTH - 1)) {
      throw new TokenizerError(`tokenizer.json: '${key}' nests deeper than ${MAX_JSON_DEPTH} levels; refusing it`, {
        field: key,
      });
    }
  }
  return { json, prebuilt: null };
}

/** Builds the pipeline of a tokenizer.json; `kind` lets the byte-level tokenizer name itself. */
export function pipelineFromJson(input: unknown, kind: string): PipelineTokenizer {
  const { json, prebuilt } = readInput(input);
  if (json.post_processor !== undefined && json.post_processor !== null) {
    // Parsed for validation only: DCFormer never adds BOS/EOS, so templates are not applied.
    asString(asObject(json.post_processor, 'post_processor').type, 'post_processor.type');
  }
  const normalizer = buildNormalizer(json.normalizer);
  const preTokenizer = buildPreTokenizer(json.pre_tokenizer);
  const model = buildModel(json, preTokenizer.byteLevel, prebuilt);
  const addedTokens = parseAddedTokens(json.added_tokens);
  return new PipelineTokenizer({
    kind,
    normalizer,
    preTokenizer,
    model,
    addedTokens,
    decoder: buildDecoder(json.decoder),
    matchSpecialsByDefault: true,
  });
}

/**
 * A tokenizer from a Hugging Face tokenizer.json: its text, its UTF-8 bytes (the leanest: a 151k
 * vocabulary loads without JSON.parse of the whole file) or the parsed object; optionally with
 * the tokenizer_config.json / special_tokens_map.json that sit beside it (for bos/eos/pad/unk).
 *
 * @example
 * const tok = tokenizerFromJson(await (await fetch('/tokenizer.json')).text());
 * tok.encode('Hello world'); // GPT-NeoX-20B: [12092, 1533]
 */
export function tokenizerFromJson(
  json: string | Uint8Array | TokenizerJsonBytes | object,
  extras: TokenizerExtras = {},
): Tokenizer {
  const tokenizer = pipelineFromJson(json, 'bpe-tokenizer.json');
  const unkToken = tokenizer.modelUnkId >= 0 ? tokenizer.idToToken(tokenizer.modelUnkId) : undefined;
  const unk = unkToken === undefined ? [] : [unkToken];
  return tokenizer.setSpecialIds(
    resolveSpecialIds((t) => tokenizer.tokenToId(t), { ...TOKENIZER_JSON_CONVENTIONS, unk }, extras),
  );
}
