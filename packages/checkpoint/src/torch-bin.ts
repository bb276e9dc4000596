/**
 * PyTorch `.bin` checkpoints as written by `torch.save(state_dict)` since torch 1.6: a stored zip
 * holding `<archive>/data.pkl` (the state dict, pickled with persistent ids for storages) and one raw
 * little-endian file per storage at `<archive>/data/<key>`. The pickle goes through the restricted
 * unpickler in pickle.ts, so loading never runs code.
 *
 * Tensors are views of storages: several tensors may share one storage, start at an offset, or be
 * non-contiguous (e.g. a saved transpose). `read` returns each tensor as contiguous row-major bytes,
 * reading only the byte range the view touches, one tensor at a time, so a multi-GB file is never held
 * whole. The only Node-specific code is `fileSource`, which imports node:fs lazily.
 */
import { CheckpointError } from './errors.js';
import { AllocationBudget } from './budget.js';
import { unpickleTorch, type StorageRef, type TensorRef } from './pickle.js';
import {
  CONVERT_CHUNK_BYTES,
  DTYPE_SIZES,
  checkFloatDtype,
  decodeIntoFloat32,
  sliceBuffer,
  toFloat32,
  type RawTensor,
  type SafetensorsDtype,
} from './safetensors.js';
import { ZipArchive, memorySource, type RandomAccessSource, type ZipReadOptions } from './zip.js';

export interface TorchReadOptions extends ZipReadOptions {
  /** Name used in errors for in-memory input (a path labels itself). */
  label?: string;
}

/** What the pickle says about one tensor; its bytes are read on demand. */
export interface TorchTensorInfo {
  dtype: SafetensorsDtype;
  shape: number[];
  /** In elements; contiguous row-major unless the tensor was saved as a strided view. */
  stride: number[];
  storageOffset: number;
  /** Shared by every tensor viewing the same storage. */
  storageKey: string;
}

export interface TorchCheckpoint {
  readonly label: string;
  /** Bytes of the archive. */
  readonly size: number;
  /** In the order the state dict lists them. */
  readonly tensors: ReadonlyMap<string, TorchTensorInfo>;
  /** The tensor as contiguous bytes (a view into the input when it is in memory and already contiguous). */
  read(name: string): Promise<RawTensor>;
  /**
   * A float tensor converted to float32, read in bounded chunks when contiguous (so a tensor of
   * several GiB never exists twice in memory). The caller charges its allocation budget first.
   */
  readFloat32(name: string): Promise<Float32Array>;
  /**
   * A float tensor as float32 in consecutive slices of at most `perSlice` values, one reused buffer
   * (`visit` must copy what it keeps); a strided view is converted whole first, then sliced.
   */
  readFloat32Slices(
    name: string,
    perSlice: number,
    visit: (offset: number, slice: Float32Array) => void,
  ): Promise<void>;
  close(): Promise<void>;
}

/** A state dict's data.pkl is ~100 bytes per tensor; anything this large is not one. */
export const MAX_PICKLE_BYTES = 64 << 20;

const LEGACY = 'legacy torch.save format; re-save with torch>=1.6 (the default zip format) or convert to safetensors';

function fail(label: string, message: string, tensorName?: string): never {
  const where = tensorName === undefined ? label : `${label}, tensor '${tensorName}'`;
  throw new CheckpointError(`pytorch ${where}: ${message}`, { file: label, tensorName });
}

/**
 * A read-only regular file as a RandomAccessSource (Node only): opened through open-file.ts, so FIFOs
 * and devices are refused before any read, and reads go in bounded slices (no 2 GiB limit).
 */
export async function fileSource(path: string): Promise<RandomAccessSource> {
  const { openRegularFile, readRange } = await import('./open-file.js');
  const { handle, size } = await openRegularFile(path);
  return {
    size,
    label: path,
    read: (offset, length) => readRange(handle, offset, length, path),
    close: () => handle.close(),
  };
}

/** Opens a zip file reading only its central directory; entries are read on demand (Node only). */
export async function openZipFile(path: string, options: ZipReadOptions = {}): Promise<ZipArchive> {
  const source = await fileSource(path);
  try {
    return await ZipArchive.open(source, options);
  } catch (e) {
    await source.close?.();
    throw e;
  }
}

/** Opens a checkpoint from bytes in memory or a file path, parsing the pickle and checking every
 * tensor against its storage entry before any tensor data is read. */
export async function openTorchCheckpoint(
  input: Uint8Array | string,
  options: TorchReadOptions = {},
): Promise<TorchCheckpoint> {
  const source =
    typeof input === 'string' ? await fileSource(input) : memorySource(input, options.label ?? '<pytorch buffer>');
  try {
    return await openArchive(source, options);
  } catch (e) {
    await source.close?.();
    throw e;
  }
}

