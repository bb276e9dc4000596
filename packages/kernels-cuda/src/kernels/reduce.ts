/**
 * Reductions, softmax and gathers of the `cuda` backend. A reduction moves its axes to the end
 * (a transposed copy when they are not there already, as the cpu backend does) and reduces rows
 * (native/reduce.cu); Softmax / LogSoftmax are rows of the last axis (native/softmax.cu); GatherV2
 * and UnsortedSegmentSum are native/gather.cu. float32 data only (int32 indices); other dtypes fall
 * back to the cpu backend, counted.
 */
import { backend_util, util } from '@tensorflow/tfjs-core';
import type { KernelConfig, TensorInfo } from '@tensorflow/tfjs-core';
import type { CudaBackend } from '../backend.js';
import { ReduceOp } from './codes.js';
import { MAX_RANK, deviceKernel, sizeOf, stridesOf } from './kernel.js';

/** x with the axes `perm` lists moved (a transposed copy the caller frees). */
function transposed(be: CudaBackend, x: TensorInfo, perm: number[]): TensorInfo {
  const xs = stridesOf(x.shape);
  const shape = perm.map((p) => x.shape[p]);
  const out = be.makeOutput(shape, x.dtype);
  if (sizeOf(shape) > 0)
    be.addon.stridedCopy(
      4,
      be.handle(x),
      0,
      be.handle(out),
      0,
      shape,
      perm.map((p) => xs[p]),
      stridesOf(shape),
      null,
    );
  return out;
}

function reduceKernel(name: keyof typeof ReduceOp, backendName: string): KernelConfig {
  return deviceKernel(name, backendName, ({ inputs, attrs }, be) => {
    const x = inputs.x as TensorInfo;
    if (x.dtype !== 'float32' || x.shape.length > MAX_RANK) return null;
    const rank = x.shape.length;
    // no axis: every axis
    const axis = (name === 'Max' ? attrs?.reductionIndices : attrs?.axis) as number | number[] | null | undefined;
    const original = util.parseAxisParam(axis ?? x.shape.map((_, d) => d), x.shape);
    const perm = backend_util.getAxesPermutation(original, rank);
    const axes = perm === null ? original : backend_util.getInnerMostAxes(original.length, rank);
    const src = perm === null ? x : transposed(be, x, perm);
    try {
      const [outShape, reduceShape] = backend_util.computeOutAndReduceShapes(src.shape, axes);
      const rows = sizeOf(outShape);
      const cols = sizeOf(reduceShape);
      if (rows > 0 && cols === 0) return null; // an empty reduction: the cpu kernel's identities
      const arg = name === 'ArgMax' || name === 'ArgMin';
      const keep = !arg && attrs?.keepDims === true;
      const out = be.makeOutput(
        keep ? backend_util.expandShapeToKeepDim(outShape, original) : outShape,
        arg ? 'int32' : 'float32',
      );
      if (rows > 0) be.addon.reduceRows(ReduceOp[name], be.handle(src), be.handle(out), rows, cols);
      return out;
    } finally {
      if (src !== x) be.disposeData(src.dataId);
    }
  });
}

function softmaxKernel(name: 'Softmax' | 'LogSoftmax', backendName: string): KernelConfig {
  return deviceKernel(name, backendName, ({ inputs, attrs }, be) => {
    const x = inputs.logits as TensorInfo;
    const axis = (name === 'Softmax' ? attrs?.dim : attrs?.axis) as number;
    const last = x.shape.length - 1;
    if (x.dtype !== 'float32' || (axis !== -1 && axis !== last) || x.shape.length === 0) return null;
    const out = be.makeOutput(x.shape, 'float32');
    const cols = x.shape[last];
    if (sizeOf(x.shape) > 0)
      be.addon.softmaxRows(be.handle(x), be.handle(out), sizeOf(x.shape) / cols, cols, name === 'LogSoftmax');
    return out;
  });
}

function gatherKernel(backendName: string): KernelConfig {
  return deviceKernel('GatherV2', backendName, ({ inputs, attrs }, be) => {
    const { x, indices } = inputs as Record<'x' | 'indices', TensorInfo>;
    if (
      (attrs?.batchDims ?? 0) !== 0 ||
      indices.dtype !== 'int32' ||
      (x.dtype !== 'float32' && x.dtype !== 'int32' && x.dtype !== 'bool')
    )
      return null;
    const axis = util.parseAxisParam(attrs?.axis as number, x.shape)[0];
    const shape = [...x.shape.slice(0, axis), ...indices.shape, ...x.shape.slice(axis + 1)];
    const out = be.makeOutput(shape, x.dtype);
    const outer = sizeOf(x.shape.slice(0, axis));
    const inner = sizeOf(x.shape.slice(axis + 1));
    const nIdx = sizeOf(indices.shape);
    if (sizeOf(shape) > 0)
      be.addon.gather(
        x.dtype === 'bool' ? 1 : 4,
        be.handle(x),
        be.handle(indices),
        be.handle(out),
        outer,
        x.shape[axis],
        nIdx,
        inner,
      );
    return out;
  });
}

function segmentSumKernel(backendName: string): KernelConfig {
  return deviceKernel('UnsortedSegmentSum', backendName, ({ inputs, attrs }, be) => {
    const { x, segmentIds: ids } = inputs as Record<'x' | 'segmentIds', TensorInfo>;
    if (x.dtype !== 'float32' || ids.dtype !== 'int32' || ids.shape.length !== 1 || ids.shape[0] !== x.shape[0])
      return null;
    const segments = attrs?.numSegments as number;
    const shape = [segments, ...x.shape.slice(1)];
    const inner = sizeOf(x.shape.slice(1));
    const out = be.makeOutput(shape, 'float32');
    if (inner * segments > 0)
      be.addon.segmentSum(be.handle(x), be.handle(ids), be.handle(out), x.shape[0], inner, segments);
    return out;
  });
}

export function reduceKernels(backendName: string): KernelConfig[] {
  return [
    ...(Object.keys(ReduceOp) as (keyof typeof ReduceOp)[]).map((n) => reduceKernel(n, backendName)),
    softmaxKernel('Softmax', backendName),
    softmaxKernel('LogSoftmax', backendName),
    gatherKernel(backendName),
    segmentSumKernel(backendName),
  ];
}
