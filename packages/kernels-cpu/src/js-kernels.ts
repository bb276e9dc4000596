/**
 * Kernels written in plain TypeScript that replace tfjs cpu kernels with pathological cost on our
 * shapes; registered with or without the native addon.
 *
 * UnsortedSegmentSum (the gradient of gather, i.e. of the token embedding): tfjs-backend-cpu builds
 * one equal+mul+sum per segment, O(numSegments · |x|) — for a 50k vocabulary minutes per training
 * step and gigabytes of garbage. A scatter-add is O(|x|).
 */
import type { NamedAttrMap, TensorInfo } from '@tensorflow/tfjs-core';
import { f32, output, sizeOf } from './backend-data.js';
import type { FastKernelFunc } from './override.js';

interface Stored {
  data: { get(id: unknown): { values?: unknown } | undefined };
}

export const unsortedSegmentSum: FastKernelFunc = ({ inputs, backend, attrs }) => {
  const { x, segmentIds } = inputs as { x: TensorInfo; segmentIds: TensorInfo };
  const { numSegments } = attrs as NamedAttrMap as { numSegments: number };
  const xv = f32(backend, x);
  const ids = (backend as Stored).data.get(segmentIds.dataId)?.values;
  if (xv === null || !(ids instanceof Int32Array || ids instanceof Float32Array)) return null;
  // segmentIds covers the leading dims of x; each id owns an inner block.
  if (segmentIds.shape.length > x.shape.length || segmentIds.shape.some((d, i) => d !== x.shape[i])) return null;
  const inner = sizeOf(x.shape.slice(segmentIds.shape.length));
  const out = new Float32Array(numSegments * inner);
  for (let i = 0; i < ids.length; i++) {
    const seg = ids[i];
    if (seg < 0 || seg >= numSegments) continue; // tf drops out-of-range ids
    const src = i * inner;
    const dst = seg * inner;
    for (let j = 0; j < inner; j++) out[dst + j] += xv[src + j];
  }
  return output(backend, [numSegments, ...x.shape.slice(segmentIds.shape.length)], out);
};
