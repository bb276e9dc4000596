/**
 * DcCompactMatMul for the cpu backend (native/qgemm*.cc): x [M,K] float32 against a compact weight
 * whose packed int32 words the addon reads as bytes, dequantising in registers — no float32 copy of
 * the weight. Sizes are checked here (the addon trusts them).
 */
import type { KernelConfig, TensorInfo } from '@tensorflow/tfjs-core';
import {
  DcCompactMatMul,
  FORMAT_CODE,
  compactMatMulAttrsOf,
  isQuantized,
  referenceCompactMatMulKernel,
  wordsPerRow,
} from '@dcformer/kernels';
import { f32, i32, output, uninitializedF32 } from './backend-data.js';
import type { NativeAddon } from './native.js';

export interface CompactAddon {
  /** y[M,N] = x[M,K]·dequant(w)ᵀ; format 0 bf16, 1 f16, 2 int8, 3 int4 (compact-format.ts). */
  compactMatmul(
    format: number,
    x: Float32Array,
    w: Int32Array,
    scales: Float32Array | null,
    y: Float32Array,
    M: number,
    N: number,
    K: number,
    G: number,
  ): void;
  /** The path in use: 'avx512vnni' | 'avx512' | 'avx2vnni' | 'avx2int' | 'avx2' | 'neon' | 'portable'. */
  compactPath(): string;
  compactPaths(): string[];
  /** Switches the path (tests, benchmarks); throws naming the paths that can run here. */
  setCompactPath(name: string): void;
  /** Σ buf[0..n) with every thread streaming its share: the read-bandwidth probe. */
  readSum(buf: Float32Array, n: number): number;
}

/** The addon's compact functions, or null for an addon built before them. */
export function compactAddon(addon: NativeAddon | null): CompactAddon | null {
  // An addon built before the compact kernels lacks these members, so they are looked up, not assumed.
  return addon !== null && typeof Reflect.get(addon, 'compactMatmul') === 'function'
    ? (addon as NativeAddon & CompactAddon)
    : null;
}

export function compactMatMulKernel(addon: CompactAddon, backendName = 'cpu'): KernelConfig {
  const reference = referenceCompactMatMulKernel(backendName);
  return {
    kernelName: DcCompactMatMul,
    backendName,
    kernelFunc: (args) => {
      const { x, data, scales } = args.inputs as { x: TensorInfo; data: TensorInfo; scales?: TensorInfo };
      const attrs = compactMatMulAttrsOf(args.attrs);
      const xv = f32(args.backend, x);
      const wv = i32(args.backend, data);
      const sv = scales === undefined ? null : f32(args.backend, scales);
      const { N, K, groupSize: G, format } = attrs;
      const M = x.shape[0];
      if (
        xv === null ||
        wv === null ||
        (isQuantized(format) && sv === null) ||
        x.shape.length !== 2 ||
        xv.length !== M * K ||
        wv.length !== N * wordsPerRow(format, K) ||
        (sv !== null && sv.length !== (N * K) / G)
      )
        return reference.kernelFunc(args);
      const y = uninitializedF32(M * N);
      if (M > 0) addon.compactMatmul(FORMAT_CODE[format], xv, wv, sv, y, M, N, K, isQuantized(format) ? G : 0);
      return output(args.backend, [M, N], y);
    },
  };
}
