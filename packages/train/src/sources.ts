/**
 * Training text on disk → one token stream, tokenized once and cached (Node only).
 *
 * `--data` paths may be text files, JSONL files (one {"text": ...} per line), directories (every
 * such file below, sorted by path, dot-files skipped) or pre-tokenized `.bin` files (raw
 * little-endian uint16 or uint32 ids, nanoGPT's layout). Each text document is followed by the
 * tokenizer's end-of-text id. The cache key is a SHA-256 over the tokenizer's fingerprint and the
 * *contents* of the sources, so renaming a file hits the cache and editing one misses it.
 */
import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile, stat } from 'node:fs/promises';
import { extname, join, resolve } from 'node:path';
import { InputError } from '@dcformer/kernels';
import { readRegularFile, writeFileAtomic } from '@dcformer/model/node';

/** One --data file is held in memory whole; past 16 GiB, split it. */
const MAX_DATA_FILE_BYTES = 2 ** 34;
import { checkTokenRange, type TokenArray } from './data.js';

/** What the data pipeline needs from a tokenizer (`@dcformer/tokenizer`'s Tokenizer satisfies it). */
export interface TextTokenizer {
  encode(text: string): ArrayLike<number>;
  readonly vocabSize: number;
  /** End-of-text id appended after every document; null/undefined: documents are just concatenated. */
  readonly eosId?: number | null;
}

export type BinDtype = 'uint16' | 'uint32';

export interface LoadTokensOptions {
  tokenizer: TextTokenizer;
  /** Identifies the tokenizer in the cache key (e.g. a hash of its tokenizer.json). */
  tokenizerFingerprint: string;
  /** Where cached token files go. */
  cacheDir: string;
  /** ids must be below this (the model's vocab_size). */
  vocabSize: number;
  /** Element type of `.bin` inputs. Default: uint16 when vocabSize ≤ 65536, else uint32 (nanoGPT's rule). */
  binDtype?: BinDtype;
  /** Progress notes ("tokenizing 3 files…"), for the CLI's stderr. */
  onNote?: (message: string) => void;
  /**
   * The hash a resumed run's checkpoint recorded: other data are refused as soon as the files are
   * read, before anything is tokenized or cached.
   */
  expectHash?: string;
}

export interface LoadedTokens {
  tokens: TokenArray;
  /** Content hash of the token stream's inputs: the cache key, and what a resumed run must match. */
  hash: string;
  /** Whether the tokens came from the cache. */
  cached: boolean;
  files: string[];
}

type SourceKind = 'text' | 'jsonl' | 'bin';
interface Source {
  path: string;
  kind: SourceKind;
  bytes: Uint8Array;
}

const TEXT_EXTENSIONS_IN_DIRS = new Set(['.txt', '.md', '.text', '.jsonl', '.bin']);

function kindOf(path: string): SourceKind {
  const ext = extname(path).toLowerCase();
  return ext === '.jsonl' ? 'jsonl' : ext === '.bin' ? 'bin' : 'text';
}

async function walk(dir: string, out: string[]): Promise<void> {
  const entries = await readdir(dir, { withFileTypes: true });
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const e of entries) {
    if (e.name.startsWith('.')) continue;
    const path = join(dir, e.name);
    if (e.isDirectory()) await walk(path, out);
    else if (e.isFile() && TEXT_EXTENSIONS_IN_DIRS.has(extname(e.name).toLowerCase())) out.push(path);
  }
}

/** Expands `--data` paths into files, in order; errors name the path. */
export async function listDataFiles(paths: readonly string[]): Promise<string[]> {
  if (paths.length === 0) throw new InputError('no --data given');
  const files: string[] = [];
  for (const p of paths) {
    let info: Awaited<ReturnType<typeof stat>>;
    try {
      info = await stat(p);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      throw new InputError(`--data ${p}: ${code === 'ENOENT' ? 'no such file or directory' : (code ?? String(e))}`);
    }
    if (info.isDirectory()) {
      const found: string[] = [];
      await walk(p, found);
      if (found.length === 0)
        throw new InputError(`--data ${p}: the directory holds no .txt, .md, .jsonl or .bin files`);
      files.push(...found);
    } else if (info.isFile()) {
      files.push(p);
    } else {
      // A FIFO would block the read forever, a device might never end: only regular files.
      throw new InputError(
        `--data ${p}: is not a regular file or a directory (a FIFO, device or socket); expected a text, .jsonl or .bin file`,
      );
    }
  }
  return files.map((f) => resolve(f));
}

/** The documents of a JSONL file: the string field "text" of each non-blank line. */
export function jsonlDocuments(text: string, file: string): string[] {
  const docs: string[] = [];
  text.split('\n').forEach((line, i) => {
    if (line.trim() === '') return;
    let record: unknown;
    try {
      record = JSON.parse(line);
    } catch (e) {
      throw new InputError(`${file}:${i + 1}: not valid JSON (${(e as Error).message})`);
    }
    const t = (record as { text?: unknown } | null)?.text;
    if (typeof t !== 'string') throw new InputError(`${file}:${i + 1}: expected an object with a string "text" field`);
    docs.push(t);
  });
  return docs;
}

/**
 * Splits long text at line starts (a newline followed by a non-space character) into pieces of about
 * `size` characters, so a large file is encoded piecewise. Cutting there is safe for GPT-2-style
 * pre-tokenizers: their whitespace rules never join a newline with the word after it.
 */
