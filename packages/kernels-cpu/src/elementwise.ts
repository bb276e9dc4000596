/**
 * Native element-wise kernels for the cpu backend: broadcasting binary ops, transpose, unary maths,
 * softmax and last-axis reductions. tfjs-backend-cpu computes an index per element through arrays
 * whenever shapes broadcast or axes permute (10–100× slower than a flat loop): on bench-small these,
 * not the GEMMs, were most of a training step (docs/adr/0001-cpu-fast-path.md). Shapes are
 * collapsed here so the native loops see few dims with a dense or broadcast innermost one.
 */
import type { NamedAttrMap, TensorInfo } from '@tensorflow/tfjs-core';
import { backend_util } from '@tensorflow/tfjs-core';
import { f32, output, sizeOf, uninitializedF32 } from './backend-data.js';
import type { NativeAddon } from './native.js';
import type { FastKernelFunc } from './override.js';

export const BINARY_OPS: Record<string, number> = {
  Add: 0,
  Sub: 1,
  Multiply: 2,
  RealDiv: 3,
  Maximum: 4,
  Minimum: 5,
  SquaredDifference: 6,
  Pow: 7,
};
export const UNARY_OPS: Record<string, number> = {
  Exp: 0,
  Neg: 1,
  Sigmoid: 2,
  Tanh: 3,
  Rsqrt: 4,
  Square: 5,
  Sqrt: 6,
  Log: 7,
  Erf: 8,
};
const REDUCE_OPS: Record<string, number> = { Sum: 0, Max: 1, Min: 2, Mean: 3 };

function contiguousStrides(shape: number[]): number[] {
  const s = new Array(shape.length).fill(1);
  for (let d = shape.length - 2; d >= 0; d--) s[d] = s[d + 1] * shape[d + 1];
  return s;
}

/** Broadcast strides of a and b over `out`, with size-1 dims dropped and mergeable dims merged. */
export function collapseBroadcast(
  out: number[],
  a: number[],
  b: number[],
): { shape: number[]; sa: number[]; sb: number[] } {
  const r = out.length;
  const pad = (s: number[]) => [...new Array(r - s.length).fill(1), ...s];
  const [pa, pb] = [pad(a), pad(b)];
  const [ca, cb] = [contiguousStrides(pa), contiguousStrides(pb)];
  const shape: number[] = [];
  const sa: number[] = [];
  const sb: number[] = [];
  for (let d = 0; d < r; d++) {
    if (out[d] === 1) continue;
    const da = pa[d] === 1 ? 0 : ca[d];
    const db = pb[d] === 1 ? 0 : cb[d];
    const k = shape.length - 1;
    // merge into the previous dim when both operands step through it as one dense (or broadcast) run
    if (k >= 0 && sa[k] === da * out[d] && sb[k] === db * out[d]) {
      shape[k] *= out[d];
      sa[k] = da;
      sb[k] = db;
    } else {
      shape.push(out[d]);
      sa.push(da);
      sb.push(db);
    }
  }
  if (shape.length === 0) return { shape: [1], sa: [1], sb: [1] };
  return { shape, sa, sb };
}

export function binaryKernel(addon: NativeAddon, op: number): FastKernelFunc {
  return ({ inputs, backend }) => {
    const { a, b } = inputs as { a: TensorInfo; b: TensorInfo };
    const av = f32(backend, a);
    const bv = f32(backend, b);
    if (av === null || bv === null) return null;
    const outShape = backend_util.assertAndGetBroadcastShape(a.shape, b.shape);
    const out = uninitializedF32(sizeOf(outShape));
    if (out.length === 0) return output(backend, outShape, out);
    const c = collapseBroadcast(outShape, a.shape, b.shape);
    addon.binary(op, av, bv, out, c.shape, c.sa, c.sb);
    return output(backend, outShape, out);
  };
}

export function unaryKernel(addon: NativeAddon, op: number): FastKernelFunc {
  return ({ inputs, backend }) => {
    const x = (inputs as { x: TensorInfo }).x;
    const xv = f32(backend, x);
    if (xv === null) return null;
    const out = uninitializedF32(xv.length);
    addon.unary(op, xv, out);
    return output(backend, x.shape, out);
  };
}

/** Permutation with size-1 axes dropped and runs of input-adjacent axes merged ([0,2,3,1] → [0,2,1]). */
export function collapseTranspose(shape: number[], perm: number[]): { shape: number[]; perm: number[] } {
  const keptAxes = shape.map((_, d) => d).filter((d) => shape[d] !== 1);
  const rankOf = new Map(keptAxes.map((d, i) => [d, i]));
  const p = perm.filter((d) => shape[d] !== 1).map((d) => rankOf.get(d) as number);
  const groups: number[][] = [];
  for (const q of p) {
    const last = groups[groups.length - 1];
    if (last && last[last.length - 1] + 1 === q) last.push(q);
    else groups.push([q]);
  }
  const order = [...groups].sort((g, h) => g[0] - h[0]); // groups in input order = the new input axes
  const newShape = order.map((g) => g.reduce((s, q) => s * shape[keptAxes[q]], 1));
  const newPerm = groups.map((g) => order.indexOf(g));
  return newShape.length === 0 ? { shape: [1], perm: [0] } : { shape: newShape, perm: newPerm };
}

