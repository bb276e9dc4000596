/**
 * Checkpoint files on disk (Node only): atomic writes, and reading `model.safetensors` or the
 * Hugging Face sharded layout (`model.safetensors.index.json` + shards) into float32 tensors;
 * `readCheckpointWeights` also reads PyTorch `pytorch_model.bin` (single or sharded with
 * `pytorch_model.bin.index.json`), as the official Hub checkpoints ship.
 *
 * Files are read tensor by tensor through a file handle rather than with readFile, so a multi-GB
 * shard never has to fit in one Buffer (Node refuses readFile past 2 GiB), and each tensor in bounded
 * chunks converted straight into its float32 result, so peak memory is the converted tensors plus
 * one chunk. Checkpoints come from strangers: files are opened only if regular (open-file.ts), links
 * are followed only inside the folder (or its Hugging Face cache blobs), JSON depth is bounded
 * (json.ts), and every tensor's allocation is charged to one budget (budget.ts) before it happens.
 */
import { randomBytes } from 'node:crypto';
import { open, readdir, rename, rm, type FileHandle } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { CheckpointError } from './errors.js';
import { AllocationBudget } from './budget.js';
import { parseJsonBounded } from './json.js';
import { checkpointEntry, ensureDirectory, openRegularFile, readRange, readRegularTextFile } from './open-file.js';
import {
  FLOAT_DTYPES,
  parseSafetensorsHeader,
  readAsFloat32,
  readFloat32Slices,
  safetensorsPrefixLength,
  serializeSafetensors,
  type SafetensorsDtype,
  type SafetensorsHeader,
  type SerializeOptions,
  type TensorToWrite,
} from './safetensors.js';
import { openTorchCheckpoint } from './torch-bin.js';

export const SAFETENSORS_FILE = 'model.safetensors';
export const SAFETENSORS_INDEX_FILE = 'model.safetensors.index.json';
export const TORCH_FILE = 'pytorch_model.bin';
export const TORCH_INDEX_FILE = 'pytorch_model.bin.index.json';

export interface LoadedTensor {
  shape: number[];
  data: Float32Array;
  /** The dtype the file stored; `data` is always float32. */
  dtype: SafetensorsDtype;
  /** Path of the file the tensor came from. */
  file: string;
}

/** A non-float tensor (e.g. an int64 step counter) that `readCheckpointWeights` leaves out of the map. */
export interface SkippedTensor {
  name: string;
  dtype: SafetensorsDtype;
  shape: number[];
  file: string;
}

/**
 * The float tensors by name (a plain Map, usable wherever `readSafetensorsWeights`'s result is), plus
 * which format was read and the non-float tensors skipped rather than failing the load. A model that
 * needs a skipped tensor still fails later with "missing tensor", and `skipped` explains why.
 */
export interface CheckpointWeights extends Map<string, LoadedTensor> {
  format: 'safetensors' | 'pytorch';
  skipped: SkippedTensor[];
}

/** An index (model.safetensors.index.json) larger than this is not one (a 7B model's is ~30 KB). */
export const MAX_INDEX_BYTES = 64 << 20;

export interface ReadWeightsOptions {
  /**
   * Called for every float tensor before its bytes are read or its buffer allocated; throws to refuse
   * it (loadModel checks names and shapes against the config here).
   */
  expect?: (name: string, shape: readonly number[], file: string) => void;
  /** Hard cap on the bytes of float32 tensors this load allocates (besides the files' own bound). */
  maxBytes?: number;
  /**
   * Called with each float tensor as soon as it is read; what it returns is kept instead (e.g. the
   * tensor packed to 8 bits with an empty `data`, so the float32 buffer is freed before the next read).
   */
  transform?: (name: string, tensor: LoadedTensor) => LoadedTensor;
  /**
   * Called for every float tensor after `expect`; when it returns a sink, the tensor is never held as
   * a whole float32 buffer: the sink receives its values in slices of whole rows (SINK_SLICE_BYTES of
   * float32, or one row if a row is larger), and the map keeps what `finish` returns. For loads that
   * pack weights to 16 or 8 bits: the transient float32 memory is one slice, not the largest tensor,
   * and the allocator is never handed hundreds of MB to free and (with the cpu addon's malloc
   * tuning) keep. `transform` does not apply to a tensor a sink took.
   */
  sink?: (name: string, shape: readonly number[], dtype: SafetensorsDtype, file: string) => TensorSink | undefined;
}

