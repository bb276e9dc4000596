/**
 * Slice, SplitV, PadV2, Tile, Unpack and Concat as block copies of contiguous runs (TypedArray.set). tfjs-backend-cpu
 * takes a per-element index path for any slice that is not one contiguous range — slicing heads
 * or q/k/v out of a [B,T,3D] projection, or the cache along S — which profiles showed as the largest
 * cost left after GEMM (SplitV ~1 s of a 4 s step). Plain TypeScript: no addon needed.
 */
import type { NamedAttrMap, TensorInfo } from '@tensorflow/tfjs-core';
import { backend_util } from '@tensorflow/tfjs-core';
import { inputList, output, sizeOf, uninitialized } from './backend-data.js';
import type { FastKernelFunc } from './override.js';

type Numeric = Float32Array | Int32Array | Uint8Array;

interface Stored {
  data: { get(id: unknown): { values?: unknown } | undefined };
  makeTensorInfo(shape: number[], dtype: string, values: Numeric): TensorInfo;
}

function valuesOf(backend: unknown, t: TensorInfo): Numeric | null {
  const v = (backend as Stored).data.get(t.dataId)?.values;
  return v instanceof Float32Array || v instanceof Int32Array || v instanceof Uint8Array ? v : null;
}

/** Like `like`'s type, zeroed (pad fills around the copy). */
function alloc(like: Numeric, n: number): Numeric {
  return new (like.constructor as new (n: number) => Numeric)(n);
}

/** Like `like`'s type, not zeroed: for outputs the copy overwrites completely. */
function allocFull(like: Numeric, n: number): Numeric {
  return uninitialized(like.constructor as Parameters<typeof uninitialized>[0], n) as Numeric;
}

function make(backend: unknown, shape: number[], dtype: string, values: Numeric): TensorInfo {
  return dtype === 'float32'
    ? output(backend, shape, values as Float32Array)
    : (backend as Stored).makeTensorInfo(shape, dtype, values);
}

function stridesOf(shape: number[]): number[] {
  const s = new Array(shape.length).fill(1);
  for (let d = shape.length - 2; d >= 0; d--) s[d] = s[d + 1] * shape[d + 1];
  return s;
}

/** Copies the box `size` at `srcAt` in src (shape srcShape) to `dstAt` in dst (shape dstShape). */
export function copyBox(
  src: Numeric,
  srcShape: number[],
  srcAt: number[],
  dst: Numeric,
  dstShape: number[],
  dstAt: number[],
  size: number[],
): void {
  if (size.some((d) => d === 0)) return;
  // Merge trailing dims that the box covers completely in both arrays: longer runs.
  let rank = size.length;
  let run = 1;
  while (rank > 1 && size[rank - 1] === srcShape[rank - 1] && size[rank - 1] === dstShape[rank - 1]) {
    run *= size[rank - 1];
    rank--;
  }
  const ss = stridesOf(srcShape);
  const ds = stridesOf(dstShape);
  const inner = size[rank - 1] * run;
  let s0 = 0;
  let d0 = 0;
  for (let k = 0; k < srcShape.length; k++) s0 += srcAt[k] * ss[k];
  for (let k = 0; k < dstShape.length; k++) d0 += dstAt[k] * ds[k];
  const idx = new Array(rank - 1).fill(0);
  for (;;) {
    let so = s0;
    let dO = d0;
    for (let k = 0; k < rank - 1; k++) {
      so += idx[k] * ss[k];
      dO += idx[k] * ds[k];
    }
    // the merged trailing dims are complete in both arrays, so each run is contiguous in both
    if (inner > 32) dst.set(src.subarray(so, so + inner), dO);
    else for (let j = 0; j < inner; j++) dst[dO + j] = src[so + j];
    let k = rank - 2;
    while (k >= 0 && ++idx[k] === size[k]) idx[k--] = 0;
    if (k < 0) break;
  }
}

