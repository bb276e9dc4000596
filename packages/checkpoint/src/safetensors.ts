/**
 * The safetensors file format (https://huggingface.co/docs/safetensors): an 8-byte little-endian
 * header length N, N bytes of JSON `{name: {dtype, shape, data_offsets: [begin, end]}, __metadata__?}`,
 * then the data section, with offsets relative to its start.
 *
 * Pure and browser-safe: works on Uint8Array only. Every corruption is a CheckpointError that names
 * the file, the tensor, what was expected and what was found.
 */
import { CheckpointError, formatShape } from './errors.js';
import { parseJsonBounded } from './json.js';

export type SafetensorsDtype = 'F64' | 'F32' | 'F16' | 'BF16' | 'I64' | 'I32' | 'I16' | 'I8' | 'U8' | 'BOOL';

export const DTYPE_SIZES: Readonly<Record<SafetensorsDtype, number>> = {
  F64: 8,
  F32: 4,
  F16: 2,
  BF16: 2,
  I64: 8,
  I32: 4,
  I16: 2,
  I8: 1,
  U8: 1,
  BOOL: 1,
};

/** The floating-point dtypes `toFloat32` converts; everything else is refused. */
export const FLOAT_DTYPES: readonly SafetensorsDtype[] = ['F32', 'F16', 'BF16', 'F64'];

/** Same limit as the reference Rust implementation: a larger header is corruption, not a model. */
export const MAX_HEADER_BYTES = 100_000_000;

export interface RawTensor {
  dtype: SafetensorsDtype;
  shape: number[];
  /** A view into the file's bytes (not necessarily aligned to the dtype size). */
  bytes: Uint8Array;
}

export interface ParsedSafetensors {
  tensors: Map<string, RawTensor>;
  metadata: Record<string, string>;
}

/** One header entry, with offsets relative to the start of the data section. */
export interface TensorEntry {
  dtype: SafetensorsDtype;
  shape: number[];
  begin: number;
  end: number;
}

export interface SafetensorsHeader {
  /** Absolute file offset where the data section starts (8 + header length). */
  dataStart: number;
  entries: Map<string, TensorEntry>;
  metadata: Record<string, string>;
}

export interface TensorToWrite {
  shape: number[];
  data: Float32Array;
}

const DEFAULT_LABEL = '<safetensors buffer>';

function fail(file: string, message: string, tensorName?: string): never {
  const where = tensorName === undefined ? file : `${file}, tensor '${tensorName}'`;
  throw new CheckpointError(`safetensors ${where}: ${message}`, { file, tensorName });
}

function preview(value: unknown): string {
  let text: string | undefined;
  try {
    text = JSON.stringify(value);
  } catch {
    return 'a deeply nested value'; // only for values that skipped parseJsonBounded's depth limit
  }
  if (text === undefined) return String(value);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

/**
 * Reads the 8-byte length prefix and returns how many bytes the whole prefix (length + JSON header)
 * takes, so a file reader knows how much to read before calling `parseSafetensorsHeader`.
 */
export function safetensorsPrefixLength(first8: Uint8Array, fileSize: number, file = DEFAULT_LABEL): number {
  if (first8.length < 8 || fileSize < 8) {
    fail(file, `file is ${fileSize} bytes; expected at least 8 (the header length)`);
  }
  const view = new DataView(first8.buffer, first8.byteOffset, 8);
  const headerLength = view.getBigUint64(0, true);
  if (headerLength > BigInt(MAX_HEADER_BYTES)) {
    fail(file, `header length is ${headerLength} bytes; expected at most ${MAX_HEADER_BYTES}`);
  }
  if (headerLength > BigInt(fileSize - 8)) {
    fail(
      file,
      `header length ${headerLength} runs past the end of the file (${fileSize} bytes, so at most ${fileSize - 8})`,
    );
  }
  return 8 + Number(headerLength);
}

/**
 * Validates the header. `prefix` holds at least the first `safetensorsPrefixLength` bytes of the file;
 * `fileSize` is the whole file's size, used to bound the data offsets.
 */
export function parseSafetensorsHeader(prefix: Uint8Array, fileSize: number, file = DEFAULT_LABEL): SafetensorsHeader {
  const dataStart = safetensorsPrefixLength(prefix, fileSize, file);
  if (prefix.length < dataStart) {
    fail(file, `need the first ${dataStart} bytes to read the header; got ${prefix.length}`);
  }
  const json = decodeHeaderJson(prefix.subarray(8, dataStart), file);
  const dataLength = fileSize - dataStart;
  const entries = new Map<string, TensorEntry>();
  let metadata: Record<string, string> = {};
  for (const [name, value] of Object.entries(json)) {
    if (name === '__metadata__') metadata = checkMetadata(value, file);
    else entries.set(name, checkEntry(name, value, dataLength, file));
  }
  checkNoOverlap(entries, file);
  return { dataStart, entries, metadata };
}

function decodeHeaderJson(headerBytes: Uint8Array, file: string): Record<string, unknown> {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(headerBytes);
  } catch {
    fail(file, 'header is not valid UTF-8');
  }
  const json = parseJsonBounded(text, (message) => fail(file, `header ${message}`));
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    fail(file, `header must be a JSON object; got ${preview(json)}`);
  }
  return json as Record<string, unknown>;
}

