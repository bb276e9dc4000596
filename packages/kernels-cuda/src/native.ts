/**
 * Loading the two builds of native/ (scripts/build-native.mjs): the device addon
 * (build/dcformer_cuda.node, nvcc) and the host addon (build/host/dcformer_cuda_host.node, a C++
 * compiler: the same kernel sources run on the CPU). Both expose the same entry points, so anything
 * written against `CudaAddon` runs on either; the host build is how CI checks the kernels' arithmetic.
 */
import { createRequire } from 'node:module';
import { InputError, KernelError, ShapeError, type HostGemmAddon, type HostKernelAddon } from '@dcformer/kernels';

export type AddonVariant = 'device' | 'host';

/** What `status()` of either build returns. */
export interface AddonStatus {
  available: boolean;
  /** '' when available; otherwise why not, e.g. `cudaGetDeviceCount: CUDA error 35 (cudaErrorInsufficientDriver): …`. */
  reason: string;
  variant: AddonVariant;
  device: string;
  /** 'cublas' | 'tiled' | 'none' */
  gemm: string;
}

/**
 * The entry points. Every array is a host typed array (the addon copies inputs to device memory,
 * runs the kernel, copies outputs back) or a device buffer handle (used in place); it throws (TypeError / RangeError / Error naming the
 * function and argument) on a wrong argument or a CUDA error.
 */
// Compose, the element-wise kernels and the GEMM: @dcformer/kernels' HostKernelAddon and HostGemmAddon (the tfjs side is shared too).
// Every array argument of them also takes a device buffer handle (native/call.h): the `cuda`
// backend calls the same entry points on the buffers its tensors live in (src/kernels/fused.ts).
export interface CudaAddon extends HostKernelAddon, HostGemmAddon, DeviceOps {
  status(): AddonStatus;
  /** The same entry points typed for device buffer handles in place of arrays (the same functions). */
  onDevice: DeviceKernelEntries;
  /**
   * DCMHA's dynamic weight projection, forward (G = 1): x [X,D], dw1 [D,4,K], qkw [4,K,2I,N], dd [D,4N]
   * → w1, w2 [4,X,I,N] (w1 RMS-normalised over N, eps 1e-6), ddOut [X,4,N] (tanh). K ≤ 256, N ≤ 64.
   */
  dynamicWeights(
    x: Float32Array,
    dw1: Float32Array,
    qkw: Float32Array,
    dd: Float32Array,
    w1: Float32Array,
    w2: Float32Array,
    ddOut: Float32Array,
    X: number,
    D: number,
    K: number,
    I: number,
    N: number,
  ): void;
  /**
   * One DCMHA decode step (T = 1) over the cache: scores q·kᵀ·scale, pre-Compose, keys s < lo[b]
   * masked, softmax, post-Compose, ·v. q [B,N,E]; k, v [B,N,S,E]; Compose weights with T = 1 (query
   * side [B,I,N] / [B,N], key side [B,S,I,N] / [B,S,N], null when off); lo [B] in [0, S); out [B,N,E].
   */
  decodeAttention(
    q: Float32Array,
    k: Float32Array,
    v: Float32Array,
    preQw1: Float32Array | null,
    preQw2: Float32Array | null,
    preQdd: Float32Array | null,
    preKw1: Float32Array | null,
    preKw2: Float32Array | null,
    preKdd: Float32Array | null,
    postQw1: Float32Array | null,
    postQw2: Float32Array | null,
    postQdd: Float32Array | null,
    postKw1: Float32Array | null,
    postKw2: Float32Array | null,
    postKdd: Float32Array | null,
    lo: Int32Array,
    out: Float32Array,
    B: number,
    N: number,
    S: number,
    E: number,
    I: number,
    scale: number,
  ): void;
}

/** A device buffer: a handle into the addon's table (native/buffers.h), never a raw pointer. */
export type DeviceBuffer = number;

/** An entry point with a device buffer handle in place of each typed array (null stays allowed where it was). */
type OnDevice<F> = F extends (...args: infer A) => infer R
  ? (
      ...args: {
        [K in keyof A]: A[K] extends Float32Array | Int32Array
          ? DeviceBuffer
          : A[K] extends Float32Array | null
            ? DeviceBuffer | null
            : A[K];
      }
    ) => R
  : never;

type FusedEntries = HostKernelAddon & HostGemmAddon;
/** The fused kernels' and the GEMM's entry points called on device buffers (native/call.h takes either). */
export type DeviceKernelEntries = { [K in keyof FusedEntries]: OnDevice<FusedEntries[K]> };

/**
 * The device-buffer API and the generic kernels of the `cuda` backend (native/addon-ops.cc). In the
 * host build the "device" is host memory behind the same calls, so the backend runs unchanged in
 * CI. Operands are buffer handles; shapes and strides are arrays of at most 8 integers. Op and dtype
 * codes: src/kernels/codes.ts.
 */
