/**
 * Safetensors files with integer tensors (quantised checkpoints, issue 18): a writer for tensors of
 * any safetensors dtype given as raw little-endian bytes, and a bounded reader of named raw tensors
 * from one file. The float reader (files.ts) leaves integer tensors out; a quantised checkpoint's
 * loader reads its float tensors there and its packed weights here.
 *
 * Names (what `dcformer quantize` writes; config.json's `quantization` block describes them): for a
 * weight `P.weight` held compactly,
 *   P.qweight  int8: I8 [N, K]; int4: U8 [N, K/2] (blocks of 32 weights in 16 bytes, weight j < 16 the
 *              low nibble of byte j, weight 16 + j its high nibble; value (nibble − 8) · scale)
 *   P.scales   F32 [N, K / group_size]
 * DCMHA's `layers.i.attention.dyn_w_proj.dw1` [D,1,4,K] and `.dd` [D,1,4N] (P = the name itself)
 * are stored as their transposes, N = 4K or 4N rows of K = D inputs (@dcformer/model compact.ts);
 * checkpoints written before they were quantised keep them F32 (config's `modules` lists what is).
 * Every other tensor keeps its official name and float dtype.
 */
import { join } from 'node:path';
import { CheckpointError } from './errors.js';
import { writeFileAtomic, writeFileAtomicWith } from './files.js';
import { MAX_READ_SLICE, ensureDirectory, openRegularFile, readInto, readRange } from './open-file.js';
import {
  DTYPE_SIZES,
  type SafetensorsDtype,
  MAX_HEADER_BYTES,
  parseSafetensorsHeader,
  safetensorsPrefixLength,
} from './safetensors.js';

export interface RawTensorToWrite {
  dtype: SafetensorsDtype;
  shape: number[];
  /** Little-endian bytes: exactly (product of shape) × the dtype's size. */
  bytes: Uint8Array;
}

/** A tensor's dtype and shape, declared before its bytes exist (the streaming writer). */
export interface RawTensorSpec {
  dtype: SafetensorsDtype;
  shape: readonly number[];
}

function byteLengthOf(name: string, t: RawTensorSpec): number {
  const size = DTYPE_SIZES[t.dtype];
  const count = t.shape.reduce((a, b) => a * b, 1);
  if (size === undefined || !Number.isSafeInteger(count) || count < 0)
    throw new CheckpointError(
      `raw safetensors: tensor '${name}' has dtype ${t.dtype} [${t.shape}]; expected a safetensors dtype and a shape of non-negative integers`,
      { tensorName: name },
    );
  return count * size;
}