function checkMetadata(value: unknown, file: string): Record<string, string> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    fail(file, `__metadata__ must be an object of string values; got ${preview(value)}`);
  }
  for (const [key, v] of Object.entries(value)) {
    if (typeof v !== 'string') fail(file, `__metadata__['${key}'] must be a string; got ${preview(v)}`);
  }
  return { ...(value as Record<string, string>) };
}

function isDtype(value: unknown): value is SafetensorsDtype {
  return typeof value === 'string' && Object.hasOwn(DTYPE_SIZES, value);
}

function checkEntry(name: string, value: unknown, dataLength: number, file: string): TensorEntry {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    fail(file, `entry must be an object {dtype, shape, data_offsets}; got ${preview(value)}`, name);
  }
  const { dtype, shape, data_offsets: offsets } = value as Record<string, unknown>;
  if (dtype === undefined) fail(file, 'entry is missing "dtype"', name);
  if (shape === undefined) fail(file, 'entry is missing "shape"', name);
  if (offsets === undefined) fail(file, 'entry is missing "data_offsets"', name);
  if (!isDtype(dtype)) {
    fail(file, `unknown dtype ${preview(dtype)}; expected one of ${Object.keys(DTYPE_SIZES).join(', ')}`, name);
  }
  if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
    fail(file, `shape must be an array of non-negative integers; got ${preview(shape)}`, name);
  }
  if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((o) => Number.isSafeInteger(o) && o >= 0)) {
    fail(file, `data_offsets must be [begin, end] non-negative integers; got ${preview(offsets)}`, name);
  }
  const [begin, end] = offsets as [number, number];
  if (begin > end || end > dataLength) {
    fail(
      file,
      `data_offsets [${begin}, ${end}] out of range; expected begin <= end <= ${dataLength} (data section size)`,
      name,
    );
  }
  const count = (shape as number[]).reduce((a, b) => a * b, 1);
  const expected = count * DTYPE_SIZES[dtype];
  if (!Number.isSafeInteger(expected) || end - begin !== expected) {
    fail(
      file,
      `${dtype} ${formatShape(shape as number[])} needs ${expected} bytes; data_offsets [${begin}, ${end}] give ${end - begin}`,
      name,
    );
  }
  return { dtype, shape: [...(shape as number[])], begin, end };
}

function checkNoOverlap(entries: Map<string, TensorEntry>, file: string): void {
  // Empty tensors occupy no bytes, so they cannot overlap anything.
  const ranges = [...entries].filter(([, e]) => e.end > e.begin).sort(([, a], [, b]) => a.begin - b.begin);
  for (let i = 1; i < ranges.length; i++) {
    const [prevName, prev] = ranges[i - 1];
    const [name, cur] = ranges[i];
    if (cur.begin < prev.end) {
      fail(
        file,
        `data_offsets [${cur.begin}, ${cur.end}] overlap tensor '${prevName}' at [${prev.begin}, ${prev.end}]`,
        name,
      );
    }
  }
}

