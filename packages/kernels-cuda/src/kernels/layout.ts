/**
 * Layout kernels of the `cuda` backend. Reshape, ExpandDims and Identity change metadata
 * only (the output shares the input's buffer); everything else is native/layout.cu's strided copy
 * with the strides worked out here: Transpose, Slice, StridedSlice, Concat, Pack, Unpack, SplitV,
 * PadV2, Tile and BroadcastTo.
 */
import { backend_util, slice_util, util } from '@tensorflow/tfjs-core';
import type { KernelConfig, TensorInfo } from '@tensorflow/tfjs-core';
import type { CudaBackend } from '../backend.js';
import { dtypeCode } from './codes.js';
import { MAX_RANK, broadcastStrides, deviceKernel, sizeOf, stridesOf } from './kernel.js';

/** The strided kernels move 4-byte words (float32, int32) or bytes (bool); other dtypes fall back. */
function movable(...ts: TensorInfo[]): boolean {
  return ts.every((t) => dtypeCode(t.dtype) !== null && t.shape.length <= MAX_RANK);
}

interface Region {
  offset: number;
  strides: number[];
}

/** Copies `shape` elements of src (read through `from`) into dst (written through `to`). */
function copy(
  be: CudaBackend,
  src: TensorInfo,
  from: Region,
  dst: TensorInfo,
  to: Region,
  shape: number[],
  mod: number[] | null = null,
): void {
  if (sizeOf(shape) === 0) return;
  be.addon.stridedCopy(
    src.dtype === 'bool' ? 1 : 4,
    be.handle(src),
    from.offset,
    be.handle(dst),
    to.offset,
    shape,
    from.strides,
    to.strides,
    mod,
  );
}

const dense = (shape: number[]): Region => ({ offset: 0, strides: stridesOf(shape) });

const without = (xs: readonly number[], axis: number) => xs.filter((_, d) => d !== axis);

function metadataKernels(backendName: string): KernelConfig[] {
  return [
    deviceKernel('Reshape', backendName, ({ inputs, attrs }, be) => {
      const x = inputs.x as TensorInfo;
      return be.shareAs(x, util.inferFromImplicitShape(attrs?.shape as number[], sizeOf(x.shape)));
    }),
    deviceKernel('Identity', backendName, ({ inputs }, be) => {
      const x = inputs.x as TensorInfo;
      return be.shareAs(x, x.shape);
    }),
    deviceKernel('ExpandDims', backendName, ({ inputs, attrs }, be) => {
      const x = inputs.input as TensorInfo;
      const dim = attrs?.dim as number;
      const at = dim < 0 ? x.shape.length + dim + 1 : dim;
      const shape = [...x.shape];
      shape.splice(at, 0, 1);
      return be.shareAs(x, shape);
    }),
  ];
}

function transposeKernel(backendName: string): KernelConfig {
  return deviceKernel('Transpose', backendName, ({ inputs, attrs }, be) => {
    const x = inputs.x as TensorInfo;
    if (!movable(x)) return null;
    const perm = attrs?.perm as number[];
    const xs = stridesOf(x.shape);
    const shape = perm.map((p) => x.shape[p]);
    const out = be.makeOutput(shape, x.dtype);
    copy(be, x, { offset: 0, strides: perm.map((p) => xs[p]) }, out, dense(shape), shape);
    return out;
  });
}

/** A block of x from `begin` with `size` (Slice). */
function sliceOf(be: CudaBackend, x: TensorInfo, begin: number[], size: number[]): TensorInfo {
  const xs = stridesOf(x.shape);
  const out = be.makeOutput(size, x.dtype);
  const offset = begin.reduce((acc, b, d) => acc + b * xs[d], 0);
  copy(be, x, { offset, strides: xs }, out, dense(size), size);
  return out;
}

function sliceKernels(backendName: string): KernelConfig[] {
  return [
    deviceKernel('Slice', backendName, ({ inputs, attrs }, be) => {
      const x = inputs.x as TensorInfo;
      if (!movable(x)) return null;
      const [begin, size] = slice_util.parseSliceParams(x as never, attrs?.begin as number[], attrs?.size as number[]);
      slice_util.assertParamsValid(x as never, begin, size);
      return sliceOf(be, x, begin, size);
    }),
    deviceKernel('StridedSlice', backendName, ({ inputs, attrs }, be) => {
      const x = inputs.x as TensorInfo;
      if (!movable(x)) return null;
      const a = attrs as Record<string, number | number[]>;
      const info = slice_util.sliceInfo(
        x.shape,
        a.begin as number[],
        a.end as number[],
        a.strides as number[],
        a.beginMask as number,
        a.endMask as number,
        a.ellipsisMask as number,
        a.newAxisMask as number,
        a.shrinkAxisMask as number,
      );
      if (info.isIdentity) return be.shareAs(x, info.finalShape);
      // every dimension of x walked from begin by its stride (shrunk axes have size 1; new axes add 1s to finalShape only)
      const sizes = info.begin.map((b, d) => Math.max(0, Math.ceil((info.end[d] - b) / info.strides[d])));
      if (sizes.length > MAX_RANK || sizeOf(sizes) !== sizeOf(info.finalShape)) return null;
      const xs = stridesOf(x.shape);
      const out = be.makeOutput(info.finalShape, x.dtype);
      const offset = info.begin.reduce((acc, b, d) => acc + b * xs[d], 0);
      copy(be, x, { offset, strides: info.strides.map((s, d) => s * xs[d]) }, out, dense(sizes), sizes);
      return out;
    }),
  ];
}

