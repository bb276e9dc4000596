/**
 * Kernels that tfjs-backend-wasm 4.22 lacks and training needs, in plain TypeScript over the wasm
 * heap. UnsortedSegmentSum is the gradient of gather, i.e. of the token embedding: without it no
 * model trains on wasm. A scatter-add, O(|x|).
 */
import type { DataType, KernelConfig, KernelFunc, NamedAttrMap, TensorInfo } from '@tensorflow/tfjs-core';

/** What the kernel uses of tfjs-backend-wasm's BackendWasm (its class is not exported as a type we can depend on). */
interface WasmHeap {
  readSync(dataId: unknown): ArrayLike<number>;
  makeOutput(shape: number[], dtype: DataType): TensorInfo;
  typedArrayFromHeap(info: TensorInfo): Float32Array | Int32Array | Uint8Array;
}

const unsortedSegmentSum: KernelFunc = ({ inputs, backend, attrs }) => {
  const { x, segmentIds } = inputs as { x: TensorInfo; segmentIds: TensorInfo };
  const { numSegments } = attrs as NamedAttrMap as { numSegments: number };
  // tfjs's op checks that segmentIds' shape is a prefix of x's; each id owns an inner block.
  const lead = segmentIds.shape.length;
  const inner = x.shape.slice(lead).reduce((p, d) => p * d, 1);
  const heap = backend as unknown as WasmHeap;
  const xv = heap.readSync(x.dataId);
  const ids = heap.readSync(segmentIds.dataId);
  const out = heap.makeOutput([numSegments, ...x.shape.slice(lead)], x.dtype);
  const ov = heap.typedArrayFromHeap(out);
  ov.fill(0); // makeOutput's memory is not cleared
  for (let i = 0; i < ids.length; i++) {
    const seg = ids[i];
    if (seg < 0 || seg >= numSegments) continue; // tf drops out-of-range ids
    const src = i * inner;
    const dst = seg * inner;
    for (let j = 0; j < inner; j++) ov[dst + j] += xv[src + j];
  }
  return out;
};

export const WASM_KERNELS: readonly KernelConfig[] = [
  { kernelName: 'UnsortedSegmentSum', backendName: 'wasm', kernelFunc: unsortedSegmentSum },
];
