/**
 * The one way the tokenizer loader reads files (Node only). Tokenizer files come from strangers:
 * - only regular files are read (opened non-blocking and fstat'ed first): a FIFO would block
 *   forever and /dev/zero never ends;
 * - a file is at most MAX_TOKENIZER_FILE_BYTES, read in slices of at most MAX_READ_SLICE;
 * - gzip output is capped by a limit derived from the compressed size (GZIP_EXPANSION ×), so a
 *   3 MB bomb cannot inflate to gigabytes;
 * - files found inside a folder may be symlinks only into that folder or, for a Hugging Face cache
 *   snapshot (`…/snapshots/<sha>/`), into the cache's `…/blobs/`.
 * @dcformer/model's checkpoint/open-file.ts applies the same rules to checkpoints (asynchronously).
 */
import { closeSync, constants, fstatSync, lstatSync, openSync, readSync, realpathSync, type Stats } from 'node:fs';
import { basename, dirname, join, sep } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { TokenizerError } from './errors.js';

/** The largest real tokenizer files are ~35 MB (Gemma's tokenizer.json); 512 MiB is not a tokenizer. */
export const MAX_TOKENIZER_FILE_BYTES = 512 << 20;
/** One read call never asks for more than this (Node asserts on lengths >= 2^31). */
export const MAX_READ_SLICE = 1 << 28;
/** Tokenizer JSON compresses 4-10×; gzip's own maximum is ~1032×. Output beyond this many times the input is a bomb. */
export const GZIP_EXPANSION = 100;

function describeKind(s: Stats): string {
  if (s.isDirectory()) return 'a directory';
  if (s.isFIFO()) return 'a FIFO (named pipe)';
  if (s.isCharacterDevice()) return 'a character device';
  if (s.isBlockDevice()) return 'a block device';
  if (s.isSocket()) return 'a socket';
  return 'not a regular file';
}

function reason(e: unknown): string {
  const err = e as NodeJS.ErrnoException;
  return err.code === 'ENOENT' ? 'no such file' : (err.code ?? err.message ?? String(e));
}

/** The bytes of regular file `path` (at most `maxBytes`), read in bounded slices. */
export function readRegularFileSync(path: string, maxBytes = MAX_TOKENIZER_FILE_BYTES): Uint8Array {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | (constants.O_NONBLOCK ?? 0));
  } catch (e) {
    throw new TokenizerError(`${path}: cannot open (${reason(e)})`, { file: path });
  }
  try {
    const s = fstatSync(fd);
    if (!s.isFile()) throw new TokenizerError(`${path} is ${describeKind(s)}; expected a regular file`, { file: path });
    if (s.size > maxBytes)
      throw new TokenizerError(`${path} is ${s.size} bytes; expected at most ${maxBytes} for a tokenizer file`, {
        file: path,
      });
    const out = new Uint8Array(s.size);
    let done = 0;
    while (done < out.length) {
      const n = readSync(fd, out, done, Math.min(MAX_READ_SLICE, out.length - done), done);
      if (n === 0) throw new TokenizerError(`${path}: file ended after ${done} of ${out.length} bytes`, { file: path });
      done += n;
    }
    return out;
  } finally {
    closeSync(fd);
  }
}

/** Gunzips `raw` with the output capped at GZIP_EXPANSION × its size (and the file-size limit). */
export function gunzipBounded(raw: Uint8Array, path: string): Uint8Array {
  const limit = Math.min(MAX_TOKENIZER_FILE_BYTES, (1 << 20) + GZIP_EXPANSION * raw.length);
  try {
    return gunzipSync(raw, { maxOutputLength: limit });
  } catch (error) {
    const err = error as NodeJS.ErrnoException;
    if (err.code === 'ERR_BUFFER_TOO_LARGE' || err instanceof RangeError) {
      throw new TokenizerError(
        `${path}: gzip data inflates past ${limit} bytes (${GZIP_EXPANSION}× its ${raw.length} compressed bytes + 1 MiB); refusing a decompression bomb`,
        { file: path },
      );
    }
    throw new TokenizerError(`${path}: corrupt or truncated gzip data (${err.message})`, { file: path });
  }
}

function isInside(path: string, root: string): boolean {
  return path === root || path.startsWith(root.endsWith(sep) ? root : root + sep);
}

/**
 * `dir/name` if something is there, after checking where a symlink leads (inside `dir`, or the
 * Hugging Face cache blobs of a snapshot folder); null when nothing is there.
 */
export function folderEntry(dir: string, name: string): string | null {
  const path = join(dir, name);
  let link: Stats;
  try {
    link = lstatSync(path);
  } catch {
    return null;
  }
  if (!link.isSymbolicLink()) return path;
  let target: string;
  let root: string;
  try {
    target = realpathSync(path);
    root = realpathSync(dir);
  } catch (e) {
    throw new TokenizerError(`${path} is a symlink that cannot be resolved (${reason(e)})`, { file: path });
  }
  if (isInside(target, root)) return path;
  if (basename(dirname(root)) === 'snapshots' && isInside(target, join(dirname(dirname(root)), 'blobs'))) return path;
  throw new TokenizerError(
    `${path} is a symlink to ${target}, outside the folder ${root}; expected links only inside it (or into the Hugging Face cache's blobs folder)`,
    { file: path },
  );
}
