/**
 * What tfjs-backend-wasm 4.22 lacks or does slowly for training, in TypeScript over its own kernels
 * and heap (no package ships fused wasm kernels).
 *
 * - UnsortedSegmentSum is the gradient of gather, i.e. of the token embedding: without it no model
 *   trains on wasm. A scatter-add, O(|x|).
 * - BatchMatMul: wasm's XNNPACK path (~10–25 GFLOP/s) serves only a rank-2 product without
 *   transposes; a transposed or batched one falls to a naive loop at 0.6–2 GFLOP/s (DESIGN.md
 *   "Backends"), and training is mostly such products (every gradient has a transpose; attention is
 *   batched over heads). The wrapper transposes explicitly (a copy, O(size)) and feeds the XNNPACK
 *   path rank-2 products: one for a batch against a shared matrix, one per batch entry otherwise
 *   (with numpy broadcasting of the batch dims, which wasm's own loop gets wrong crosswise:
 *   [2,1,…]·[1,3,…]). Entries too small to pay for a call stay on wasm's loop.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { DataType, KernelConfig, KernelFunc, NamedAttrMap, TensorInfo } from '@tensorflow/tfjs-core';
import { batchBroadcast } from '@dcformer/kernels';

/** What the kernels use of tfjs-backend-wasm's BackendWasm (its class is not exported as a type we can depend on). */
interface WasmHeap {
  readSync(dataId: unknown): ArrayLike<number>;
  makeOutput(shape: number[], dtype: DataType): TensorInfo;
  typedArrayFromHeap(info: TensorInfo): Float32Array | Int32Array | Uint8Array;
  disposeData(dataId: unknown): boolean;
}

/** The wasm backend as the members above (what a kernel gets is typed as the generic KernelBackend). */
const heapOf = (backend: unknown): WasmHeap => backend as WasmHeap;

const unsortedSegmentSum: KernelFunc = ({ inputs, backend, attrs }) => {
  const { x, segmentIds } = inputs as { x: TensorInfo; segmentIds: TensorInfo };
  const { numSegments } = attrs as NamedAttrMap as { numSegments: number };
  // tfjs's op checks that segmentIds' shape is a prefix of x's; each id owns an inner block.
  const lead = segmentIds.shape.length;
  const inner = x.shape.slice(lead).reduce((p, d) => p * d, 1);
  const heap = heapOf(backend);
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

const size = (shape: readonly number[]) => shape.reduce((p, d) => p * d, 1);

/**
 * Products per batch entry cost a kernel call each (~tens of µs); below this many multiply-adds per
 * entry wasm's own batched loop is as fast.
 */
const MIN_MACS_PER_ENTRY = 32 * 1024;

function batchMatMulVia(wasmBatchMatMul: KernelFunc): KernelFunc {
  return ({ inputs, backend, attrs }) => {
    let { a, b } = inputs as { a: TensorInfo; b: TensorInfo };
    const { transposeA, transposeB } = attrs as NamedAttrMap as { transposeA: boolean; transposeB: boolean };
    const heap = heapOf(backend);
    const plain: NamedAttrMap = { transposeA: false, transposeB: false };
    const aOuter = a.shape.slice(0, -2);
    const bOuter = b.shape.slice(0, -2);
    const M = transposeA ? a.shape[a.shape.length - 1] : a.shape[a.shape.length - 2];
    const K = transposeA ? a.shape[a.shape.length - 2] : a.shape[a.shape.length - 1];
    const N = transposeB ? b.shape[b.shape.length - 2] : b.shape[b.shape.length - 1];
    const batchA = size(aOuter);
    const batchB = size(bOuter);
    const entryWise = batchB === 1 || M * N * K >= MIN_MACS_PER_ENTRY;
    if (a.dtype !== 'float32' || b.dtype !== 'float32' || M * N * K === 0 || !entryWise) {
      return wasmBatchMatMul({ inputs, backend, attrs }) as TensorInfo;
    }
    const bc = batchBroadcast(aOuter, bOuter);
    if (bc === null) return wasmBatchMatMul({ inputs, backend, attrs }) as TensorInfo; // its own shape error
    const outer = bc.outer;
    const outShape = [...outer, M, N];
    const temps: TensorInfo[] = [];
    const swapLast = (x: TensorInfo): TensorInfo => {
      const perm = x.shape.map((_, i) => i);
      [perm[perm.length - 2], perm[perm.length - 1]] = [perm[perm.length - 1], perm[perm.length - 2]];
      const t = tf
        .getKernel('Transpose', 'wasm')!
        .kernelFunc({ inputs: { x }, backend, attrs: { perm } }) as TensorInfo;
      temps.push(t);
      return t;
    };
    if (transposeA) a = swapLast(a);
    if (transposeB) b = swapLast(b);
    try {
      if (batchB === 1) {
        // Every entry of a against the one b: a single [batchA·M, K] · [K, N] product.
        const out = wasmBatchMatMul({
          inputs: { a: { ...a, shape: [batchA * M, K] }, b: { ...b, shape: [K, N] } },
          backend,
          attrs: plain,
        }) as TensorInfo;
        out.shape = outShape;
        return out;
      }
      const out = heap.makeOutput(outShape, 'float32');
      for (let i = 0; i < size(outer); i++) {
        const [ea, eb] = bc.entries(i);
        const ai = batchA === 1 ? { ...a, shape: [M, K] } : entry(heap, a, ea, [M, K]);
        const bi = entry(heap, b, eb, [K, N]);
        const ci = wasmBatchMatMul({ inputs: { a: ai, b: bi }, backend, attrs: plain }) as TensorInfo;
        // views after the calls: the heap may have grown (and moved) during them
        heap.typedArrayFromHeap(out).set(heap.typedArrayFromHeap(ci), i * M * N);
        if (ai.dataId !== a.dataId) heap.disposeData(ai.dataId);
        heap.disposeData(bi.dataId);
        heap.disposeData(ci.dataId);
      }
      return out;
    } finally {
      for (const t of temps) heap.disposeData(t.dataId);
    }
  };
}

/** Entry i of x's leading (batch) dims as a fresh [rows, cols] tensor. */
function entry(heap: WasmHeap, x: TensorInfo, i: number, shape: [number, number]): TensorInfo {
  const n = shape[0] * shape[1];
  const out = heap.makeOutput(shape, x.dtype);
  heap.typedArrayFromHeap(out).set(heap.typedArrayFromHeap(x).subarray(i * n, (i + 1) * n));
  return out;
}

/**
 * The kernels to register on 'wasm' once tfjs-backend-wasm is imported: the missing
 * UnsortedSegmentSum, and BatchMatMul wrapped around wasm's own (kept as the inner product and the
 * fallback, with its set-up function).
 */
export function wasmKernels(): KernelConfig[] {
  const configs: KernelConfig[] = [];
  if (tf.getKernel('UnsortedSegmentSum', 'wasm') === undefined) {
    configs.push({ kernelName: 'UnsortedSegmentSum', backendName: 'wasm', kernelFunc: unsortedSegmentSum });
  }
  const own = tf.getKernel('BatchMatMul', 'wasm');
  if (own !== undefined && !wrapped.has(own.kernelFunc)) {
    const kernelFunc = batchMatMulVia(own.kernelFunc);
    wrapped.add(kernelFunc);
    tf.unregisterKernel('BatchMatMul', 'wasm');
    configs.push({ ...own, kernelFunc });
  }
  return configs;
}

const wrapped = new WeakSet<KernelFunc>();