/** Receives one tensor's float32 values slice by slice (ReadWeightsOptions.sink). */
export interface TensorSink {
  /** Values [offset, offset + slice.length) in row-major order, whole rows; `slice` is reused after the call. */
  write(offset: number, slice: Float32Array): void;
  /** After the last slice (also for an empty tensor): what the map keeps for this tensor. */
  finish(): LoadedTensor;
}

/** Float32 bytes of one slice handed to a TensorSink (16 MiB: 4 Mi values). */
export const SINK_SLICE_BYTES = 1 << 24;

/** Values per sink slice for `shape`: as many whole rows as fit in SINK_SLICE_BYTES, at least one. */
export function sinkSliceValues(shape: readonly number[]): number {
  const row = shape.length === 0 ? 1 : Math.max(1, shape[shape.length - 1]);
  return row * Math.max(1, Math.floor(SINK_SLICE_BYTES / 4 / row));
}

/** State shared by the shards of one load: names already seen (for duplicates) and what was skipped. */
interface ShardContext {
  out: Map<string, LoadedTensor>;
  /** Tensor name -> file, including skipped tensors. */
  seen: Map<string, string>;
  check?: (name: string) => void;
  expect?: ReadWeightsOptions['expect'];
  transform?: ReadWeightsOptions['transform'];
  sink?: ReadWeightsOptions['sink'];
  budget: AllocationBudget;
  /** When given, non-float tensors are recorded here instead of being an error. */
  skipped?: SkippedTensor[];
}

type ShardReader = (path: string, ctx: ShardContext) => Promise<unknown>;

/**
 * Writes `data` to a temporary file in the same directory, fsyncs it and renames it over `path`, so
 * readers see either the old file or the complete new one, never a partial write.
 */
export async function writeFileAtomic(path: string, data: Uint8Array | string): Promise<void> {
  await writeFileAtomicWith(path, (handle) => handle.writeFile(data));
}

/**
 * writeFileAtomic for content produced piece by piece: `fill` writes the temporary file through its
 * handle (e.g. a multi-GB checkpoint tensor by tensor, never whole in memory); then fsync and rename.
 */
export async function writeFileAtomicWith(path: string, fill: (handle: FileHandle) => Promise<void>): Promise<void> {
  const temp = `${path}.tmp-${process.pid}-${randomBytes(6).toString('hex')}`;
  let handle: FileHandle | undefined;
  try {
    handle = await open(temp, 'wx');
    await fill(handle);
    await handle.sync();
    await handle.close();
    handle = undefined;
    await rename(temp, path);
  } catch (e) {
    await handle?.close().catch(() => undefined);
    await rm(temp, { force: true }).catch(() => undefined);
    throw e;
  }
  await syncDirectory(dirname(path));
}

/** Makes the rename itself durable; not every platform can open a directory, so failure is ignored. */
async function syncDirectory(dir: string): Promise<void> {
  let handle: FileHandle | undefined;
  try {
    handle = await open(dir, 'r');
    await handle.sync();
  } catch {
    // Best effort only.
  } finally {
    await handle?.close().catch(() => undefined);
  }
}

/** Writes a single `model.safetensors` in `dir` (created if needed). Adds `format: "pt"` unless given,
 * because transformers refuses safetensors files whose metadata lacks a known format. */