export interface DeviceOps {
  bufferAlloc(bytes: number): DeviceBuffer;
  bufferFree(handle: DeviceBuffer): void;
  /** The array's bytes to the start of the buffer. */
  bufferUpload(handle: DeviceBuffer, values: ArrayBufferView): void;
  /** The buffer's first bytes into the array (after the queued kernels finish). */
  bufferDownload(handle: DeviceBuffer, out: ArrayBufferView): void;
  bufferCopy(dst: DeviceBuffer, src: DeviceBuffer, bytes: number): void;
  /** Live buffers in this process (every backend instance together). */
  bufferStats(): { bytes: number; count: number };
  unary(op: number, x: DeviceBuffer, y: DeviceBuffer, n: number, alpha: number, beta: number): void;
  binary(
    op: number,
    dtype: number,
    a: DeviceBuffer,
    b: DeviceBuffer,
    out: DeviceBuffer,
    shape: number[],
    stridesA: number[],
    stridesB: number[],
  ): void;
  select(
    cond: DeviceBuffer,
    a: DeviceBuffer,
    b: DeviceBuffer,
    out: DeviceBuffer,
    shape: number[],
    stridesA: number[],
    stridesB: number[],
    stridesCond: number[],
  ): void;
  cast(x: DeviceBuffer, from: number, y: DeviceBuffer, to: number, n: number): void;
  fill(y: DeviceBuffer, dtype: number, n: number, start: number, step: number): void;
  stridedCopy(
    elemBytes: number,
    src: DeviceBuffer,
    srcOffset: number,
    dst: DeviceBuffer,
    dstOffset: number,
    shape: number[],
    srcStrides: number[],
    dstStrides: number[],
    mod: number[] | null,
  ): void;
  reduceRows(op: number, x: DeviceBuffer, y: DeviceBuffer, rows: number, cols: number): void;
  softmaxRows(x: DeviceBuffer, y: DeviceBuffer, rows: number, cols: number, logSoftmax: boolean): void;
  gather(
    elemBytes: number,
    x: DeviceBuffer,
    idx: DeviceBuffer,
    out: DeviceBuffer,
    outer: number,
    N: number,
    nIdx: number,
    inner: number,
  ): void;
  segmentSum(x: DeviceBuffer, ids: DeviceBuffer, out: DeviceBuffer, n: number, inner: number, segments: number): void;
}

const FILES: Record<AddonVariant, string> = {
  device: '../build/dcformer_cuda.node',
  host: '../build/host/dcformer_cuda_host.node',
};

const HOW: Record<AddonVariant, string> = {
  device: 'build it with `npx dcformer-kernels-cuda` (needs nvcc and a C++ compiler)',
  host: 'build it with `npx dcformer-kernels-cuda --host` (needs a C++ compiler with OpenMP)',
};

const loaded: Partial<Record<AddonVariant, { addon: CudaAddon | null; reason: string }>> = {};

/** The addon's errors carry a code (native/addon.cc); rethrow them as the typed errors of @dcformer/kernels. */
function retyped(e: unknown): unknown {
  const { code, message } = e as { code?: string; message: string };
  if (code === 'shape') return new ShapeError(message);
  if (code === 'input') return new InputError(message);
  if (code === 'kernel') return new KernelError(message);
  return e;
}

function withTypedErrors(raw: Record<string, unknown>): CudaAddon {
  const out: Record<string, unknown> = {};
  // the addon's properties are not enumerable (napi_default): list them all
  for (const name of Object.getOwnPropertyNames(raw)) {
    const f = raw[name];
    out[name] =
      typeof f !== 'function'
        ? f
        : (...args: unknown[]) => {
            try {
              return (f as (...a: unknown[]) => unknown)(...args);
            } catch (e) {
              throw retyped(e);
            }
          };
  }
  // every entry point takes a handle where it takes an array: the device-typed view is the same object
  out.onDevice = out;
  // A native module's exports are untyped: here they get their declared type (the conformance tests check it).
  return out as unknown as CudaAddon;
}

/** The addon of one build, loaded once; null with the reason when it is missing or fails to load. */
export function loadAddon(variant: AddonVariant = 'device'): { addon: CudaAddon | null; reason: string } {
  const cached = loaded[variant];
  if (cached) return cached;
  if (typeof process !== 'undefined' && process.env?.DCFORMER_NATIVE === '0')
    return (loaded[variant] = { addon: null, reason: 'disabled by DCFORMER_NATIVE=0' });
  try {
    const require = createRequire(import.meta.url);
    const addon = withTypedErrors(require(FILES[variant]) as Record<string, unknown>);
    return (loaded[variant] = { addon, reason: `${variant} addon loaded` });
  } catch (e) {
    const why = (e as Error).message.split('\n')[0];
    return (loaded[variant] = { addon: null, reason: `${variant} addon unavailable (${why}); ${HOW[variant]}` });
  }
}
