/**
 * Compact weight formats of DcCompactMatMul: how a weight matrix W [N,K] (nn.Linear's (out, in)) is
 * held in 16, 8 or 4 bits, packed into 32-bit words (tfjs has no 8/16-bit tensors; WGSL reads u32).
 * Pure TypeScript (no tfjs): the quantiser, the packer and the dequantiser for the fallback path.
 *
 * Layout of one row of K weights, little-endian bytes, the row padded to nothing (K is constrained
 * so that a row is a whole number of 32-bit words):
 *
 * | format | bytes/row | weight k                                                                   | scales        |
 * | ------ | --------- | -------------------------------------------------------------------------- | ------------- |
 * | bf16   | 2K        | bfloat16 at bytes 2k, 2k+1 (K even)                                        | none          |
 * | f16    | 2K        | IEEE binary16 at bytes 2k, 2k+1 (K even)                                   | none          |
 * | int8   | K         | signed byte k; w = q · s[n, ⌊k/G⌋]                                         | float32 [N,K/G] |
 * | int4   | K/2       | blocks of 32 weights in 16 bytes: weight j < 16 of a block is the low      | float32 [N,K/G] |
 * |        |           | nibble of byte j, weight 16+j its high nibble; w = (nibble − 8) · s[n, ⌊k/G⌋] |             |
 *
 * Group size G (int8/int4): a multiple of 32 that divides K (so K % 32 == 0); G = K is one scale
 * per output channel. int4 defaults to 64. Symmetric quantisation, no zero points: the int8 scale is
 * max|w|/127; the int4 scale is the group's largest-magnitude weight divided by −8, so that weight
 * lands exactly on −8 and the 16 levels are all used (llama.cpp's q4_0 does the same).
 */
import { ConfigError, ShapeError } from '../errors.js';

export type CompactFormat = 'bf16' | 'f16' | 'int8' | 'int4';
export const COMPACT_FORMATS: readonly CompactFormat[] = ['bf16', 'f16', 'int8', 'int4'];
/** Weight dtypes a model can hold: float32 or one of the compact formats. */
export type WeightDtype = 'f32' | CompactFormat;
export const WEIGHT_DTYPES: readonly WeightDtype[] = ['f32', ...COMPACT_FORMATS];
export const DEFAULT_GROUP_SIZE = 64;
/** The native and WGSL kernels' format codes. */
export const FORMAT_CODE: Record<CompactFormat, number> = { bf16: 0, f16: 1, int8: 2, int4: 3 };

/** Bits per weight in the packed data (scales not counted). */
export function formatBits(format: CompactFormat): number {
  return format === 'int8' ? 8 : format === 'int4' ? 4 : 16;
}

export function isQuantized(format: CompactFormat): boolean {
  return format === 'int8' || format === 'int4';
}

/** Throws a ConfigError naming `who` unless `value` is a weight dtype. */
export function parseWeightDtype(who: string, value: unknown): WeightDtype {
  if (typeof value === 'string' && (WEIGHT_DTYPES as readonly string[]).includes(value)) return value as WeightDtype;
  throw new ConfigError(`${who}: unknown dtype '${String(value)}'; expected one of ${WEIGHT_DTYPES.join(', ')}`);
}

/**
 * Checks K and the group size for `format`; returns the group size in use (0 for 16-bit formats).
 * ConfigError for a bad group size, ShapeError for a K the format cannot pack.
 */
export function checkGroup(who: string, format: CompactFormat, K: number, groupSize?: number): number {
  if (!Number.isInteger(K) || K <= 0) throw new ShapeError(`${who}: K must be a positive integer; got ${K}`);
  if (!isQuantized(format)) {
    if (K % 2 !== 0)
      throw new ShapeError(`${who}: ${format} packs 2 weights per 32-bit word, so K must be even; got ${K}`);
    return 0;
  }
  const G = groupSize ?? (format === 'int4' ? Math.min(DEFAULT_GROUP_SIZE, K) : DEFAULT_GROUP_SIZE);
  if (!Number.isInteger(G) || G <= 0 || G % 32 !== 0)
    throw new ConfigError(`${who}: group size must be a positive multiple of 32 (32, 64, 128, …, or K); got ${G}`);
  if (K % G !== 0) throw new ConfigError(`${who}: group size ${G} must divide K = ${K}`);
  return G;
}

/** 32-bit words of one packed row. */
export function wordsPerRow(format: CompactFormat, K: number): number {
  return (K * formatBits(format)) / 32;
}

/** A packed weight matrix in plain arrays (what checkpoints hold and kernels read). */
export interface PackedWeight {
  format: CompactFormat;
  /** W is [N, K]. */
  N: number;
  K: number;
  /** 0 for bf16/f16. */
  groupSize: number;
  /** [N, wordsPerRow] words, little-endian bytes as the table above. */
  data: Int32Array;
  /** [N, K/G] for int8/int4, else null. */
  scales: Float32Array | null;
}

const f32Scratch = new Float32Array(1);
const u32Scratch = new Uint32Array(f32Scratch.buffer);

/** float32 → bfloat16 bits, round to nearest even; NaN stays NaN. */
export function toBf16Bits(v: number): number {
  f32Scratch[0] = v;
  const x = u32Scratch[0];
  if ((x & 0x7fffffff) > 0x7f800000) return ((x >>> 16) | 0x40) & 0xffff;
  return ((x + 0x7fff + ((x >>> 16) & 1)) >>> 16) & 0xffff;
}