/** Parses a whole file held in memory. Tensor bytes are views into `bytes`, not copies. */
export function parseSafetensors(bytes: Uint8Array, fileLabel = DEFAULT_LABEL): ParsedSafetensors {
  const header = parseSafetensorsHeader(bytes, bytes.length, fileLabel);
  const tensors = new Map<string, RawTensor>();
  for (const [name, e] of header.entries) {
    const bytesView = bytes.subarray(header.dataStart + e.begin, header.dataStart + e.end);
    tensors.set(name, { dtype: e.dtype, shape: e.shape, bytes: bytesView });
  }
  return { tensors, metadata: header.metadata };
}

/** IEEE binary16 -> number; every half value is exactly representable in float32. */
export function f16BitsToNumber(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exponent = (h >> 10) & 0x1f;
  const mantissa = h & 0x3ff;
  if (exponent === 0) return sign * mantissa * 2 ** -24;
  if (exponent === 0x1f) return mantissa === 0 ? sign * Infinity : NaN;
  return sign * (0x400 + mantissa) * 2 ** (exponent - 25);
}

let F16_TABLE: Float32Array | undefined;

/** All 65536 half values, built on first use: a lookup is ~10x faster than decoding bits per element. */
function f16Table(): Float32Array {
  if (F16_TABLE === undefined) {
    F16_TABLE = new Float32Array(0x10000);
    for (let h = 0; h < 0x10000; h++) F16_TABLE[h] = f16BitsToNumber(h);
  }
  return F16_TABLE;
}

/**
 * Converts a floating-point tensor to float32 in a fresh buffer (never aliasing the file). F64 is
 * rounded to nearest; F16 and BF16 are exact.
 */
export function toFloat32(t: RawTensor, name: string, fileLabel = DEFAULT_LABEL): Float32Array {
  const size = DTYPE_SIZES[t.dtype];
  if (size === undefined || t.bytes.length % size !== 0) {
    fail(fileLabel, `cannot convert dtype ${t.dtype} with ${t.bytes.length} bytes`, name);
  }
  checkFloatDtype(t.dtype, name, fileLabel);
  const out = new Float32Array(t.bytes.length / size);
  decodeIntoFloat32(t.bytes, t.dtype, out, 0);
  return out;
}

/** Throws unless `dtype` is one `toFloat32` converts. */
export function checkFloatDtype(dtype: SafetensorsDtype, name: string, fileLabel = DEFAULT_LABEL): void {
  if (!FLOAT_DTYPES.includes(dtype)) {
    fail(fileLabel, `dtype ${dtype} is not a floating-point type; expected one of ${FLOAT_DTYPES.join(', ')}`, name);
  }
}

/** Decodes whole elements of `bytes` (a float dtype) into `out` from element `at`. */
export function decodeIntoFloat32(bytes: Uint8Array, dtype: SafetensorsDtype, out: Float32Array, at: number): void {
  const n = bytes.length / DTYPE_SIZES[dtype];
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  switch (dtype) {
    case 'F32':
      // Little-endian host assumed (true for every platform tfjs runs on); copies whatever the alignment.
      new Uint8Array(out.buffer, out.byteOffset + 4 * at, bytes.length).set(bytes);
      return;
    case 'F16': {
      const table = f16Table();
      for (let i = 0; i < n; i++) out[at + i] = table[view.getUint16(2 * i, true)];
      return;
    }
    case 'BF16': {
      // bfloat16 is the top half of a float32, so shifting the bits up is exact (NaN payloads included).
      const bits = new Uint32Array(out.buffer, out.byteOffset + 4 * at, n);
      for (let i = 0; i < n; i++) bits[i] = view.getUint16(2 * i, true) << 16;
      return;
    }
    case 'F64':
      for (let i = 0; i < n; i++) out[at + i] = view.getFloat64(8 * i, true);
      return;
    default:
      throw new CheckpointError(`cannot decode dtype ${dtype} as float32`);
  }
}