export async function writeSafetensorsWeights(
  dir: string,
  tensors: Map<string, TensorToWrite>,
  metadata?: Record<string, string>,
  options: SerializeOptions = {},
): Promise<void> {
  await ensureDirectory(dir);
  const bytes = serializeSafetensors(tensors, { format: 'pt', ...metadata }, options);
  await writeFileAtomic(join(dir, SAFETENSORS_FILE), bytes);
}

/** Reads every tensor of `dir/model.safetensors` or of the shards listed by its index, as float32. */
export async function readSafetensorsWeights(
  dir: string,
  options: ReadWeightsOptions = {},
): Promise<Map<string, LoadedTensor>> {
  // Same preference as transformers: a single file wins over an index.
  const ctx = newContext(dir, options);
  const single = await checkpointEntry(dir, SAFETENSORS_FILE);
  if (single !== null) {
    await readShard(single, ctx);
    return ctx.out;
  }
  const indexPath = await checkpointEntry(dir, SAFETENSORS_INDEX_FILE);
  if (indexPath !== null) return readSharded(dir, indexPath, readShard, ctx);
  throw new CheckpointError(await describeMissing(dir, false), { file: dir });
}

function newContext(dir: string, options: ReadWeightsOptions, skipped?: SkippedTensor[]): ShardContext {
  return {
    out: new Map(),
    seen: new Map(),
    skipped,
    expect: options.expect,
    transform: options.transform,
    sink: options.sink,
    budget: new AllocationBudget(dir, options.maxBytes),
  };
}

/**
 * Reads a checkpoint directory in whichever format it holds, preferring safetensors (single, then
 * sharded) over PyTorch `.bin` (single, then sharded), as transformers does. Float tensors (F32, F16,
 * BF16, F64) come back as float32; non-float ones are listed in `skipped` instead of failing.
 */
export async function readCheckpointWeights(dir: string, options: ReadWeightsOptions = {}): Promise<CheckpointWeights> {
  const skipped: SkippedTensor[] = [];
  const ctx = newContext(dir, options, skipped);
  const result = (format: CheckpointWeights['format']): CheckpointWeights =>
    Object.assign(ctx.out, { format, skipped });
  const candidates: Array<[string, boolean, ShardReader, CheckpointWeights['format']]> = [
    [SAFETENSORS_FILE, false, readShard, 'safetensors'],
    [SAFETENSORS_INDEX_FILE, true, readShard, 'safetensors'],
    [TORCH_FILE, false, readTorchShard, 'pytorch'],
    [TORCH_INDEX_FILE, true, readTorchShard, 'pytorch'],
  ];
  for (const [file, isIndex, reader, format] of candidates) {
    const path = await checkpointEntry(dir, file);
    if (path === null) continue;
    if (isIndex) await readSharded(dir, path, reader, ctx);
    else await reader(path, ctx);
    return result(format);
  }
  throw new CheckpointError(await describeMissing(dir, true), { file: dir });
}

async function describeMissing(dir: string, anyFormat: boolean): Promise<string> {
  let names: string[];
  try {
    names = (await readdir(dir)).sort();
  } catch (e) {
    return `checkpoint directory ${dir} cannot be read (${(e as Error).message})`;
  }
  const found = names.length > 0 ? names.join(', ') : 'nothing';
  if (anyFormat) {
    const expected = `expected ${SAFETENSORS_FILE}, ${SAFETENSORS_INDEX_FILE}, ${TORCH_FILE} or ${TORCH_INDEX_FILE}`;
    return `no checkpoint weights in ${dir}: ${expected}; found ${found}`;
  }
  const expected = `expected ${SAFETENSORS_FILE} or ${SAFETENSORS_INDEX_FILE}`;
  const torch = names.filter((n) => /^pytorch_model.*\.bin(\.index\.json)?$/.test(n));
  const hint = torch.length > 0 ? `; ${torch.join(', ')} (PyTorch format) is read by readCheckpointWeights` : '';
  return `no safetensors weights in ${dir}: ${expected}; found ${found}${hint}`;
}

