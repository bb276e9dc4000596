/**
 * The one way checkpoint code (and @dcformer/tokenizer's loader, through the synchronous forms) opens,
 * reads and creates things on disk (Node only). Files come from strangers, so:
 * - only regular files are read: a FIFO would block forever and /dev/zero never ends, so the file is
 *   opened non-blocking and fstat'ed before the first read;
 * - reads go in slices of at most `MAX_READ_SLICE` bytes: Node aborts the process (an assertion,
 *   not an exception) on a single read of 2 GiB or more, and real embeddings are that large;
 * - a symlink inside a checkpoint folder is followed only when it resolves inside that folder or,
 *   for a Hugging Face cache snapshot (`…/snapshots/<sha>/`), inside the cache's `…/blobs/`;
 * - output folders are created one level at a time (recursive mkdir under /proc never returns).
 */
import { closeSync, constants, fstatSync, lstatSync, openSync, readSync, realpathSync, type Stats } from 'node:fs';
import { lstat, mkdir, open, realpath, stat, type FileHandle } from 'node:fs/promises';
import { basename, dirname, join, resolve, sep } from 'node:path';
import { CheckpointError } from './errors.js';

/** One read call never asks for more than this (Node asserts on lengths >= 2^31). */
export const MAX_READ_SLICE = 1 << 28;

/** Builds the caller's typed error; `code` is the errno-style code when there is one (ENOTDIR, ENOENT…). */
export type MakeError = (message: string, code?: string) => Error;

const checkpointError: MakeError = (message) => new CheckpointError(message);

function describeKind(s: Stats): string {
  if (s.isFile()) return 'a regular file';
  if (s.isDirectory()) return 'a directory';
  if (s.isFIFO()) return 'a FIFO (named pipe)';
  if (s.isCharacterDevice()) return 'a character device';
  if (s.isBlockDevice()) return 'a block device';
  if (s.isSocket()) return 'a socket';
  return 'not a regular file';
}

function reason(e: unknown): string {
  const err = e as NodeJS.ErrnoException;
  if (err.code === 'ENOENT') return 'no such file';
  return err.code ?? err.message ?? String(e);
}

export interface RegularFile {
  handle: FileHandle;
  size: number;
  path: string;
}

/** Opens `path` for reading if it is a regular file; anything else is `makeError`'s error. */
export async function openRegularFile(path: string, makeError: MakeError = checkpointError): Promise<RegularFile> {
  let handle: FileHandle;
  try {
    // O_NONBLOCK: opening a FIFO without a writer would otherwise block before we can fstat it.
    handle = await open(path, constants.O_RDONLY | (constants.O_NONBLOCK ?? 0));
  } catch (e) {
    throw makeError(`${path}: cannot open (${reason(e)})`);
  }
  try {
    const s = await handle.stat();
    if (!s.isFile()) throw makeError(`${path} is ${describeKind(s)}; expected a regular file`);
    return { handle, size: s.size, path };
  } catch (e) {
    await handle.close().catch(() => undefined);
    throw e;
  }
}

/**
 * Why `path` must not be read as a file ("is a FIFO (named pipe); expected a regular file"), or null
 * when it is a regular file or cannot be examined (the caller's own read then reports that as before).
 * For callers that keep their own reading code: it examines without opening, so it never blocks.
 */
export async function nonRegularReason(path: string): Promise<string | null> {
  let s: Stats;
  try {
    s = await stat(path);
  } catch {
    return null;
  }
  return s.isFile() ? null : `is ${describeKind(s)}; expected a regular file`;
}

/** Fills `target` from `position`, in slices of at most MAX_READ_SLICE bytes. */
export async function readInto(
  handle: FileHandle,
  target: Uint8Array,
  position: number,
  label: string,
  makeError: MakeError = checkpointError,
): Promise<void> {
  let done = 0;
  while (done < target.length) {
    const want = Math.min(MAX_READ_SLICE, target.length - done);
    const { bytesRead } = await handle.read(target, done, want, position + done);
    if (bytesRead === 0) {
      throw makeError(
        `${label}: file ended after ${position + done} bytes while reading ${target.length} bytes at ${position}`,
      );
    }
    done += bytesRead;
  }
}

/** `length` bytes at `position` in a fresh buffer. */
export async function readRange(
  handle: FileHandle,
  position: number,
  length: number,
  label: string,
  makeError: MakeError = checkpointError,
): Promise<Uint8Array> {
  let buffer: Uint8Array;
  try {
    buffer = new Uint8Array(length);
  } catch (e) {
    throw makeError(`${label}: cannot allocate ${length} bytes to read at ${position} (${(e as Error).message})`);
  }
  await readInto(handle, buffer, position, label, makeError);
  return buffer;
}

/** A whole regular file of at most `maxBytes` bytes. */
export async function readRegularFile(
  path: string,
  maxBytes: number,
  makeError: MakeError = checkpointError,
  kind = 'this kind of file',
): Promise<Uint8Array> {
  const file = await openRegularFile(path, makeError);
  try {
    if (file.size > maxBytes) throw makeError(tooLarge(path, file.size, maxBytes, kind));
    return await readRange(file.handle, 0, file.size, path, makeError);
  } finally {
    await file.handle.close().catch(() => undefined);
  }
}

const tooLarge = (path: string, size: number, maxBytes: number, kind: string) =>
  `${path} is ${size} bytes; expected at most ${maxBytes} for ${kind}`;

