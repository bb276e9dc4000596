/**
 * SKELETON of the tfjs backend `cuda` (issue 20, step 4). State, plainly:
 *
 * - Implemented: tensor storage with byte accounting — held in HOST memory for now (the addon has no
 *   persistent device buffers yet, so each kernel copies its inputs to the device and its outputs
 *   back); the ten kernels of `addonKernels` (Compose ± backward, RMSNorm ± backward, RoPE, GELU ±
 *   backward, softmax cross-entropy ± backward, AdamW) and `BatchMatMul` (cuBLAS or the tiled kernel).
 * - Not implemented: every other tfjs kernel (Add, Reshape, Softmax, … — tfjs's engine throws
 *   "Kernel 'X' not registered for backend 'cuda'"), tensors resident in device memory, the per-kernel
 *   host fallback with counted copies, timing (`time()`), GPU data interop (`readToGPU`,
 *   `createTensorFromGPUData`): these throw NotImplementedError. So a model cannot run on it yet.
 *
 * The same class over the host build (`registerCudaBackend({ addon: hostAddon, name: … })`) is how
 * the tests exercise it without a GPU.
 */
import * as tf from '@tensorflow/tfjs-core';
import { DataStorage, KernelBackend } from '@tensorflow/tfjs-core';
import type {
  BackendTimingInfo,
  BackendValues,
  DataId,
  DataType,
  KernelConfig,
  TensorInfo,
} from '@tensorflow/tfjs-core';
import { NotImplementedError } from '@dcformer/kernels';
import { addonKernels } from './addon-kernels.js';
import { loadAddon, type CudaAddon } from './native.js';

interface Entry {
  values: BackendValues;
  dtype: DataType;
  shape: number[];
  refCount: number;
  bytes: number;
}

function byteLength(values: BackendValues): number {
  if (ArrayBuffer.isView(values)) return values.byteLength;
  return (values as Uint8Array[]).reduce((n, v) => n + v.length, 0);
}

export class CudaBackend extends KernelBackend {
  readonly data: DataStorage<Entry>;
  private hostBytes = 0;

  constructor(readonly addon: CudaAddon) {
    super();
    this.data = new DataStorage<Entry>(this, tf.engine());
  }

  write(values: BackendValues, shape: number[], dtype: DataType): DataId {
    const dataId = {};
    this.move(dataId, values, shape, dtype, 1);
    return dataId;
  }

  /** What kernels return: a new tensor over `values` (taken, not copied). */
  makeTensorInfo(shape: number[], dtype: DataType, values: BackendValues): TensorInfo {
    return { dataId: this.write(values, shape, dtype), shape, dtype };
  }

  move(dataId: DataId, values: BackendValues, shape: number[], dtype: DataType, refCount: number): void {
    const bytes = byteLength(values);
    this.hostBytes += bytes;
    this.data.set(dataId, { values, dtype, shape, refCount, bytes });
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
    this.hostBytes -= entry.bytes;
    this.data.delete(dataId);
    return true;
  }

  readSync(dataId: DataId): BackendValues {
    return this.data.get(dataId).values;
  }

  async read(dataId: DataId): Promise<BackendValues> {
    return this.readSync(dataId);
  }

  numDataIds(): number {
    return this.data.numDataIds();
  }

  /** Bytes held: all on the host until device-resident tensors exist (numBytesInDevice stays 0). */
  memory(): { unreliable: boolean; reasons?: string[]; numBytesInHost: number; numBytesInDevice: number } {
    return { unreliable: false, numBytesInHost: this.hostBytes, numBytesInDevice: 0 };
  }

  floatPrecision(): 16 | 32 {
    return 32;
  }

  epsilon(): number {
    return 1e-7;
  }

  timerAvailable(): boolean {
    return false;
  }

  time(): Promise<BackendTimingInfo> {
    throw new NotImplementedError("the 'cuda' backend's time() (kernel timing)");
  }

  readToGPU(): never {
    throw new NotImplementedError("the 'cuda' backend's readToGPU()");
  }

  createTensorFromGPUData(): never {
    throw new NotImplementedError("the 'cuda' backend's createTensorFromGPUData()");
  }

  dispose(): void {}
}

/** BatchMatMul through the addon's GEMM: float32, batch dims equal or one side's batch of 1 (stride 0). */
function batchMatMulKernel(backendName: string): KernelConfig {
  return {
    kernelName: 'BatchMatMul',
    backendName,
    kernelFunc: ({ inputs, attrs, backend }) => {
      const be = backend as CudaBackend;
      const { a, b } = inputs as { a: TensorInfo; b: TensorInfo };
      const { transposeA, transposeB } = attrs as { transposeA: boolean; transposeB: boolean };
      if (a.dtype !== 'float32' || b.dtype !== 'float32')
        throw new NotImplementedError(`BatchMatMul on '${backendName}' for ${a.dtype} × ${b.dtype} (float32 only)`);
      const outer = (s: number[]) => s.slice(0, -2).reduce((p, q) => p * q, 1);
      const [batchA, batchB] = [outer(a.shape), outer(b.shape)];
      if (batchA !== batchB && batchA !== 1 && batchB !== 1) {
        throw new NotImplementedError(
          `BatchMatMul on '${backendName}' with batch shapes [${a.shape.slice(0, -2)}] and [${b.shape.slice(0, -2)}] (only equal batches or a batch of 1)`,
        );
      }
      const [ra, ca] = a.shape.slice(-2);
      const [rb, cb] = b.shape.slice(-2);
      const [M, K] = transposeA ? [ca, ra] : [ra, ca];
      const N = transposeB ? rb : cb;
      const batch = Math.max(batchA, batchB);
      const c = new Float32Array(batch * M * N);
      const av = be.readSync(a.dataId) as Float32Array;
      const bv = be.readSync(b.dataId) as Float32Array;
      be.addon.gemm(
        av,
        bv,
        c,
        batch,
        M,
        N,
        K,
        transposeA,
        transposeB,
        batchA === 1 ? 0 : M * K,
        batchB === 1 ? 0 : K * N,
      );
      const batchShape = (batchA >= batchB ? a : b).shape.slice(0, -2);
      return be.makeTensorInfo([...batchShape, M, N], 'float32', c);
    },
  };
}

/**
 * Registers the backend (default name 'cuda', default addon the device build) and its kernels.
 * Does nothing, and says why, when the addon is missing or no device answers. Priority 0: tfjs
 * never picks it on its own; `tf.setBackend('cuda')` does.
 */
export function registerCudaBackend(options: { addon?: CudaAddon; name?: string } = {}): {
  registered: boolean;
  reason: string;
} {
  const name = options.name ?? 'cuda';
  const addon = options.addon ?? loadAddon('device').addon;
  if (!addon) return { registered: false, reason: loadAddon('device').reason };
  const status = addon.status();
  if (!status.available) return { registered: false, reason: status.reason };
  if (tf.findBackend(name) !== null) return { registered: true, reason: `'${name}' was already registered` };
  tf.registerBackend(name, () => new CudaBackend(addon), 0);
  for (const config of [...addonKernels(addon, name), batchMatMulKernel(name)]) tf.registerKernel(config);
  return { registered: true, reason: `${status.variant} addon on ${status.device}` };
}