export function transposeKernel(addon: NativeAddon): FastKernelFunc {
  return ({ inputs, backend, attrs }) => {
    const x = (inputs as { x: TensorInfo }).x;
    const { perm } = attrs as NamedAttrMap as { perm: number[] };
    const xv = f32(backend, x);
    if (xv === null) return null;
    const outShape = perm.map((p) => x.shape[p]);
    const c = collapseTranspose(x.shape, perm);
    // a permutation that moves only size-1 axes (tfjs' gather gradient emits the identity over a
    // whole embedding matrix): share the data, as tfjs' Reshape does, instead of copying it
    if (c.perm.every((p, i) => p === i)) {
      (backend as { incRef(id: unknown): void }).incRef(x.dataId);
      return { dataId: x.dataId, shape: outShape, dtype: x.dtype };
    }
    const out = uninitializedF32(xv.length);
    addon.transpose(xv, out, c.shape, c.perm);
    return output(backend, outShape, out);
  };
}

export function softmaxKernel(addon: NativeAddon): FastKernelFunc {
  return ({ inputs, backend, attrs }) => {
    const logits = (inputs as { logits: TensorInfo }).logits;
    const { dim } = attrs as NamedAttrMap as { dim: number };
    const rank = logits.shape.length;
    const xv = f32(backend, logits);
    if (xv === null || rank === 0 || (dim !== -1 && dim !== rank - 1)) return null;
    const cols = logits.shape[rank - 1];
    const out = uninitializedF32(xv.length);
    if (out.length > 0) addon.softmax(xv, out, xv.length / cols, cols);
    return output(backend, logits.shape, out);
  };
}

export function reduceKernel(addon: NativeAddon, name: string): FastKernelFunc {
  const op = REDUCE_OPS[name];
  return ({ inputs, backend, attrs }) => {
    const x = (inputs as { x: TensorInfo }).x;
    // Max names its axes `reductionIndices`, the others `axis`
    const {
      axis: a,
      reductionIndices,
      keepDims,
    } = attrs as NamedAttrMap as { axis?: number | number[]; reductionIndices?: number | number[]; keepDims: boolean };
    let xv = f32(backend, x);
    if (xv === null || x.shape.length === 0) return null;
    const rank = x.shape.length;
    // tfjs ops pass null for "every axis" (tf.max(x)); Max carries it in reductionIndices, the others in axis
    const axis = a ?? reductionIndices ?? x.shape.map((_, d) => d);
    const axes = [...new Set((Array.isArray(axis) ? axis : [axis]).map((a) => (a < 0 ? a + rank : a)))].sort(
      (p, q) => p - q,
    );
    const kept = x.shape.map((_, d) => d).filter((d) => !axes.includes(d));
    const inner = axes.reduce((s, d) => s * x.shape[d], 1);
    const outer = kept.reduce((s, d) => s * x.shape[d], 1);
    if (inner === 0 || xv.length === 0) return null;
    if (!axes.every((d, i) => d === rank - axes.length + i)) {
      // move the reduced axes last (as tfjs does), natively
      const perm = [...kept, ...axes];
      const c = collapseTranspose(x.shape, perm);
      const moved = uninitializedF32(xv.length);
      addon.transpose(xv, moved, c.shape, c.perm);
      xv = moved;
    }
    const out = uninitializedF32(outer);
    addon.reduce(op, xv, out, outer, inner);
    const outShape = keepDims ? x.shape.map((d, i) => (axes.includes(i) ? 1 : d)) : kept.map((d) => x.shape[d]);
    return output(backend, outShape, out);
  };
}

export function elementwiseKernels(addon: NativeAddon): [string, FastKernelFunc][] {
  return [
    ...Object.entries(BINARY_OPS).map(([n, op]): [string, FastKernelFunc] => [n, binaryKernel(addon, op)]),
    ...Object.entries(UNARY_OPS).map(([n, op]): [string, FastKernelFunc] => [n, unaryKernel(addon, op)]),
    ...Object.keys(REDUCE_OPS).map((n): [string, FastKernelFunc] => [n, reduceKernel(addon, n)]),
    ['Transpose', transposeKernel(addon)],
    ['Softmax', softmaxKernel(addon)],
  ];
}