/**
 * `readRegularFile` for synchronous loaders (@dcformer/tokenizer's `loadTokenizerSync`): the same
 * rules (regular files only, opened non-blocking, at most `maxBytes`, read in bounded slices).
 * `kind` ends the size message: "… expected at most N for a tokenizer file".
 */
export function readRegularFileSync(
  path: string,
  maxBytes: number,
  makeError: MakeError = checkpointError,
  kind = 'this kind of file',
): Uint8Array {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | (constants.O_NONBLOCK ?? 0));
  } catch (e) {
    throw makeError(`${path}: cannot open (${reason(e)})`);
  }
  try {
    const s = fstatSync(fd);
    if (!s.isFile()) throw makeError(`${path} is ${describeKind(s)}; expected a regular file`);
    if (s.size > maxBytes) throw makeError(tooLarge(path, s.size, maxBytes, kind));
    let out: Uint8Array;
    try {
      out = new Uint8Array(s.size);
    } catch (e) {
      throw makeError(`${path}: cannot allocate ${s.size} bytes (${(e as Error).message})`);
    }
    let done = 0;
    while (done < out.length) {
      const n = readSync(fd, out, done, Math.min(MAX_READ_SLICE, out.length - done), done);
      if (n === 0) throw makeError(`${path}: file ended after ${done} of ${out.length} bytes`);
      done += n;
    }
    return out;
  } finally {
    closeSync(fd);
  }
}

/** A whole regular file as UTF-8 text (replacement characters for invalid bytes). */
export async function readRegularTextFile(
  path: string,
  maxBytes: number,
  makeError: MakeError = checkpointError,
): Promise<string> {
  return new TextDecoder().decode(await readRegularFile(path, maxBytes, makeError));
}

function isInside(path: string, root: string): boolean {
  return path === root || path.startsWith(root.endsWith(sep) ? root : root + sep);
}

/**
 * Whether a symlink from folder `root` to `target` (both real paths) may be followed: inside `root`
 * itself, or, for a Hugging Face cache snapshot, inside the cache's blobs folder
 * (huggingface_hub: <cache>/models--org--name/snapshots/<sha>/<file> -> ../../blobs/<hash>).
 */
function linkAllowed(target: string, root: string): boolean {
  if (isInside(target, root)) return true;
  return basename(dirname(root)) === 'snapshots' && isInside(target, join(dirname(dirname(root)), 'blobs'));
}

const linkOutside = (path: string, target: string, folder: string, root: string) =>
  `${path} is a symlink to ${target}, outside the ${folder} ${root}; expected links only inside it (or into the Hugging Face cache's blobs folder)`;
const linkUnresolved = (path: string, e: unknown) => `${path} is a symlink that cannot be resolved (${reason(e)})`;

/**
 * The path of `name` in checkpoint folder `dir` after checking where it leads: a plain file, or a
 * symlink resolving inside `dir` itself or (for a Hugging Face cache snapshot) inside the cache's
 * blobs folder. Returns null when nothing is there; a link elsewhere (or a dangling one) is an error.
 */
export async function checkpointEntry(
  dir: string,
  name: string,
  makeError: MakeError = checkpointError,
): Promise<string | null> {
  const path = join(dir, name);
  let link: Stats;
  try {
    link = await lstat(path);
  } catch {
    return null;
  }
  if (!link.isSymbolicLink()) return path;
  let target: string;
  let root: string;
  try {
    target = await realpath(path);
    root = await realpath(dir);
  } catch (e) {
    throw makeError(linkUnresolved(path, e));
  }
  if (linkAllowed(target, root)) return path;
  throw makeError(linkOutside(path, target, 'checkpoint folder', root));
}

/** `checkpointEntry` for synchronous loaders (the tokenizer's): the same rule for links. */
export function folderEntrySync(dir: string, name: string, makeError: MakeError = checkpointError): string | null {
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
    throw makeError(linkUnresolved(path, e));
  }
  if (linkAllowed(target, root)) return path;
  throw makeError(linkOutside(path, target, 'folder', root));
}

/** True when something (anything) exists at `path`, without following it. */
export async function entryExists(path: string): Promise<boolean> {
  try {
    await lstat(path);
    return true;
  } catch {
    return false;
  }
}

/**
 * Creates folder `path` and its missing parents one level at a time (Node's recursive mkdir spins
 * forever under /proc). Every failure is `makeError`'s one-line error naming the level that failed.
 */
export async function ensureDirectory(path: string, makeError: MakeError = checkpointError): Promise<void> {
  const target = resolve(path);
  const missing: string[] = [];
  for (let p = target; ; p = dirname(p)) {
    let s: Stats | undefined;
    try {
      s = await stat(p);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT')
        throw makeError(`cannot create folder ${target}: ${p} cannot be examined (${reason(e)})`, code);
    }
    if (s !== undefined) {
      if (!s.isDirectory())
        throw makeError(`cannot create folder ${target}: ${p} exists and is ${describeKind(s)}`, 'ENOTDIR');
      break;
    }
    missing.push(p);
    if (dirname(p) === p) break;
  }
  for (const p of missing.reverse()) {
    try {
      await mkdir(p);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'EEXIST' && (await stat(p).catch(() => undefined))?.isDirectory()) continue;
      throw makeError(`cannot create folder ${target}: mkdir ${p} failed (${reason(e)})`, code);
    }
  }
}