/** Reads every tensor of a checkpoint (non-float buffers included) as contiguous bytes. */
export async function readTorchStateDict(
  input: Uint8Array | string,
  options: TorchReadOptions = {},
): Promise<Map<string, RawTensor>> {
  const checkpoint = await openTorchCheckpoint(input, options);
  try {
    const out = new Map<string, RawTensor>();
    // Tensors may share a storage: charge each copy, so many views of one storage cannot add up to gigabytes.
    const budget = new AllocationBudget(checkpoint.label);
    budget.addFile(checkpoint.size);
    for (const [name, info] of checkpoint.tensors) {
      budget.take(
        info.shape.reduce((a, b) => a * b, 1) * DTYPE_SIZES[info.dtype],
        `tensor '${name}'`,
        checkpoint.label,
        name,
      );
      out.set(name, await checkpoint.read(name));
    }
    return out;
  } finally {
    await checkpoint.close();
  }
}

async function openArchive(source: RandomAccessSource, options: ZipReadOptions): Promise<TorchCheckpoint> {
  const label = source.label;
  await checkMagic(source);
  const zip = await ZipArchive.open(source, options);
  const pickles = [...zip.entries.keys()].filter((n) => n === 'data.pkl' || n.endsWith('/data.pkl'));
  if (pickles.length !== 1) {
    const sample = [...zip.entries.keys()].slice(0, 5).join(', ');
    fail(
      label,
      `expected exactly one '<archive>/data.pkl' entry (torch.save's layout); found ${pickles.length} among ${zip.entries.size} entries (${sample}${zip.entries.size > 5 ? ', ...' : ''})`,
    );
  }
  const prefix = pickles[0].slice(0, -'data.pkl'.length);
  const byteorderEntry = `${prefix}byteorder`;
  if (zip.entries.has(byteorderEntry)) {
    const order = new TextDecoder().decode(await zip.read(byteorderEntry)).trim();
    if (order !== 'little') fail(label, `storages are ${order}-endian; only little-endian checkpoints are supported`);
  }
  const pickleSize = zip.entry(pickles[0]).uncompressedSize;
  if (pickleSize > MAX_PICKLE_BYTES)
    fail(
      label,
      `'${pickles[0]}' is ${pickleSize} bytes; expected at most ${MAX_PICKLE_BYTES} for a state dict's pickle`,
    );
  const root = unpickleTorch(await zip.read(pickles[0]), label);
  if (!(root instanceof Map)) fail(label, 'the pickle does not hold a dict; expected a state dict {name: tensor}');
  const tensors = new Map<string, TorchTensorInfo>();
  const checked = new Set<StorageRef>();
  for (const [key, value] of root) {
    if (typeof key !== 'string') fail(label, `state dict key ${String(key)} is not a string`);
    if (value instanceof Map) {
      fail(
        label,
        `entry '${key}' is a nested dict, not a tensor; this looks like a training checkpoint, expected a flat state dict`,
        key,
      );
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value) || (value as TensorRef).kind !== 'tensor') {
      fail(label, `entry '${key}' is not a tensor`, key);
    }
    const t = value as TensorRef;
    if (!checked.has(t.storage)) {
      checkStorageEntry(zip, `${prefix}data/${t.storage.key}`, t.storage, key, label);
      checked.add(t.storage);
    }
    tensors.set(key, {
      dtype: t.storage.dtype,
      shape: t.shape,
      stride: t.stride,
      storageOffset: t.storageOffset,
      storageKey: t.storage.key,
    });
  }
  return {
    label,
    size: source.size,
    tensors,
    read: (name) => readTensor(zip, prefix, tensors, name, label),
    readFloat32: (name) => readTensorFloat32(zip, prefix, tensors, name, label),
    readFloat32Slices: (name, perSlice, visit) => readTensorSlices(zip, prefix, tensors, name, label, perSlice, visit),
    close: () => zip.close(),
  };
}

/** Pre-1.6 files are a bare pickle stream or a tar archive; say so instead of "not a zip". */
async function checkMagic(source: RandomAccessSource): Promise<void> {
  const head = await source.read(0, Math.min(source.size, 512));
  if (head.length >= 4 && head[0] === 0x50 && head[1] === 0x4b) return;
  const ustar = head.length >= 262 && new TextDecoder().decode(head.subarray(257, 262)) === 'ustar';
  if (head[0] === 0x80 || ustar) fail(source.label, LEGACY);
  const shown = [...head.subarray(0, 8)].map((b) => b.toString(16).padStart(2, '0')).join(' ');
  fail(source.label, `not a PyTorch checkpoint: expected a zip archive, file starts with ${shown || 'nothing'}`);
}

function checkStorageEntry(
  zip: ZipArchive,
  entryName: string,
  storage: StorageRef,
  tensor: string,
  label: string,
): void {
  const entry = zip.entries.get(entryName);
  if (entry === undefined) fail(label, `its storage '${storage.key}' has no archive entry '${entryName}'`, tensor);
  const expected = storage.numel * DTYPE_SIZES[storage.dtype];
  if (entry.uncompressedSize !== expected) {
    fail(
      label,
      `storage '${storage.key}' holds ${storage.numel} ${storage.dtype} elements (${expected} bytes) but '${entryName}' has ${entry.uncompressedSize} bytes`,
      tensor,
    );
  }
}