/** Raw bytes are read and converted this many at a time, so a tensor never exists twice in memory. */
export const CONVERT_CHUNK_BYTES = 1 << 26;

/**
 * Reads `count` elements of float dtype `dtype` through `read(offset, length)` (offsets relative to
 * the tensor's first byte) in chunks of at most CONVERT_CHUNK_BYTES, converting each into the float32
 * result. Works for tensors of any size the machine can hold, > 4 GiB included.
 */
export async function readAsFloat32(
  read: (offset: number, length: number) => Promise<Uint8Array>,
  dtype: SafetensorsDtype,
  count: number,
  name: string,
  fileLabel = DEFAULT_LABEL,
): Promise<Float32Array> {
  checkFloatDtype(dtype, name, fileLabel);
  const size = DTYPE_SIZES[dtype];
  let out: Float32Array;
  try {
    out = new Float32Array(count);
  } catch (e) {
    // Within the budget but more than this machine can give right now: still a typed, one-line error.
    fail(fileLabel, `cannot allocate ${4 * count} bytes for its float32 values (${(e as Error).message})`, name);
  }
  const perChunk = Math.floor(CONVERT_CHUNK_BYTES / size);
  for (let at = 0; at < count; at += perChunk) {
    const n = Math.min(perChunk, count - at);
    decodeIntoFloat32(await read(at * size, n * size), dtype, out, at);
  }
  return out;
}

/**
 * Like readAsFloat32, but never holds the whole tensor: hands `visit` consecutive slices of at most
 * `perSlice` values (offset = index of the slice's first value) in one reused float32 buffer, so a
 * caller that packs each slice (to 16 or 8 bits) never allocates the tensor's float32 form.
 */
export async function readFloat32Slices(
  read: (offset: number, length: number) => Promise<Uint8Array>,
  dtype: SafetensorsDtype,
  count: number,
  perSlice: number,
  visit: (offset: number, slice: Float32Array) => void,
  name: string,
  fileLabel = DEFAULT_LABEL,
): Promise<void> {
  checkFloatDtype(dtype, name, fileLabel);
  const size = DTYPE_SIZES[dtype];
  const buffer = sliceBuffer(Math.min(perSlice, count), name, fileLabel);
  for (let at = 0; at < count; at += perSlice) {
    const n = Math.min(perSlice, count - at);
    const slice = buffer.subarray(0, n);
    decodeIntoFloat32(await read(at * size, n * size), dtype, slice, 0);
    visit(at, slice);
  }
}

/** The reused float32 buffer of a sliced read; an allocation failure is a typed one-line error. */
export function sliceBuffer(values: number, name: string, fileLabel = DEFAULT_LABEL): Float32Array {
  try {
    return new Float32Array(values);
  } catch (e) {
    fail(fileLabel, `cannot allocate ${4 * values} bytes for a float32 slice (${(e as Error).message})`, name);
  }
}

function checkTensorToWrite(name: string, t: TensorToWrite): void {
  const file = '<serialize>';
  if (name === '' || name === '__metadata__') fail(file, `tensor name ${preview(name)} is reserved or empty`, name);
  if (!Array.isArray(t.shape) || !t.shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
    fail(file, `shape must be non-negative integers; got ${preview(t.shape)}`, name);
  }
  const count = t.shape.reduce((a, b) => a * b, 1);
  if (!(t.data instanceof Float32Array) || t.data.length !== count) {
    fail(file, `shape ${formatShape(t.shape)} needs ${count} float32 values; got ${t.data?.length}`, name);
  }
}

/** Storage types the writer produces: float32 as it is, or rounded to half or bfloat16. */
export type WriteDtype = 'F32' | 'F16' | 'BF16';

export interface SerializeOptions {
  /** Element type of every tensor in the file; default F32. */
  dtype?: WriteDtype;
}

