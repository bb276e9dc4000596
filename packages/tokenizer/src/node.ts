/**
 * @dcformer/tokenizer for Node: load a tokenizer from a path. Everything else is re-exported from
 * the browser-safe entry.
 *
 * PATH may be a tokenizer.json (or .json.gz), a SentencePiece .model (or .model.gz), an
 * encoder.json whose vocab.bpe sits beside it, or a directory holding one of these. A
 * tokenizer_config.json / special_tokens_map.json in the same directory sets bos/eos/pad/unk.
 * Every file goes through files.ts: regular files only, bounded size, bounded gunzip, and links in a
 * folder only to inside it (or its Hugging Face cache blobs).
 */
import { readdirSync, statSync } from 'node:fs';
import { basename, dirname } from 'node:path';
import { TokenizerError } from './errors.js';
import { folderEntry, gunzipBounded, readRegularFileSync } from './files.js';
import { gpt2FromFiles } from './gpt2-files.js';
import { sentencePieceFromModel } from './sentencepiece/index.js';
import { resolveSpecialIds, type TokenizerExtras } from './special-ids.js';
import { readTokenizerJsonBytes } from './json-bytes.js';
import { parseJsonText, tokenizerFromJson, TokenizerJsonBytes } from './tokenizer-json.js';
import type { Tokenizer } from './types.js';
import { withSpecialIds } from './with-special-ids.js';

export * from './index.js';

const utf8 = new TextDecoder('utf-8', { fatal: false, ignoreBOM: false });

/** File bytes, gunzipped when they start with the gzip magic (whatever the file is called). */
export function readMaybeGzip(path: string): Uint8Array {
  const raw = readRegularFileSync(path);
  if (raw.length >= 2 && raw[0] === 0x1f && raw[1] === 0x8b) return gunzipBounded(raw, path);
  return raw;
}

/** The first of `names` present in `dir` (a link must stay inside it); not necessarily a regular file. */
function firstExisting(dir: string, names: readonly string[]): string | null {
  for (const name of names) {
    const p = folderEntry(dir, name);
    if (p !== null && !statSync(p).isDirectory()) return p;
  }
  return null;
}

function readText(path: string): string {
  return utf8.decode(readRegularFileSync(path));
}

const withGz = (names: string[]): string[] => names.flatMap((n) => [n, `${n}.gz`]);

const GENERIC_NAMES = new Set([undefined, 'tokenizer.json', 'encoder.json', 'vocab.bpe']);

/** Re-labels a TokenizerError raised on file *contents* ("tokenizer.json: ...") with the actual path. */
function inFile<T>(path: string, build: () => T): T {
  try {
    return build();
  } catch (error) {
    if (TokenizerError.isInstance(error) && GENERIC_NAMES.has(error.file)) {
      const message = error.message.replace(/^[\w.-]+\.(json|bpe|txt|model): /, '');
      throw new TokenizerError(`${path}: ${message}`, {
        field: error.field,
        offset: error.offset,
        line: error.line,
        file: path,
      });
    }
    throw error;
  }
}

function readExtras(dir: string): TokenizerExtras {
  const extras: TokenizerExtras = {};
  const config = folderEntry(dir, 'tokenizer_config.json');
  const map = folderEntry(dir, 'special_tokens_map.json');
  if (config !== null)
    extras.tokenizerConfig = inFile(config, () => parseJsonText(readText(config), 'tokenizer_config.json'));
  if (map !== null)
    extras.specialTokensMap = inFile(map, () => parseJsonText(readText(map), 'special_tokens_map.json'));
  return extras;
}

function looksLikeJson(bytes: Uint8Array): boolean {
  for (let i = 0; i < bytes.length && i < 64; i++) {
    const b = bytes[i];
    if (b === 0x7b) return true; // '{'
    if (b !== 0x20 && b !== 0x0a && b !== 0x0d && b !== 0x09 && b !== 0xef && b !== 0xbb && b !== 0xbf) return false;
  }
  return false;
}

function loadSentencePiece(path: string, bytes: Uint8Array, extras: TokenizerExtras): Tokenizer {
  return inFile(path, () => {
    const tokenizer = sentencePieceFromModel(bytes);
    if (extras.tokenizerConfig === undefined && extras.specialTokensMap === undefined) return tokenizer;
    const own = { bosId: tokenizer.bosId, eosId: tokenizer.eosId, padId: tokenizer.padId, unkId: tokenizer.unkId };
    const none = { bos: [], eos: [], pad: [], unk: [] };
    return withSpecialIds(
      tokenizer,
      resolveSpecialIds((t) => tokenizer.tokenToId(t), none, extras, own),
    );
  });
}

