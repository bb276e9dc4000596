import * as tf from '@tensorflow/tfjs-core';
import { type CompactFormat, packWeight, type PackedWeight } from '../compact-matmul/compact-format.js';
import { compactMatMul, compactWeight, disposeCompactWeight } from '../compact-matmul/compact-matmul-op.js';
import { runSuite, runSuiteAsync, signedXorshift, type ConformanceResult, type ConformanceSuite } from './run-cases.js';

/**
 * Conformance of the active backend's DcCompactMatMul against a float64 product with the weights
 * decoded here, in float64, straight from the documented bit layout (compact-format.ts's table) —
 * not by the package's own unpacker. Each element within 2e-6·Σ_k |x·w| (float32 accumulation).
 */
export interface CompactMatMulCase {
  format: CompactFormat;
  M: number;
  N: number;
  K: number;
  groupSize?: number;
  seed: number;
}

const shapes: Omit<CompactMatMulCase, 'format' | 'seed'>[] = [
  { M: 1, N: 3, K: 64 }, // decode, fewer rows than threads
  { M: 1, N: 70, K: 256, groupSize: 32 },
  { M: 3, N: 17, K: 128, groupSize: 128 },
  { M: 5, N: 40, K: 192 },
  { M: 12, N: 33, K: 128, groupSize: 128 }, // prefill (tiled path)
  { M: 2, N: 9, K: 96, groupSize: 96 }, // int: one scale per output channel (G = K)
];

export const COMPACT_MATMUL_CONFORMANCE_CASES: CompactMatMulCase[] = (['bf16', 'f16', 'int8', 'int4'] as const).flatMap(
  (format, f) =>
    shapes.map((s, i) => ({
      format,
      ...s,
      K: format === 'bf16' || format === 'f16' ? s.K + (i % 2) * 6 : s.K, // 16-bit: K not a multiple of 32
      groupSize: format === 'bf16' || format === 'f16' ? undefined : s.groupSize,
      seed: 100 * f + i + 1,
    })),
);

interface Data {
  x: Float32Array;
  packed: PackedWeight;
}

/** Weight k of row n in float64, from the layout table. */
export function decodeWeight64(p: PackedWeight, n: number, k: number): number {
  const bytes = new Uint8Array(p.data.buffer, p.data.byteOffset, p.data.byteLength);
  if (p.format === 'bf16' || p.format === 'f16') {
    const at = 2 * (n * p.K + k);
    const h = bytes[at] | (bytes[at + 1] << 8);
    if (p.format === 'bf16') {
      const sign = h & 0x8000 ? -1 : 1;
      const e = (h >> 7) & 0xff;
      const m = h & 0x7f;
      return e === 0 ? sign * m * 2 ** -133 : sign * (128 + m) * 2 ** (e - 134);
    }
    const sign = h & 0x8000 ? -1 : 1;
    const e = (h >> 10) & 0x1f;
    const m = h & 0x3ff;
    return e === 0 ? sign * m * 2 ** -24 : sign * (1024 + m) * 2 ** (e - 25);
  }
  const G = p.groupSize;
  const s = (p.scales as Float32Array)[n * (p.K / G) + Math.floor(k / G)];
  if (p.format === 'int8') {
    const b = bytes[n * p.K + k];
    return (b >= 128 ? b - 256 : b) * s;
  }
  const j = k % 32;
  const b = bytes[n * (p.K / 2) + Math.floor(k / 32) * 16 + (j % 16)];
  return ((j < 16 ? b % 16 : Math.floor(b / 16)) - 8) * s;
}

export const compactMatMulSuite: ConformanceSuite<CompactMatMulCase, Data> = {
  data(c) {
    const random = signedXorshift(c.seed);
    const x = Float32Array.from({ length: c.M * c.K }, () => random());
    // weights of mixed magnitude: some rows tiny (half subnormals), one group all zero (scale 0)
    const w = Float32Array.from(
      { length: c.N * c.K },
      (_, i) => random() * (Math.floor(i / c.K) % 5 === 4 ? 1e-6 : 0.5),
    );
    w.fill(0, 0, Math.min(32, c.K));
    return { x, packed: packWeight(w, c.N, c.K, c.format, c.groupSize) };
  },
  outputs(c, d) {
    const w = compactWeight(d.packed);
    try {
      return [tf.tidy(() => compactMatMul(tf.tensor2d(d.x, [c.M, c.K]), w))];
    } finally {
      disposeCompactWeight(w);
    }
  },
  check(c, d, got): ConformanceResult[] {
    const { x, packed } = d;
    const wd = new Float64Array(c.N * c.K);
    for (let n = 0; n < c.N; n++) for (let k = 0; k < c.K; k++) wd[n * c.K + k] = decodeWeight64(packed, n, k);
    let worst = 0;
    let where = '';
    for (let m = 0; m < c.M; m++) {
      for (let n = 0; n < c.N; n++) {
        let want = 0;
        let mag = 0;
        for (let k = 0; k < c.K; k++) {
          const t = x[m * c.K + k] * wd[n * c.K + k];
          want += t;
          mag += Math.abs(t);
        }
        const err = Math.abs(got[0][m * c.N + n] - want) / (mag + 1e-30);
        if (!(err <= worst)) {
          worst = err;
          where = `y[${m},${n}] = ${got[0][m * c.N + n]}, float64 ${want}`;
        }
      }
    }
    const label = `${c.format} M${c.M} N${c.N} K${c.K}${c.groupSize ? ` G${c.groupSize}` : ''}`;
    const ok = worst <= 2e-6;
    return [{ name: label, ok, message: ok ? `${label}: ok` : `${label}: relative error ${worst} at ${where}` }];
  },
};

/** Every case on the active backend (cpu, wasm). */
export function runCompactMatMulConformance(
  cases: readonly CompactMatMulCase[] = COMPACT_MATMUL_CONFORMANCE_CASES,
): ConformanceResult[] {
  return runSuite(compactMatMulSuite, cases);
}

/** Every case on the active backend, reading asynchronously (webgpu). */
export async function runCompactMatMulConformanceAsync(
  cases: readonly CompactMatMulCase[] = COMPACT_MATMUL_CONFORMANCE_CASES,
): Promise<ConformanceResult[]> {
  return runSuiteAsync(compactMatMulSuite, cases);
}