/** float32 → IEEE half bits, round to nearest even; overflow → ±inf, underflow → subnormals/±0. */
export function toF16Bits(v: number): number {
  f32Scratch[0] = v;
  const x = u32Scratch[0];
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let man = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (man !== 0 ? 0x200 : 0);
  const e = exp - 127 + 15;
  if (e >= 31) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    man |= 0x800000;
    const shift = 14 - e;
    const half = 1 << (shift - 1);
    const rest = man & ((1 << shift) - 1);
    let h = man >>> shift;
    if (rest > half || (rest === half && (h & 1) === 1)) h++;
    return sign | h;
  }
  let h = (e << 10) | (man >>> 13);
  const rest = man & 0x1fff;
  if (rest > 0x1000 || (rest === 0x1000 && (h & 1) === 1)) h++; // may carry into the exponent: correct
  return sign | h;
}

export function bf16BitsToFloat(h: number): number {
  u32Scratch[0] = (h & 0xffff) << 16;
  return f32Scratch[0];
}

export function f16BitsToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const e = (h >>> 10) & 0x1f;
  const m = h & 0x3ff;
  if (e === 0) return sign * m * 2 ** -24;
  if (e === 31) return m === 0 ? sign * Infinity : Number.NaN;
  return sign * (1024 + m) * 2 ** (e - 25);
}

/**
 * Packs float32 W [N,K] (row-major) into `format`. int8/int4 quantise per group of `groupSize`
 * along K (default 64; G = K: one scale per output channel).
 */
export function packWeight(
  w: Float32Array,
  N: number,
  K: number,
  format: CompactFormat,
  groupSize?: number,
): PackedWeight {
  const who = `packWeight(${format})`;
  if (w.length !== N * K)
    throw new ShapeError(`${who}: W must hold N·K = ${N}·${K} = ${N * K} values; got ${w.length}`);
  const G = checkGroup(who, format, K, groupSize);
  const data = new Int32Array(N * wordsPerRow(format, K));
  const bytes = new Uint8Array(data.buffer);
  if (!isQuantized(format)) {
    const halves = new Uint16Array(data.buffer);
    const conv = format === 'bf16' ? toBf16Bits : toF16Bits;
    for (let i = 0; i < w.length; i++) halves[i] = conv(w[i]); // little-endian host: bytes 2i, 2i+1
    return { format, N, K, groupSize: 0, data, scales: null };
  }
  const groups = K / G;
  const scales = new Float32Array(N * groups);
  for (let n = 0; n < N; n++) {
    for (let g = 0; g < groups; g++) {
      const base = n * K + g * G;
      let scale: number;
      if (format === 'int8') {
        let amax = 0;
        for (let j = 0; j < G; j++) amax = Math.max(amax, Math.abs(w[base + j]));
        scale = Math.fround(amax / 127);
      } else {
        let extreme = 0;
        for (let j = 0; j < G; j++) if (Math.abs(w[base + j]) > Math.abs(extreme)) extreme = w[base + j];
        scale = Math.fround(extreme / -8);
      }
      scales[n * groups + g] = scale;
      const inv = scale === 0 ? 0 : 1 / scale;
      for (let j = 0; j < G; j++) {
        const k = g * G + j;
        if (format === 'int8') {
          bytes[n * K + k] = Math.max(-127, Math.min(127, Math.round(w[base + j] * inv))) & 0xff;
        } else {
          const q = Math.max(0, Math.min(15, Math.round(w[base + j] * inv) + 8));
          const kk = k & 31;
          const at = n * (K / 2) + (k >>> 5) * 16 + (kk & 15);
          bytes[at] = kk < 16 ? (bytes[at] & 0xf0) | q : (bytes[at] & 0x0f) | (q << 4);
        }
      }
    }
  }
  return { format, N, K, groupSize: G, data, scales };
}

/** Rows [n0, n1) of a packed weight as float32 (the fallback kernel; tests compare in float64 elsewhere). */
export function unpackRows(p: PackedWeight, n0 = 0, n1 = p.N, out = new Float32Array((n1 - n0) * p.K)): Float32Array {
  const { K, format } = p;
  const bytes = new Uint8Array(p.data.buffer, p.data.byteOffset, p.data.byteLength);
  if (!isQuantized(format)) {
    const halves = new Uint16Array(p.data.buffer, p.data.byteOffset, p.data.length * 2);
    const conv = format === 'bf16' ? bf16BitsToFloat : f16BitsToFloat;
    for (let i = n0 * K; i < n1 * K; i++) out[i - n0 * K] = conv(halves[i]);
    return out;
  }
  const G = p.groupSize;
  const scales = p.scales as Float32Array;
  for (let n = n0; n < n1; n++) {
    for (let k = 0; k < K; k++) {
      const s = scales[n * (K / G) + Math.floor(k / G)];
      let q: number;
      if (format === 'int8') {
        q = (bytes[n * K + k] << 24) >> 24;
      } else {
        const kk = k & 31;
        const b = bytes[n * (K / 2) + (k >>> 5) * 16 + (kk & 15)];
        q = (kk < 16 ? b & 15 : b >>> 4) - 8;
      }
      out[(n - n0) * K + k] = q * s;
    }
  }
  return out;
}

/** Bytes a packed weight occupies in memory (data + scales). */
export function packedBytes(format: CompactFormat, N: number, K: number, groupSize: number): number {
  return N * wordsPerRow(format, K) * 4 + (isQuantized(format) ? (N * K * 4) / groupSize : 0);
}