function joinKernels(backendName: string): KernelConfig[] {
  return [
    deviceKernel('Concat', backendName, ({ inputs, attrs }, be) => {
      const list = Object.values(inputs) as TensorInfo[];
      if (!movable(...list) || list.some((t) => t.dtype !== list[0].dtype)) return null;
      const axis = util.parseAxisParam(attrs?.axis as number, list[0].shape)[0];
      const shape = [...list[0].shape];
      shape[axis] = list.reduce((n, t) => n + t.shape[axis], 0);
      const out = be.makeOutput(shape, list[0].dtype);
      const os = stridesOf(shape);
      let at = 0;
      for (const t of list) {
        copy(be, t, dense(t.shape), out, { offset: at * os[axis], strides: os }, t.shape);
        at += t.shape[axis];
      }
      return out;
    }),
    deviceKernel('Pack', backendName, ({ inputs, attrs }, be) => {
      const list = Object.values(inputs) as TensorInfo[];
      const first = list[0];
      if (first.shape.length + 1 > MAX_RANK || !movable(...list) || list.some((t) => t.dtype !== first.dtype))
        return null;
      const axis =
        (attrs?.axis as number) < 0 ? first.shape.length + 1 + (attrs?.axis as number) : (attrs?.axis as number);
      const shape = [...first.shape];
      shape.splice(axis, 0, list.length);
      const out = be.makeOutput(shape, first.dtype);
      const os = stridesOf(shape);
      list.forEach((t, k) =>
        copy(be, t, dense(t.shape), out, { offset: k * os[axis], strides: without(os, axis) }, t.shape),
      );
      return out;
    }),
  ];
}

function splitKernels(backendName: string): KernelConfig[] {
  return [
    deviceKernel('Unpack', backendName, ({ inputs, attrs }, be) => {
      const x = inputs.value as TensorInfo;
      if (!movable(x)) return null;
      const axis = util.parseAxisParam(attrs?.axis as number, x.shape)[0];
      const xs = stridesOf(x.shape);
      const shape = without(x.shape, axis);
      return Array.from({ length: x.shape[axis] }, (_, k) => {
        const out = be.makeOutput(shape, x.dtype);
        copy(be, x, { offset: k * xs[axis], strides: without(xs, axis) }, out, dense(shape), shape);
        return out;
      });
    }),
    deviceKernel('SplitV', backendName, ({ inputs, attrs }, be) => {
      const x = inputs.x as TensorInfo;
      if (!movable(x)) return null;
      const axis = util.parseAxisParam(attrs?.axis as number, x.shape)[0];
      const sizes = backend_util.prepareSplitSize(x as never, attrs?.numOrSizeSplits as number | number[], axis);
      const begin = new Array<number>(x.shape.length).fill(0);
      return sizes.map((s) => {
        const size = [...x.shape];
        size[axis] = s;
        const out = sliceOf(be, x, begin, size);
        begin[axis] += s;
        return out;
      });
    }),
  ];
}

function padTileKernels(backendName: string): KernelConfig[] {
  return [
    deviceKernel('PadV2', backendName, ({ inputs, attrs }, be) => {
      const x = inputs.x as TensorInfo;
      const code = dtypeCode(x.dtype);
      if (!movable(x) || code === null) return null;
      const paddings = attrs?.paddings as [number, number][];
      const shape = x.shape.map((n, d) => paddings[d][0] + n + paddings[d][1]);
      const out = be.makeOutput(shape, x.dtype);
      be.addon.fill(be.handle(out), code, sizeOf(shape), Number(attrs?.constantValue ?? 0), 0);
      const os = stridesOf(shape);
      const offset = paddings.reduce((acc, [before], d) => acc + before * os[d], 0);
      copy(be, x, dense(x.shape), out, { offset, strides: os }, x.shape);
      return out;
    }),
    deviceKernel('Tile', backendName, ({ inputs, attrs }, be) => {
      const x = inputs.x as TensorInfo;
      if (!movable(x)) return null;
      const reps = attrs?.reps as number[];
      const shape = x.shape.map((n, d) => n * reps[d]);
      const out = be.makeOutput(shape, x.dtype);
      copy(be, x, dense(x.shape), out, dense(shape), shape, [...x.shape]);
      return out;
    }),
    deviceKernel('BroadcastTo', backendName, ({ inputs, attrs }, be) => {
      const x = inputs.x as TensorInfo;
      const shape = attrs?.shape as number[];
      if (!movable(x) || shape.length > MAX_RANK) return null;
      const out = be.makeOutput(shape, x.dtype);
      copy(be, x, { offset: 0, strides: broadcastStrides(x.shape, shape) }, out, dense(shape), shape);
      return out;
    }),
  ];
}

export function layoutKernels(backendName: string): KernelConfig[] {
  return [
    ...metadataKernels(backendName),
    transposeKernel(backendName),
    ...sliceKernels(backendName),
    ...joinKernels(backendName),
    ...splitKernels(backendName),
    ...padTileKernels(backendName),
  ];
}