function loadGpt2(encoderPath: string, mergesPath: string, extras: TokenizerExtras): Tokenizer {
  const encoder = inFile(encoderPath, () => parseJsonText(utf8.decode(readMaybeGzip(encoderPath)), 'encoder.json'));
  const merges = utf8.decode(readMaybeGzip(mergesPath));
  try {
    return gpt2FromFiles(encoder as object, merges, extras);
  } catch (error) {
    const culprit = TokenizerError.isInstance(error) && error.file === 'vocab.bpe' ? mergesPath : encoderPath;
    return inFile(culprit, () => {
      throw error;
    });
  }
}

function loadFile(path: string): Tokenizer {
  const dir = dirname(path);
  const extras = readExtras(dir);
  const bytes = readMaybeGzip(path);
  if (!looksLikeJson(bytes)) return loadSentencePiece(path, bytes, extras);
  // A tokenizer.json is read from its bytes (json-bytes.ts: no 20 MB string for a 151k vocabulary).
  const parts = inFile(path, () => readTokenizerJsonBytes(bytes));
  if (parts !== null) return inFile(path, () => tokenizerFromJson(new TokenizerJsonBytes(parts), extras));
  // Not a tokenizer.json the byte reader takes (an encoder.json, or malformed): parse it whole.
  const json = inFile(path, () => parseJsonText(utf8.decode(bytes), basename(path)));
  // GPT-2's encoder.json has a token "model" too (id 19849): a tokenizer.json's is an object.
  const model = typeof json === 'object' && json !== null ? (json as Record<string, unknown>).model : undefined;
  if (typeof model === 'object' && model !== null) return inFile(path, () => tokenizerFromJson(json as object, extras));
  // An encoder.json: its merges must sit beside it.
  const merges = firstExisting(dir, withGz(['vocab.bpe', 'merges.txt']));
  if (merges === null) {
    throw new TokenizerError(
      `${path}: a JSON file without "model" is taken as GPT-2's encoder.json, but no vocab.bpe or merges.txt is beside it`,
      { file: path },
    );
  }
  return loadGpt2(path, merges, extras);
}

/**
 * The one file named like `*tokenizer.json[.gz]` in `dir` (e.g. GPT-NeoX's `20B_tokenizer.json`), or
 * null when there is none or more than one (then which one is meant is not ours to guess).
 */
export function soleTokenizerJson(dir: string): string | null {
  let names: string[];
  try {
    names = readdirSync(dir).filter((n) => /tokenizer\.json(\.gz)?$/.test(n));
  } catch {
    return null;
  }
  const found = names
    .map((n) => folderEntry(dir, n))
    .filter((p): p is string => p !== null && !statSync(p).isDirectory());
  return found.length === 1 ? found[0] : null;
}

function loadDirectory(dir: string): Tokenizer {
  const json = firstExisting(dir, withGz(['tokenizer.json'])) ?? soleTokenizerJson(dir);
  if (json !== null) return loadFile(json);
  let model = firstExisting(dir, withGz(['tokenizer.model', 'spiece.model', 'sentencepiece.bpe.model']));
  if (model === null) {
    const models = readdirSync(dir).filter((n) => /\.model(\.gz)?$/.test(n));
    if (models.length === 1) model = folderEntry(dir, models[0]);
  }
  if (model !== null) return loadSentencePiece(model, readMaybeGzip(model), readExtras(dir));
  const encoder = firstExisting(dir, withGz(['encoder.json', 'vocab.json']));
  const merges = firstExisting(dir, withGz(['vocab.bpe', 'merges.txt']));
  if (encoder !== null && merges !== null) return loadGpt2(encoder, merges, readExtras(dir));
  throw new TokenizerError(
    `${dir}: no tokenizer found (looked for tokenizer.json[.gz] or a single *tokenizer.json[.gz], a SentencePiece *.model[.gz], or encoder.json + vocab.bpe / vocab.json + merges.txt)`,
    { file: dir },
  );
}

/**
 * Loads a tokenizer from a file or model directory, synchronously.
 *
 * @example
 * const tok = loadTokenizerSync('checkpoints/dcformer-2.8b'); // its tokenizer.json + tokenizer_config.json
 */
export function loadTokenizerSync(path: string): Tokenizer {
  let isDirectory: boolean;
  try {
    isDirectory = statSync(path).isDirectory();
  } catch {
    throw new TokenizerError(`${path}: no such file or directory`, { file: path });
  }
  // Anything but a directory goes through the regular-file opener (a FIFO or /dev/zero is refused there).
  return isDirectory ? loadDirectory(path) : loadFile(path);
}

/**
 * Loads a tokenizer from a file or model directory (see the module comment for what PATH may be).
 *
 * @example
 * const tok = await loadTokenizer('/data/tokenizers/qwen3/tokenizer.json.gz');
 * tok.encode('Hello world'); // [9707, 1879]
 */
export async function loadTokenizer(path: string): Promise<Tokenizer> {
  return loadTokenizerSync(path);
}
