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
 * Every other tensor keeps its official name and float dtype.
 */
import { join } from 'node:path';
import { CheckpointError } from './errors.js';
import { writeFileAtomic } from './files.js';
import { ensureDirectory, openRegularFile, readRange } from './open-file.js';
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

/** Serialises raw tensors (names sorted, header padded to 8 bytes) as safetensors. */
export function serializeRawSafetensors(
  tensors: Map<string, RawTensorToWrite>,
  metadata: Record<string, string> = {},
): Uint8Array {
  const all = [...tensors].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const header: Record<string, unknown> = { __metadata__: metadata };
  let offset = 0;
  for (const [name, t] of all) {
    const count = t.shape.reduce((a, b) => a * b, 1);
    const size = DTYPE_SIZES[t.dtype];
    if (size === undefined || t.bytes.length !== count * size)
      throw new CheckpointError(
        `serializeRawSafetensors: tensor '${name}' (${t.dtype} [${t.shape}]) must have ${count * (size ?? 0)} bytes; got ${t.bytes.length}`,
        { tensorName: name },
      );
    header[name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + t.bytes.length] };
    offset += t.bytes.length;
  }
  const json = new TextEncoder().encode(JSON.stringify(header));
  const headerLength = Math.ceil(json.length / 8) * 8;
  const out = new Uint8Array(8 + headerLength + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerLength), true);
  out.set(json, 8);
  out.fill(0x20, 8 + json.length, 8 + headerLength);
  let at = 8 + headerLength;
  for (const [, t] of all) {
    out.set(t.bytes, at);
    at += t.bytes.length;
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
 * The raw bytes of the named tensors of one safetensors file, each checked against `want` (dtype and
 * shape) before its buffer is allocated; the header is validated as every reader here does.
 */
export async function readRawTensors(
  path: string,
  want: Map<string, { dtype: SafetensorsDtype; shape: readonly number[] }>,
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
      out.set(name, await readRange(handle, header.dataStart + entry.begin, entry.end - entry.begin, path));
    }
    return out;
  } finally {
    await handle.close();
  }
}
