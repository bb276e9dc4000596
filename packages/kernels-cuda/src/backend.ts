/**
 * The tfjs backend `cuda`: tensors live in device buffers of the addon (native/buffers.h), kernels
 * take and return buffer handles, and nothing crosses to the host between kernels. Reads
 * (`dataSync`, `data`) and writes (`tf.tensor`) are the only copies, plus one counted copy each way
 * for a kernel the backend has no device implementation of (src/fallback.ts): it runs the cpu
 * backend's kernel on downloaded inputs, logs one line per kernel name and counts every call
 * (`fallbacks()`).
 *
 * Over the host build of the addon (`registerCudaBackend({ addon: hostAddon, name })`) the same
 * class runs on host memory behind the same entry points: that is how CI tests it without a GPU.
 */
import * as tf from '@tensorflow/tfjs-core';
import { DataStorage, KernelBackend } from '@tensorflow/tfjs-core';
import type { BackendTimingInfo, BackendValues, DataId, DataType, TensorInfo } from '@tensorflow/tfjs-core';
import { InputError, NotImplementedError } from '@dcformer/kernels';
import { fallbackKernels } from './fallback.js';
import { dtypeCode } from './kernels/codes.js';
import { deviceKernels } from './kernels/index.js';
import { loadAddon, type CudaAddon, type DeviceBuffer } from './native.js';

interface Entry {
  handle: DeviceBuffer;
  bytes: number;
  dtype: DataType;
  /** Elements; a reshape shares the entry (same dataId) under another shape of the same size. */
  size: number;
  refCount: number;
}

/** Bytes per element on the device: bool is one byte (as the cpu backend's Uint8Array), the rest four. */
export function elementBytes(dtype: DataType): number {
  if (dtype === 'bool') return 1;
  if (dtype === 'float32' || dtype === 'int32') return 4;
  throw new NotImplementedError(`the 'cuda' backend's tensors of dtype '${dtype}' (float32, int32 and bool only)`);
}

function hostArray(dtype: DataType, size: number): Float32Array | Int32Array | Uint8Array {
  if (dtype === 'float32') return new Float32Array(size);
  if (dtype === 'int32') return new Int32Array(size);
  return new Uint8Array(size);
}

export interface CudaBackendOptions {
  /** Where the one line per fallen-back kernel name goes (default console.warn). */
  log?: (line: string) => void;
}

export class CudaBackend extends KernelBackend {
  readonly data: DataStorage<Entry>;
  private deviceBytes = 0;
  // the live handles, for dispose(): DataStorage keeps its entries in a WeakMap that cannot be walked
  private readonly live = new Set<DeviceBuffer>();
  private readonly counts = new Map<string, number>();
  private readonly log: (line: string) => void;

  constructor(
    readonly addon: CudaAddon,
    options: CudaBackendOptions = {},
  ) {
    super();
    this.data = new DataStorage<Entry>(this, tf.engine());
    this.log = options.log ?? ((line) => console.warn(line));
  }

  /** A new device buffer for `size` elements of `dtype`, registered under a new dataId (refCount 1). */
  private allocEntry(dataId: DataId, size: number, dtype: DataType, refCount: number): Entry {
    const bytes = size * elementBytes(dtype);
    const handle = this.addon.bufferAlloc(bytes);
    const entry = { handle, bytes, dtype, size, refCount };
    this.data.set(dataId, entry);
    this.live.add(handle);
    this.deviceBytes += bytes;
    return entry;
  }

  write(values: BackendValues, shape: number[], dtype: DataType): DataId {
    const dataId = {};
    this.move(dataId, values, shape, dtype, 1);
    return dataId;
  }

  move(dataId: DataId, values: BackendValues, shape: number[], dtype: DataType, refCount: number): void {
    const size = shape.reduce((a, b) => a * b, 1);
    const bytes = size * elementBytes(dtype);
    // checked before allocating: a refused write leaves nothing behind
    if (values !== null && values !== undefined && (!ArrayBuffer.isView(values) || values.byteLength !== bytes))
      throw new InputError(
        `CudaBackend.write: 'values' must be a typed array of ${bytes} bytes for ${dtype} [${shape}]; got ${ArrayBuffer.isView(values) ? `${values.byteLength} bytes` : typeof values}`,
      );
    const entry = this.allocEntry(dataId, size, dtype, refCount);
    // no values: zeros, rather than whatever the allocation held
    if (values === null || values === undefined) this.addon.fill(entry.handle, dtypeCode(dtype) ?? 0, size, 0, 0);
    else this.addon.bufferUpload(entry.handle, values);
  }

  /** An output of `shape` and `dtype` in a new device buffer, for kernels to fill. */
  makeOutput(shape: number[], dtype: DataType): TensorInfo {
    const dataId = {};
    this.allocEntry(
      dataId,
      shape.reduce((a, b) => a * b, 1),
      dtype,
      1,
    );
    return { dataId, shape, dtype };
  }