/** The header of a raw safetensors file: 8-byte length + JSON padded to 8 bytes, names sorted. */
function rawHeader(
  specs: Map<string, RawTensorSpec>,
  metadata: Record<string, string>,
): { prefix: Uint8Array; order: Array<[string, number]>; dataBytes: number } {
  const order = [...specs]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([name, t]): [string, number] => [name, byteLengthOf(name, t)]);
  const header: Record<string, unknown> = { __metadata__: metadata };
  let offset = 0;
  for (const [name, bytes] of order) {
    const t = specs.get(name) as RawTensorSpec;
    header[name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  const json = new TextEncoder().encode(JSON.stringify(header));
  const headerLength = Math.ceil(json.length / 8) * 8;
  const prefix = new Uint8Array(8 + headerLength).fill(0x20);
  new DataView(prefix.buffer).setBigUint64(0, BigInt(headerLength), true);
  prefix.set(json, 8);
  return { prefix, order, dataBytes: offset };
}

/** Serialises raw tensors (names sorted, header padded to 8 bytes) as safetensors. */
export function serializeRawSafetensors(
  tensors: Map<string, RawTensorToWrite>,
  metadata: Record<string, string> = {},
): Uint8Array {
  const { prefix, order, dataBytes } = rawHeader(tensors, metadata);
  const out = new Uint8Array(prefix.length + dataBytes);
  out.set(prefix, 0);
  let at = prefix.length;
  for (const [name, bytes] of order) {
    const t = tensors.get(name) as RawTensorToWrite;
    if (t.bytes.length !== bytes)
      throw new CheckpointError(
        `serializeRawSafetensors: tensor '${name}' (${t.dtype} [${t.shape}]) must have ${bytes} bytes; got ${t.bytes.length}`,
        { tensorName: name },
      );
    out.set(t.bytes, at);
    at += bytes;
  }
  return out;
}

/** Writes `dir/model.safetensors` atomically from raw tensors. */
export async function writeRawSafetensors(
  dir: string,
  tensors: Map<string, RawTensorToWrite>,
  metadata: Record<string, string> = {},
): Promise<void> {
  await ensureDirectory(dir);
  await writeFileAtomic(
    join(dir, 'model.safetensors'),
    serializeRawSafetensors(tensors, { format: 'pt', ...metadata }),
  );
}

/**
 * Writes `dir/model.safetensors` atomically without ever holding the file: the header comes from
 * `specs`, then `produce(name)` is asked for each tensor in file order (names sorted) and yields its
 * little-endian bytes in any number of pieces, which are written as they come. A tensor whose pieces
 * do not add up to its declared size is an error (and no file appears).
 */
export async function writeRawSafetensorsStreaming(
  dir: string,
  specs: Map<string, RawTensorSpec>,
  produce: (name: string) => AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
  metadata: Record<string, string> = {},
): Promise<void> {
  const { prefix, order } = rawHeader(specs, { format: 'pt', ...metadata });
  await ensureDirectory(dir);
  await writeFileAtomicWith(join(dir, 'model.safetensors'), async (handle) => {
    let position = 0;
    const put = async (bytes: Uint8Array): Promise<void> => {
      let done = 0;
      while (done < bytes.length) {
        const { bytesWritten } = await handle.write(
          bytes,
          done,
          Math.min(MAX_READ_SLICE, bytes.length - done),
          position,
        );
        done += bytesWritten;
        position += bytesWritten;
      }
    };
    await put(prefix);
    for (const [name, expected] of order) {
      let got = 0;
      for await (const piece of produce(name)) {
        got += piece.length;
        if (got > expected) break;
        await put(piece);
      }
      if (got !== expected) {
        const t = specs.get(name) as RawTensorSpec;
        throw new CheckpointError(
          `writeRawSafetensorsStreaming: tensor '${name}' (${t.dtype} [${t.shape}]) must have ${expected} bytes; got ${got > expected ? `more than ${expected}` : got}`,
          { tensorName: name },
        );
      }
    }
  });
}

/**
 * The raw bytes of the named tensors of one safetensors file, each checked against `want` (dtype and
 * shape) before its buffer is allocated; the header is validated as every reader here does.
 */
export async function readRawTensors(
  path: string,
  want: Map<string, { dtype: SafetensorsDtype; shape: readonly number[] }>,
  /**
   * Where each tensor's bytes go (e.g. a view of the Int32Array the kernels will read, so no copy is
   * made); default: a fresh Uint8Array. Called after the tensor's dtype and shape were checked.
   */
  alloc?: (name: string, byteLength: number) => Uint8Array,
): Promise<Map<string, Uint8Array>> {
  const { handle, size } = await openRegularFile(path);
  try {
    const first8 = await readRange(handle, 0, Math.min(8, size), path);
    const prefixLength = safetensorsPrefixLength(first8, size, path);
    if (prefixLength > MAX_HEADER_BYTES + 8) throw new CheckpointError(`${path}: header too large`, { file: path });
    const header = parseSafetensorsHeader(await readRange(handle, 0, prefixLength, path), size, path);
    const out = new Map<string, Uint8Array>();
    for (const [name, w] of want) {
      const entry = header.entries.get(name);
      if (entry === undefined)
        throw new CheckpointError(`${path}: missing tensor '${name}'`, { file: path, tensorName: name });
      if (
        entry.dtype !== w.dtype ||
        entry.shape.length !== w.shape.length ||
        entry.shape.some((d, i) => d !== w.shape[i])
      )
        throw new CheckpointError(
          `${path}: tensor '${name}' must be ${w.dtype} [${w.shape}]; found ${entry.dtype} [${entry.shape}]`,
          { file: path, tensorName: name },
        );
      const position = header.dataStart + entry.begin;
      const length = entry.end - entry.begin;
      if (alloc === undefined) {
        out.set(name, await readRange(handle, position, length, path));
        continue;
      }
      let target: Uint8Array;
      try {
        target = alloc(name, length);
      } catch (e) {
        throw new CheckpointError(
          `${path}: cannot allocate ${length} bytes for tensor '${name}' (${(e as Error).message})`,
          { file: path, tensorName: name },
        );
      }
      if (target.length !== length)
        throw new Error(
          `readRawTensors: internal: alloc gave ${target.length} bytes for '${name}'; expected ${length}`,
        );
      await readInto(handle, target, position, path);
      out.set(name, target);
    }
    return out;
  } finally {
    await handle.close();
  }
}