export const sliceKernel: FastKernelFunc = ({ inputs, backend, attrs }) => {
  const x = (inputs as { x: TensorInfo }).x;
  const xv = valuesOf(backend, x);
  if (xv === null) return null;
  const { begin, size } = attrs as NamedAttrMap as { begin: number | number[]; size: number | number[] };
  const [b, s] = backend_util.slice_util.parseSliceParams(x as never, begin, size);
  const out = allocFull(xv, sizeOf(s));
  copyBox(
    xv,
    x.shape,
    b,
    out,
    s,
    s.map(() => 0),
    s,
  );
  return make(backend, s, x.dtype, out);
};

export const splitKernel: FastKernelFunc = ({ inputs, backend, attrs }) => {
  const x = (inputs as { x: TensorInfo }).x;
  const xv = valuesOf(backend, x);
  if (xv === null) return null;
  const { numOrSizeSplits, axis } = attrs as NamedAttrMap as { numOrSizeSplits: number | number[]; axis: number };
  const ax = axis < 0 ? axis + x.shape.length : axis;
  const sizes = backend_util.prepareSplitSize(x as never, numOrSizeSplits, ax);
  let at = 0;
  return sizes.map((n) => {
    const shape = x.shape.map((d, k) => (k === ax ? n : d));
    const out = allocFull(xv, sizeOf(shape));
    copyBox(
      xv,
      x.shape,
      x.shape.map((_, k) => (k === ax ? at : 0)),
      out,
      shape,
      shape.map(() => 0),
      shape,
    );
    at += n;
    return make(backend, shape, x.dtype, out);
  });
};

export const padKernel: FastKernelFunc = ({ inputs, backend, attrs }) => {
  const x = (inputs as { x: TensorInfo }).x;
  const xv = valuesOf(backend, x);
  if (xv === null) return null;
  const { paddings, constantValue } = attrs as NamedAttrMap as { paddings: [number, number][]; constantValue: number };
  const shape = x.shape.map((d, k) => d + paddings[k][0] + paddings[k][1]);
  const out = alloc(xv, sizeOf(shape));
  if (constantValue !== 0) out.fill(constantValue);
  copyBox(
    xv,
    x.shape,
    x.shape.map(() => 0),
    out,
    shape,
    paddings.map((p) => p[0]),
    x.shape,
  );
  return make(backend, shape, x.dtype, out);
};

/**
 * Tile (also what broadcastTo runs, e.g. tf.where's mask and fill value): fills the first copy of
 * each block, then doubles it with copyWithin along each axis — O(output) memcpy even when a
 * scalar is tiled to millions of elements.
 */
export function tileInto(xv: Numeric, shape: number[], reps: number[], out: Numeric): void {
  const rank = shape.length;
  const outShape = shape.map((d, k) => d * reps[k]);
  const xStride = stridesOf(shape);
  const block = stridesOf(outShape).map((s, k) => s * outShape[k]); // size of one out block at dim k
  const fill = (d: number, xOff: number, oOff: number): void => {
    const inner = d + 1 < rank ? block[d + 1] : 1;
    if (d === rank - 1) for (let i = 0; i < shape[d]; i++) out[oOff + i] = xv[xOff + i];
    else for (let i = 0; i < shape[d]; i++) fill(d + 1, xOff + i * xStride[d], oOff + i * inner);
    const one = shape[d] * inner;
    for (let done = 1; done < reps[d]; ) {
      const n = Math.min(done, reps[d] - done);
      out.copyWithin(oOff + done * one, oOff, oOff + n * one);
      done += n;
    }
  };
  if (rank === 0) out[0] = xv[0];
  else if (out.length > 0) fill(0, 0, 0);
}

export const tileKernel: FastKernelFunc = ({ inputs, backend, attrs }) => {
  const x = (inputs as { x: TensorInfo }).x;
  const xv = valuesOf(backend, x);
  if (xv === null) return null;
  const { reps } = attrs as NamedAttrMap as { reps: number[] };
  const shape = x.shape.map((d, k) => d * reps[k]);
  const out = allocFull(xv, sizeOf(shape));
  tileInto(xv, x.shape, reps, out);
  return make(backend, shape, x.dtype, out);
};

