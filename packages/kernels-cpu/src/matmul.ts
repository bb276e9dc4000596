/**
 * BatchMatMul on the cpu backend through our GEMM (native/gemm-driver.cc). Every transpose combination is a flag
 * (no transposed copies). Batch broadcasting: equal outer shapes and an operand with batch 1 (the shapes the
 * models produce) are one strided GEMM call; any other numpy-style broadcast (e.g. [2,1] × [1,3]) is one call
 * per output batch entry — the tfjs kernel gets those wrong (it returns too few values). Non-float32 and
 * shapes that do not broadcast fall back to the tfjs kernel (and its error).
 */
import type { NamedAttrMap, TensorInfo } from '@tensorflow/tfjs-core';
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

/** Batch offsets (in matrices) of A and B for each output batch entry of a general broadcast, or null. */
function broadcastPairs(outerA: number[], outerB: number[]): { outer: number[]; pairs: Int32Array } | null {
  const rank = Math.max(outerA.length, outerB.length);
  const padA = [...new Array(rank - outerA.length).fill(1), ...outerA];
  const padB = [...new Array(rank - outerB.length).fill(1), ...outerB];
  if (padA.some((d, i) => d !== padB[i] && d !== 1 && padB[i] !== 1)) return null;
  const outer = padA.map((d, i) => Math.max(d, padB[i]));
  const batch = sizeOf(outer);
  const pairs = new Int32Array(2 * batch);
  for (let o = 0; o < batch; o++) {
    let rest = o;
    let offA = 0;
    let offB = 0;
    let strideA = 1;
    let strideB = 1;
    for (let d = rank - 1; d >= 0; d--) {
      const i = rest % outer[d];
      rest = Math.floor(rest / outer[d]);
      if (padA[d] !== 1) offA += i * strideA;
      if (padB[d] !== 1) offB += i * strideB;
      strideA *= padA[d];
      strideB *= padB[d];
    }
    pairs[2 * o] = offA;
    pairs[2 * o + 1] = offB;
  }
  return { outer, pairs };
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
      const general = broadcastPairs(a.shape.slice(0, -2), b.shape.slice(0, -2));
      if (general === null) return null;
      const { outer, pairs } = general;
      const out = new Float32Array(sizeOf(outer) * M * N);
      if (K > 0)
        for (let o = 0; o < pairs.length / 2; o++)
          addon.gemm(
            av.subarray(pairs[2 * o] * M * K, (pairs[2 * o] + 1) * M * K),
            bv.subarray(pairs[2 * o + 1] * K * N, (pairs[2 * o + 1] + 1) * K * N),
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
      return output(backend, [...outer, M, N], out);
    }
    const batch = sizeOf(bc.outer);
    // K = 0: the product is all zeros, and sgemm is not called
    const out = K > 0 ? uninitializedF32(batch * M * N) : new Float32Array(batch * M * N);
    if (out.length > 0 && K > 0)
      addon.gemm(av, bv, out, batch, M, N, K, transposeA, transposeB, bc.strideA ? M * K : 0, bc.strideB ? K * N : 0);
    return output(backend, [...bc.outer, M, N], out);
  };
}