  /** A tensor of `shape` over the same buffer as `t` (Reshape, Identity, ExpandDims): no copy. */
  shareAs(t: TensorInfo, shape: number[]): TensorInfo {
    this.incRef(t.dataId);
    return { dataId: t.dataId, shape, dtype: t.dtype };
  }

  /** The device buffer holding `t`. */
  handle(t: TensorInfo): DeviceBuffer {
    return this.data.get(t.dataId).handle;
  }

  refCount(dataId: DataId): number {
    return this.data.has(dataId) ? this.data.get(dataId).refCount : 0;
  }

  incRef(dataId: DataId): void {
    this.data.get(dataId).refCount++;
  }

  disposeData(dataId: DataId, force = false): boolean {
    if (!this.data.has(dataId)) return true;
    const entry = this.data.get(dataId);
    entry.refCount--;
    if (!force && entry.refCount > 0) return false;
    this.addon.bufferFree(entry.handle);
    this.live.delete(entry.handle);
    this.deviceBytes -= entry.bytes;
    this.data.delete(dataId);
    return true;
  }

  /** Downloads the tensor's values (after the queued kernels finish). */
  readSync(dataId: DataId): BackendValues {
    const entry = this.data.get(dataId);
    const out = hostArray(entry.dtype, entry.size);
    if (entry.bytes > 0) this.addon.bufferDownload(entry.handle, out);
    return out;
  }

  async read(dataId: DataId): Promise<BackendValues> {
    return this.readSync(dataId);
  }

  numDataIds(): number {
    return this.data.numDataIds();
  }

  /** Bytes of this backend's tensors, all in device memory (host memory holds none of them). */
  memory(): { unreliable: boolean; numBytesInHost: number; numBytesInDevice: number } {
    return { unreliable: false, numBytesInHost: 0, numBytesInDevice: this.deviceBytes };
  }

  /** Calls of each kernel that ran on the cpu backend for want of a device kernel, by kernel name. */
  fallbacks(): Map<string, number> {
    return new Map(this.counts);
  }

  /** Counts one fallback call; the first of each kernel name is logged. */
  noteFallback(kernelName: string): void {
    const n = this.counts.get(kernelName) ?? 0;
    if (n === 0)
      this.log(
        `dcformer cuda: kernel '${kernelName}' has no device implementation; it runs on the cpu backend with its inputs downloaded and outputs uploaded (counted in backend.fallbacks())`,
      );
    this.counts.set(kernelName, n + 1);
  }

  floatPrecision(): 16 | 32 {
    return 32;
  }

  epsilon(): number {
    return 1e-7;
  }

  timerAvailable(): boolean {
    return true;
  }

  /** Wall time of f on the host: every launch waits for the device (native/call.h), so it includes the kernels. */
  async time(f: () => void): Promise<BackendTimingInfo> {
    const t0 = performance.now();
    f();
    return { kernelMs: performance.now() - t0 };
  }

  readToGPU(): never {
    throw new NotImplementedError("the 'cuda' backend's readToGPU()");
  }

  createTensorFromGPUData(): never {
    throw new NotImplementedError("the 'cuda' backend's createTensorFromGPUData()");
  }

  /** Frees every buffer this backend still holds (tf.removeBackend calls this). */
  dispose(): void {
    for (const handle of this.live) this.addon.bufferFree(handle);
    this.live.clear();
    this.deviceBytes = 0;
  }
}

/**
 * Registers the backend (default name 'cuda', default addon the device build, or the host build
 * with DCF_CUDA_VARIANT=host), its device kernels
 * and, when the `cpu` backend is registered, a counted fallback for every other kernel the cpu
 * backend has. Does nothing, and says why, when the addon is missing or no device answers.
 * Priority 0: tfjs never picks it on its own; `tf.setBackend('cuda')` does.
 */
export function registerCudaBackend(options: { addon?: CudaAddon; name?: string } & CudaBackendOptions = {}): {
  registered: boolean;
  reason: string;
} {
  const name = options.name ?? 'cuda';
  // DCF_CUDA_VARIANT=host: the host build stands in for the device (tests, gpu-check.sh's dry run)
  const variant = process.env.DCF_CUDA_VARIANT === 'host' ? 'host' : 'device';
  const addon = options.addon ?? loadAddon(variant).addon;
  if (!addon) return { registered: false, reason: loadAddon(variant).reason };
  const status = addon.status();
  if (!status.available) return { registered: false, reason: status.reason };
  if (tf.findBackend(name) !== null) return { registered: true, reason: `'${name}' was already registered` };
  tf.registerBackend(name, () => new CudaBackend(addon, { log: options.log }), 0);
  const own = deviceKernels(name);
  for (const config of own) tf.registerKernel(config);
  const fallback = fallbackKernels(name, new Set(own.map((k) => k.kernelName)));
  for (const config of fallback.kernels) tf.registerKernel(config);
  return { registered: true, reason: `${status.variant} addon on ${status.device}${fallback.note}` };
}