const scratch = new DataView(new ArrayBuffer(4));

/** number (as float32) -> IEEE binary16 bits, rounded to nearest even; overflow to ±Inf, NaN kept NaN. */
export function numberToF16Bits(x: number): number {
  scratch.setFloat32(0, x, true);
  const bits = scratch.getUint32(0, true);
  const sign = (bits >>> 16) & 0x8000;
  const exponent = (bits >>> 23) & 0xff;
  let mantissa = bits & 0x7fffff;
  if (exponent === 0xff) return sign | 0x7c00 | (mantissa !== 0 ? 0x200 : 0);
  const e = exponent - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    // subnormal half (or zero): shift the implicit 1 in, then round to nearest even
    if (e < -10) return sign;
    mantissa |= 0x800000;
    const shift = 14 - e;
    const half = mantissa >>> shift;
    const rest = mantissa & ((1 << shift) - 1);
    const midpoint = 1 << (shift - 1);
    return sign | (half + (rest > midpoint || (rest === midpoint && (half & 1) === 1) ? 1 : 0));
  }
  const rest = mantissa & 0x1fff;
  let half = (e << 10) | (mantissa >>> 13);
  if (rest > 0x1000 || (rest === 0x1000 && (half & 1) === 1)) half++; // a carry into the exponent is right, up to Inf
  return sign | half;
}

/** number (as float32) -> bfloat16 bits (the top half of the float32), rounded to nearest even; NaN kept NaN. */
export function numberToBf16Bits(x: number): number {
  scratch.setFloat32(0, x, true);
  const bits = scratch.getUint32(0, true);
  if ((bits & 0x7fffffff) > 0x7f800000) return ((bits >>> 16) | 0x40) & 0xffff;
  return ((bits + 0x7fff + ((bits >>> 16) & 1)) >>> 16) & 0xffff;
}

function encodeAs(dtype: WriteDtype, data: Float32Array): Uint8Array {
  if (dtype === 'F32') return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  const out = new Uint16Array(data.length);
  const convert = dtype === 'F16' ? numberToF16Bits : numberToBf16Bits;
  for (let i = 0; i < data.length; i++) out[i] = convert(data[i]);
  return new Uint8Array(out.buffer);
}

/**
 * Writes float32 tensors as a safetensors file: names sorted, JSON header padded with spaces so the
 * data section starts 8-byte aligned, offsets contiguous, little endian. `options.dtype` F16 or BF16
 * rounds every value to nearest even (what torch's `.half()` / `.bfloat16()` do).
 */
export function serializeSafetensors(
  tensors: Map<string, TensorToWrite> | Record<string, TensorToWrite>,
  metadata?: Record<string, string>,
  options: SerializeOptions = {},
): Uint8Array {
  const dtype = options.dtype ?? 'F32';
  if (dtype !== 'F32' && dtype !== 'F16' && dtype !== 'BF16')
    fail('<serialize>', `dtype must be F32, F16 or BF16; got ${preview(dtype)}`);
  const all = tensors instanceof Map ? [...tensors] : Object.entries(tensors);
  all.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const header: Record<string, unknown> = {};
  if (metadata !== undefined) header.__metadata__ = checkMetadata(metadata, '<serialize>');
  const width = DTYPE_SIZES[dtype];
  let offset = 0;
  for (const [name, t] of all) {
    checkTensorToWrite(name, t);
    const bytes = t.data.length * width;
    header[name] = { dtype, shape: t.shape, data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  const json = new TextEncoder().encode(JSON.stringify(header));
  const headerLength = Math.ceil(json.length / 8) * 8;
  const out = new Uint8Array(8 + headerLength + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerLength), true);
  out.set(json, 8);
  out.fill(0x20, 8 + json.length, 8 + headerLength);
  let at = 8 + headerLength;
  for (const [, t] of all) {
    // Little-endian host assumed (true for every platform tfjs runs on).
    const bytes = encodeAs(dtype, t.data);
    out.set(bytes, at);
    at += bytes.byteLength;
  }
  return out;
}