export function textPieces(text: string, size = 1 << 20): string[] {
  const pieces: string[] = [];
  let start = 0;
  while (text.length - start > size) {
    let cut = start + size;
    while (cut < text.length && !(text[cut - 1] === '\n' && !/\s/.test(text[cut]))) cut++;
    pieces.push(text.slice(start, cut));
    start = cut;
  }
  pieces.push(text.slice(start));
  return pieces;
}

function binDtypeFor(vocabSize: number, given?: BinDtype): BinDtype {
  return given ?? (vocabSize <= 65536 ? 'uint16' : 'uint32');
}

function readBin(src: Source, dtype: BinDtype): TokenArray {
  const width = dtype === 'uint16' ? 2 : 4;
  if (src.bytes.length % width !== 0) {
    throw new InputError(
      `${src.path}: ${src.bytes.length} bytes is not a whole number of ${dtype} ids (pass --bin-dtype if the guess is wrong)`,
    );
  }
  const copy = src.bytes.slice(); // aligned, and independent of the file buffer
  return dtype === 'uint16'
    ? new Uint16Array(copy.buffer, 0, copy.length / 2)
    : new Uint32Array(copy.buffer, 0, copy.length / 4);
}

function tokenize(sources: Source[], o: LoadTokensOptions, dtype: BinDtype): TokenArray {
  const parts: ArrayLike<number>[] = [];
  const eos = o.tokenizer.eosId;
  const decoder = new TextDecoder('utf-8');
  for (const src of sources) {
    if (src.kind === 'bin') {
      const ids = readBin(src, binDtypeFor(o.vocabSize, o.binDtype));
      checkTokenRange(ids, o.vocabSize, src.path);
      parts.push(ids);
      continue;
    }
    const text = decoder.decode(src.bytes);
    const docs = src.kind === 'jsonl' ? jsonlDocuments(text, src.path) : [text];
    for (const doc of docs) {
      for (const piece of textPieces(doc)) parts.push(o.tokenizer.encode(piece));
      if (eos !== null && eos !== undefined) parts.push([eos]);
    }
  }
  const total = parts.reduce((n, p) => n + p.length, 0);
  const out = dtype === 'uint16' ? new Uint16Array(total) : new Uint32Array(total);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/**
 * Reads, tokenizes (or loads from the cache) and concatenates `paths`. The cached stream is
 * `<cacheDir>/<hash>.bin` with a `<hash>.json` note beside it, written after the .bin so a present
 * note means a complete file.
 */
export async function loadTokens(paths: readonly string[], o: LoadTokensOptions): Promise<LoadedTokens> {
  const files = await listDataFiles(paths);
  const sources: Source[] = [];
  const key = createHash('sha256').update(`dcformer-train tokens v1\0${o.tokenizerFingerprint}\0${o.binDtype ?? ''}\0`);
  for (const path of files) {
    // Regular files only, read in bounded slices (readFile stops at 2 GiB with an untyped RangeError).
    const bytes = await readRegularFile(path, MAX_DATA_FILE_BYTES, (m) => new InputError(`--data ${m}`));
    const kind = kindOf(path);
    sources.push({ path, kind, bytes });
    key.update(`${kind}\0${createHash('sha256').update(bytes).digest('hex')}\0`);
  }
  const hash = key.digest('hex').slice(0, 32);
  if (o.expectHash !== undefined && hash !== o.expectHash) {
    throw new InputError(
      `--resume: the data differ from the run's (content hash ${hash.slice(0, 12)} vs ${o.expectHash.slice(0, 12)} in the checkpoint); nothing was tokenized`,
    );
  }
  const dtype: BinDtype = o.vocabSize <= 65536 ? 'uint16' : 'uint32';
  const binPath = join(o.cacheDir, `${hash}.bin`);
  const notePath = join(o.cacheDir, `${hash}.json`);
  const cached = await readCached(binPath, notePath, dtype);
  if (cached) return { tokens: cached, hash, cached: true, files };

  const totalBytes = sources.reduce((n, src) => n + src.bytes.length, 0);
  // Small inputs tokenize in well under a second: a note would only clutter the output.
  if (totalBytes >= 16 << 20)
    o.onNote?.(
      `tokenizing ${(totalBytes / 2 ** 20).toFixed(0)} MiB in ${files.length} file${files.length === 1 ? '' : 's'} (cached afterwards in ${o.cacheDir})`,
    );
  const tokens = tokenize(sources, o, dtype);
  if (tokens.length === 0) throw new InputError(`--data ${paths.join(', ')}: no tokens (the input is empty)`);
  checkTokenRange(tokens, o.vocabSize, 'tokenized data');
  await mkdir(o.cacheDir, { recursive: true });
  await writeFileAtomic(binPath, new Uint8Array(tokens.buffer, tokens.byteOffset, tokens.byteLength));
  await writeFileAtomic(
    notePath,
    `${JSON.stringify({ format: 'dcformer-tokens/1', dtype, count: tokens.length, files }, null, 2)}\n`,
  );
  return { tokens, hash, cached: false, files };
}

async function readCached(binPath: string, notePath: string, dtype: BinDtype): Promise<TokenArray | null> {
  try {
    const note = JSON.parse(await readFile(notePath, 'utf8')) as { dtype?: string; count?: number };
    const bytes = await readFile(binPath);
    const width = dtype === 'uint16' ? 2 : 4;
    if (note.dtype !== dtype || note.count !== bytes.length / width) return null;
    const copy = new Uint8Array(bytes).slice();
    return dtype === 'uint16' ? new Uint16Array(copy.buffer) : new Uint32Array(copy.buffer);
  } catch {
    return null; // missing or unreadable: tokenize again
  }
}