/** Unpack (tf.unstack): one block copy per output; the stock kernel slices element by element. */
export const unpackKernel: FastKernelFunc = ({ inputs, backend, attrs }) => {
  const x = (inputs as { value: TensorInfo }).value;
  const xv = valuesOf(backend, x);
  if (xv === null) return null;
  const { axis } = attrs as NamedAttrMap as { axis: number };
  const ax = axis < 0 ? axis + x.shape.length : axis;
  const size = x.shape.map((d, k) => (k === ax ? 1 : d));
  const shape = x.shape.filter((_, k) => k !== ax);
  return Array.from({ length: x.shape[ax] }, (_, i) => {
    const out = allocFull(xv, sizeOf(shape));
    copyBox(
      xv,
      x.shape,
      x.shape.map((_, k) => (k === ax ? i : 0)),
      out,
      size,
      size.map(() => 0),
      size,
    );
    return make(backend, shape, x.dtype, out);
  });
};

/** Concat along any axis as block copies (also what Pack, tf.stack, runs on the cpu backend). */
export const concatKernel: FastKernelFunc = ({ inputs, backend, attrs }) => {
  // Concat is run with an array: its values are the inputs in order
  const list = Object.values(inputs) as TensorInfo[];
  const { axis } = attrs as NamedAttrMap as { axis: number };
  if (list.length === 0 || list.some((t) => t.dtype !== list[0].dtype || t.shape.length !== list[0].shape.length))
    return null;
  const rank = list[0].shape.length;
  const ax = axis < 0 ? axis + rank : axis;
  const values = list.map((t) => valuesOf(backend, t));
  if (values.some((v) => v === null) || rank === 0) return null;
  const shape = list[0].shape.map((d, k) => (k === ax ? list.reduce((n, t) => n + t.shape[k], 0) : d));
  const out = allocFull(values[0] as Numeric, sizeOf(shape));
  let at = 0;
  list.forEach((t, i) => {
    copyBox(
      values[i] as Numeric,
      t.shape,
      t.shape.map(() => 0),
      out,
      shape,
      shape.map((_, k) => (k === ax ? at : 0)),
      t.shape,
    );
    at += t.shape[ax];
  });
  return make(backend, shape, list[0].dtype, out);
};

/** GatherV2 along axis 0 without batch dims (the embedding lookup): one row copy per index. */
export const gatherKernel: FastKernelFunc = ({ inputs, backend, attrs }) => {
  const { x, indices } = inputs as { x: TensorInfo; indices: TensorInfo };
  const { axis, batchDims } = attrs as NamedAttrMap as { axis: number; batchDims: number };
  const xv = valuesOf(backend, x);
  const iv = valuesOf(backend, indices);
  if (
    xv === null ||
    !(iv instanceof Int32Array) ||
    (axis !== 0 && axis !== -x.shape.length) ||
    batchDims !== 0 ||
    x.shape.length === 0
  )
    return null;
  const rows = x.shape[0];
  const row = rows === 0 ? 0 : xv.length / rows;
  for (const i of iv) if (i < 0 || i >= rows) return null; // tfjs' kernel reports the bad index
  const out = allocFull(xv, iv.length * row);
  iv.forEach((i, k) => out.set(xv.subarray(i * row, (i + 1) * row), k * row));
  return make(backend, [...indices.shape, ...x.shape.slice(1)], x.dtype, out);
};

/** Pack (tf.stack, the gradient of tf.unstack): Concat along a new axis, as block copies. */
export const packKernel: FastKernelFunc = (args, fallback) => {
  const list = inputList(args);
  const { axis } = args.attrs as NamedAttrMap as { axis: number };
  if (list.length === 0) return null;
  const rank = list[0].shape.length + 1;
  const ax = axis < 0 ? axis + rank : axis;
  const expanded = list.map((t) => ({ ...t, shape: [...t.shape.slice(0, ax), 1, ...t.shape.slice(ax)] }));
  const inputs = Object.fromEntries(expanded.map((t, i) => [i, t]));
  return concatKernel({ ...args, inputs, attrs: { axis: ax } }, fallback);
};

export const copyKernels: [string, FastKernelFunc][] = [
  ['Pack', packKernel],
  ['GatherV2', gatherKernel],
  ['Unpack', unpackKernel],
  ['Concat', concatKernel],
  ['Slice', sliceKernel],
  ['SplitV', splitKernel],
  ['PadV2', padKernel],
  ['Tile', tileKernel],
];