function isContiguous(shape: number[], stride: number[]): boolean {
  let expected = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    // A size-1 dimension is never stepped over, so torch leaves its stride arbitrary.
    if (shape[i] !== 1 && stride[i] !== expected) return false;
    expected *= shape[i];
  }
  return true;
}

async function readTensor(
  zip: ZipArchive,
  prefix: string,
  tensors: ReadonlyMap<string, TorchTensorInfo>,
  name: string,
  label: string,
): Promise<RawTensor> {
  const info = tensors.get(name);
  if (info === undefined) fail(label, 'no such tensor in the checkpoint', name);
  const { dtype, shape, stride, storageOffset } = info;
  const size = DTYPE_SIZES[dtype];
  const numel = shape.reduce((a, b) => a * b, 1);
  if (numel === 0) return { dtype, shape: [...shape], bytes: new Uint8Array(0) };
  // The unpickler has checked that this range lies inside the storage.
  const last = shape.reduce((acc, d, i) => acc + (d - 1) * stride[i], storageOffset);
  const range = await zip.read(
    `${prefix}data/${info.storageKey}`,
    storageOffset * size,
    (last - storageOffset + 1) * size,
  );
  const bytes = isContiguous(shape, stride) ? range : gather(range, shape, stride, size, numel);
  return { dtype, shape: [...shape], bytes };
}

async function readTensorFloat32(
  zip: ZipArchive,
  prefix: string,
  tensors: ReadonlyMap<string, TorchTensorInfo>,
  name: string,
  label: string,
): Promise<Float32Array> {
  const info = tensors.get(name);
  if (info === undefined) fail(label, 'no such tensor in the checkpoint', name);
  const { dtype, shape, stride, storageOffset } = info;
  if (!isContiguous(shape, stride)) return toFloat32(await readTensor(zip, prefix, tensors, name, label), name, label);
  const size = DTYPE_SIZES[dtype];
  const numel = shape.reduce((a, b) => a * b, 1);
  const out = new Float32Array(numel);
  const perChunk = Math.floor(CONVERT_CHUNK_BYTES / size);
  checkFloatDtype(dtype, name, label);
  await zip.readChunks(
    `${prefix}data/${info.storageKey}`,
    storageOffset * size,
    numel * size,
    perChunk * size,
    (chunk, at) => decodeIntoFloat32(chunk, dtype, out, at / size),
  );
  return out;
}

async function readTensorSlices(
  zip: ZipArchive,
  prefix: string,
  tensors: ReadonlyMap<string, TorchTensorInfo>,
  name: string,
  label: string,
  perSlice: number,
  visit: (offset: number, slice: Float32Array) => void,
): Promise<void> {
  const info = tensors.get(name);
  if (info === undefined) fail(label, 'no such tensor in the checkpoint', name);
  const { dtype, shape, stride, storageOffset } = info;
  const numel = shape.reduce((a, b) => a * b, 1);
  if (!Number.isSafeInteger(perSlice) || perSlice <= 0)
    throw new CheckpointError(`readFloat32Slices: perSlice must be a positive integer; got ${perSlice}`);
  if (!isContiguous(shape, stride)) {
    // Strided views are rare (a transposed tensor saved as is); they are small in real checkpoints.
    const whole = toFloat32(await readTensor(zip, prefix, tensors, name, label), name, label);
    for (let at = 0; at < numel; at += perSlice) visit(at, whole.subarray(at, Math.min(numel, at + perSlice)));
    return;
  }
  checkFloatDtype(dtype, name, label);
  const size = DTYPE_SIZES[dtype];
  const buffer = sliceBuffer(Math.min(perSlice, numel), name, label);
  await zip.readChunks(
    `${prefix}data/${info.storageKey}`,
    storageOffset * size,
    numel * size,
    perSlice * size,
    (chunk, at) => {
      const slice = buffer.subarray(0, chunk.length / size);
      decodeIntoFloat32(chunk, dtype, slice, 0);
      visit(at / size, slice);
    },
  );
}

/** Copies a strided view (element 0 at range[0]) into row-major order, innermost runs at once. */
function gather(range: Uint8Array, shape: number[], stride: number[], size: number, numel: number): Uint8Array {
  const out = new Uint8Array(numel * size);
  const rank = shape.length;
  const inner = shape[rank - 1];
  const innerStride = stride[rank - 1];
  const index = new Array<number>(rank - 1).fill(0);
  let from = 0; // element offset of the current row's first element
  let to = 0;
  for (let row = 0; row < numel / inner; row++) {
    if (innerStride === 1) {
      out.set(range.subarray(from * size, (from + inner) * size), to);
      to += inner * size;
    } else {
      for (let j = 0; j < inner; j++) {
        const at = (from + j * innerStride) * size;
        for (let b = 0; b < size; b++) out[to++] = range[at + b];
      }
    }
    // Odometer over the outer dimensions, keeping `from` in step.
    for (let d = rank - 2; d >= 0; d--) {
      index[d]++;
      from += stride[d];
      if (index[d] < shape[d]) break;
      from -= stride[d] * shape[d];
      index[d] = 0;
    }
  }
  return out;
}
