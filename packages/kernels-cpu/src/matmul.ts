/**
 * BatchMatMul on the cpu backend through our GEMM (native/gemm-driver.cc). Every transpose combination is a flag
 * (no transposed copies). Batch broadcasting: equal outer shapes and an operand with batch 1 (the shapes the
 * models produce) are one strided GEMM call; any other numpy-style broadcast (e.g. [2,1] × [1,3]) is one call
 * per output batch entry — the tfjs kernel gets those wrong (it returns too few values). Non-float32 and
 * shapes that do not broadcast fall back to the tfjs kernel (and its error).
 */
import type { NamedAttrMap, TensorInfo } from '@tensorflow/tfjs-core';
import { batchBroadcast } from '@dcformer/kernels';
import { f32, output, sizeOf, uninitializedF32 } from './backend-data.js';
import type { NativeAddon } from './native.js';
import type { FastKernelFunc } from './override.js';

function broadcastOuter(
  outerA: number[],
  outerB: number[],
): { outer: number[]; strideA: boolean; strideB: boolean } | null {
  const batchA = sizeOf(outerA);
  const batchB = sizeOf(outerB);
  const rank = Math.max(outerA.length, outerB.length);
  const padA = [...new Array(rank - outerA.length).fill(1), ...outerA];
  const padB = [...new Array(rank - outerB.length).fill(1), ...outerB];
  if (padA.every((d, i) => d === padB[i])) return { outer: padA, strideA: true, strideB: true };
  if (batchA === 1) return { outer: padB, strideA: false, strideB: true };
  if (batchB === 1) return { outer: padA, strideA: true, strideB: false };
  return null;
}

export function gemmKernel(addon: NativeAddon): FastKernelFunc {
  return ({ inputs, backend, attrs }) => {
    const { a, b } = inputs as { a: TensorInfo; b: TensorInfo };
    const { transposeA, transposeB } = attrs as NamedAttrMap as { transposeA: boolean; transposeB: boolean };
    const av = f32(backend, a);
    const bv = f32(backend, b);
    if (av === null || bv === null || a.shape.length < 2 || b.shape.length < 2) return null;
    const ra = a.shape.length;
    const rb = b.shape.length;
    const [M, K] = transposeA ? [a.shape[ra - 1], a.shape[ra - 2]] : [a.shape[ra - 2], a.shape[ra - 1]];
    const [K2, N] = transposeB ? [b.shape[rb - 1], b.shape[rb - 2]] : [b.shape[rb - 2], b.shape[rb - 1]];
    if (K !== K2) return null; // the tfjs kernel throws its own shape error
    const bc = broadcastOuter(a.shape.slice(0, -2), b.shape.slice(0, -2));
    if (bc === null) {
      const general = batchBroadcast(a.shape.slice(0, -2), b.shape.slice(0, -2));
      if (general === null) return null;
      const batch = sizeOf(general.outer);
      const out = K > 0 ? uninitializedF32(batch * M * N) : new Float32Array(batch * M * N);
      if (K > 0)
        for (let o = 0; o < batch; o++) {
          const [ea, eb] = general.entries(o);
          addon.gemm(
            av.subarray(ea * M * K, (ea + 1) * M * K),
            bv.subarray(eb * K * N, (eb + 1) * K * N),
            out.subarray(o * M * N, (o + 1) * M * N),
            1,
            M,
            N,
            K,
            transposeA,
            transposeB,
            0,
            0,
          );
        }
      return output(backend, [...general.outer, M, N], out);
    }
    const batch = sizeOf(bc.outer);
    // K = 0: the product is all zeros, and sgemm is not called
    const out = K > 0 ? uninitializedF32(batch * M * N) : new Float32Array(batch * M * N);
    if (out.length > 0 && K > 0)
      addon.gemm(av, bv, out, batch, M, N, K, transposeA, transposeB, bc.strideA ? M * K : 0, bc.strideB ? K * N : 0);
    return output(backend, [...bc.outer, M, N], out);
  };
}