/** Parses the index and returns shard file name -> tensor names the index assigns to it. */
async function readIndex(indexPath: string): Promise<Map<string, Set<string>>> {
  // Annotated so TypeScript treats calls as terminating and narrows after them.
  const fail: (message: string, tensorName?: string) => never = (message, tensorName) => {
    throw new CheckpointError(`${indexPath}: ${message}`, { file: indexPath, tensorName });
  };
  const text = await readRegularTextFile(
    indexPath,
    MAX_INDEX_BYTES,
    (message) => new CheckpointError(message, { file: indexPath }),
  );
  const json = parseJsonBounded(text, (message) => fail(message));
  const weightMap = (json as { weight_map?: unknown } | null)?.weight_map;
  if (typeof weightMap !== 'object' || weightMap === null || Array.isArray(weightMap)) {
    fail('expected an object with "weight_map": {tensor name: shard file}');
  }
  const shards = new Map<string, Set<string>>();
  for (const [name, shard] of Object.entries(weightMap as Record<string, unknown>)) {
    if (typeof shard !== 'string' || shard === '')
      fail(`weight_map entry must name a shard file; got ${JSON.stringify(shard)}`, name);
    // Shards live next to the index; a path could reach files outside the checkpoint.
    if (basename(shard) !== shard || shard === '.' || shard === '..') {
      fail(`weight_map shard must be a plain file name in the same directory; got ${JSON.stringify(shard)}`, name);
    }
    if (!shards.has(shard)) shards.set(shard, new Set());
    shards.get(shard)!.add(name);
  }
  return shards;
}

async function readSharded(
  dir: string,
  indexPath: string,
  readOne: ShardReader,
  ctx: ShardContext,
): Promise<Map<string, LoadedTensor>> {
  const shards = await readIndex(indexPath);
  for (const shard of shards.keys()) {
    const path = join(dir, shard);
    if ((await checkpointEntry(dir, shard)) === null) {
      const first = [...shards.get(shard)!][0];
      throw new CheckpointError(
        `${indexPath} names shard ${shard} (for ${shards.get(shard)!.size} tensors, e.g. '${first}'), but ${path} does not exist`,
        { file: path, tensorName: first },
      );
    }
  }
  for (const [shard, names] of shards) {
    const path = join(dir, shard);
    await readOne(path, { ...ctx, check: (name) => checkAgainstIndex(name, shard, names, shards, path, indexPath) });
    for (const name of names) {
      if (!ctx.seen.has(name)) {
        throw new CheckpointError(`${indexPath} places tensor '${name}' in ${shard}, but ${path} does not contain it`, {
          file: path,
          tensorName: name,
        });
      }
    }
  }
  return ctx.out;
}

function checkAgainstIndex(
  name: string,
  shard: string,
  names: Set<string>,
  shards: Map<string, Set<string>>,
  path: string,
  indexPath: string,
): void {
  if (names.has(name)) return;
  const listed = [...shards].find(([, set]) => set.has(name))?.[0];
  const said = listed === undefined ? 'does not list it' : `places it in ${listed}`;
  throw new CheckpointError(`tensor '${name}' found in ${shard}, but ${indexPath} ${said}`, {
    file: path,
    tensorName: name,
  });
}

/**
 * Records that `path` holds `name`; a name seen in another shard is an error. Returns false when the
 * tensor is not a float and the caller collects skipped tensors, so it should not be read.
 */
function claim(ctx: ShardContext, name: string, dtype: SafetensorsDtype, shape: number[], path: string): boolean {
  ctx.check?.(name);
  const previous = ctx.seen.get(name);
  if (previous !== undefined) {
    throw new CheckpointError(`tensor '${name}' appears in both ${previous} and ${path}`, {
      file: path,
      tensorName: name,
    });
  }
  ctx.seen.set(name, path);
  if (ctx.skipped === undefined || FLOAT_DTYPES.includes(dtype)) return true;
  ctx.skipped.push({ name, dtype, shape, file: path });
  return false;
}

