/**
 * The one way the tokenizer loader reads files (Node only). Tokenizer files come from strangers:
 * - only regular files are read (opened non-blocking and fstat'ed first): a FIFO would block
 *   forever and /dev/zero never ends;
 * - a file is at most MAX_TOKENIZER_FILE_BYTES, read in slices of at most MAX_READ_SLICE;
 * - gzip output is capped by a limit derived from the compressed size (GZIP_EXPANSION ×), so a
 *   3 MB bomb cannot inflate to gigabytes;
 * - files found inside a folder may be symlinks only into that folder or, for a Hugging Face cache
 *   snapshot (`…/snapshots/<sha>/`), into the cache's `…/blobs/`.
 * The opening and reading rules are @dcformer/checkpoint's (the same for checkpoints); this file
 * only adds the tokenizer's limits, its error class and gzip.
 */
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { folderEntrySync, readRegularFileSync as readBounded } from '@dcformer/checkpoint/node';
import { TokenizerError } from './errors.js';

/** The largest real tokenizer files are ~35 MB (Gemma's tokenizer.json); 512 MiB is not a tokenizer. */
export const MAX_TOKENIZER_FILE_BYTES = 512 << 20;
/** Tokenizer JSON compresses 4-10×; gzip's own maximum is ~1032×. Output beyond this many times the input is a bomb. */
export const GZIP_EXPANSION = 100;

/** The bytes of regular file `path` (at most `maxBytes`), read in bounded slices. */
export function readRegularFileSync(path: string, maxBytes = MAX_TOKENIZER_FILE_BYTES): Uint8Array {
  return readBounded(path, maxBytes, (message) => new TokenizerError(message, { file: path }), 'a tokenizer file');
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

/**
 * `dir/name` if something is there, after checking where a symlink leads (inside `dir`, or the
 * Hugging Face cache blobs of a snapshot folder); null when nothing is there.
 */
export function folderEntry(dir: string, name: string): string | null {
  const path = join(dir, name);
  return folderEntrySync(dir, name, (message) => new TokenizerError(message, { file: path }));
}