/** Checks a float tensor against the caller's expectations and charges its float32 buffer. */
function admit(ctx: ShardContext, name: string, shape: number[], path: string): number {
  ctx.expect?.(name, shape, path);
  const count = shape.reduce((a, b) => a * b, 1);
  ctx.budget.take(
    4 * count,
    `tensor '${name}' (${shape.length === 0 ? 'scalar' : shape.join('×')} float32)`,
    path,
    name,
  );
  return count;
}

/**
 * One safetensors file of any size (tensors of several GiB included), every tensor as float32, plus its
 * `__metadata__`; read through the same bounded reader and allocation budget as a checkpoint.
 */
export async function readSafetensorsFile(
  path: string,
  options: ReadWeightsOptions = {},
): Promise<{ tensors: Map<string, LoadedTensor>; metadata: Record<string, string> }> {
  const ctx = newContext(path, options);
  const metadata = await readShard(path, ctx);
  return { tensors: ctx.out, metadata };
}

/** Reads one safetensors file into `ctx.out`, each tensor in bounded chunks; returns its metadata. */
async function readShard(path: string, ctx: ShardContext): Promise<Record<string, string>> {
  const { handle, size } = await openRegularFile(path);
  try {
    ctx.budget.addFile(size);
    const header = await readHeader(handle, size, path);
    for (const [name, entry] of header.entries) {
      if (!claim(ctx, name, entry.dtype, entry.shape, path)) continue;
      const count = admit(ctx, name, entry.shape, path);
      const start = header.dataStart + entry.begin;
      const sink = ctx.sink?.(name, entry.shape, entry.dtype, path);
      if (sink !== undefined) {
        await readFloat32Slices(
          (offset, length) => readRange(handle, start + offset, length, path),
          entry.dtype,
          count,
          sinkSliceValues(entry.shape),
          (offset, slice) => sink.write(offset, slice),
          name,
          path,
        );
        ctx.out.set(name, sink.finish());
        continue;
      }
      const data = await readAsFloat32(
        (offset, length) => readRange(handle, start + offset, length, path),
        entry.dtype,
        count,
        name,
        path,
      );
      const t: LoadedTensor = { shape: entry.shape, data, dtype: entry.dtype, file: path };
      ctx.out.set(name, ctx.transform ? ctx.transform(name, t) : t);
    }
    return header.metadata;
  } finally {
    await handle.close();
  }
}

/** Reads one PyTorch .bin file into `ctx.out`, one tensor at a time. */
async function readTorchShard(path: string, ctx: ShardContext): Promise<void> {
  const checkpoint = await openTorchCheckpoint(path);
  try {
    ctx.budget.addFile(checkpoint.size);
    for (const [name, info] of checkpoint.tensors) {
      if (!claim(ctx, name, info.dtype, info.shape, path)) continue;
      admit(ctx, name, info.shape, path);
      const sink = ctx.sink?.(name, info.shape, info.dtype, path);
      if (sink !== undefined) {
        await checkpoint.readFloat32Slices(name, sinkSliceValues(info.shape), (offset, slice) =>
          sink.write(offset, slice),
        );
        ctx.out.set(name, sink.finish());
        continue;
      }
      const data = await checkpoint.readFloat32(name);
      const t: LoadedTensor = { shape: [...info.shape], data, dtype: info.dtype, file: path };
      ctx.out.set(name, ctx.transform ? ctx.transform(name, t) : t);
    }
  } finally {
    await checkpoint.close();
  }
}

async function readHeader(handle: FileHandle, size: number, path: string): Promise<SafetensorsHeader> {
  const first8 = await readRange(handle, 0, Math.min(8, size), path);
  const prefixLength = safetensorsPrefixLength(first8, size, path);
  const prefix = await readRange(handle, 0, prefixLength, path);
  return parseSafetensorsHeader(prefix, size, path);
}
