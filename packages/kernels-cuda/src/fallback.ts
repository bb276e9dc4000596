/**
 * The per-kernel host fallback of the `cuda` backend: for every kernel the `cpu` backend has and the
 * cuda backend does not, a kernel that downloads its inputs into cpu tensors, runs the cpu kernel,
 * uploads its outputs and frees the cpu copies. Each call is counted (`CudaBackend.fallbacks()`),
 * and the first of each kernel name logs one line, so a model that should run on the device can be
 * checked to run there entirely (zero fallbacks).
 *
 * The @dcformer/kernels kernels (`Dc*`) are left out: those the backend lacks run their reference
 * from plain tfjs ops on the device, which is their contract on any backend, and registering a cpu
 * fallback under their names would make callers think a fused kernel exists (hasFusedAttention).
 */
import * as tf from '@tensorflow/tfjs-core';
import type { KernelBackend, KernelConfig, NamedTensorInfoMap, TensorInfo } from '@tensorflow/tfjs-core';
import type { CudaBackend } from './backend.js';

/** Kernel configs for `backendName` covering what the cpu backend has minus `own`, and a note for the registration reason. */
export function fallbackKernels(backendName: string, own: Set<string>): { kernels: KernelConfig[]; note: string } {
  if (tf.findBackend('cpu') === null)
    return {
      kernels: [],
      note: "; no 'cpu' backend registered, so kernels without a device implementation are not registered (no fallback)",
    };
  const kernels = tf
    .getKernelsForBackend('cpu')
    .filter((k) => !own.has(k.kernelName) && !k.kernelName.startsWith('Dc'))
    .map((k) => fallbackKernel(backendName, k));
  return { kernels, note: `; ${kernels.length} kernels fall back to the cpu backend (counted)` };
}

function fallbackKernel(backendName: string, cpuKernel: KernelConfig): KernelConfig {
  return { kernelName: cpuKernel.kernelName, backendName, kernelFunc: (args) => runOnCpu(cpuKernel, args) };
}

/** Where tfjs's types and ours meet: the arguments a kernel function receives. */
type KernelArgs = Parameters<KernelConfig['kernelFunc']>[0];

/**
 * Runs the cpu backend's `kernel` on the cuda backend's inputs: counted, inputs downloaded, outputs
 * uploaded. Also what a device kernel does for a case it does not cover (src/kernels/kernel.ts).
 */
export function runOnCpu(kernel: KernelConfig, { inputs, attrs, backend }: KernelArgs): TensorInfo | TensorInfo[] {
  const device = backend as CudaBackend;
  // looked up per call: a test may remove and re-register the cpu backend
  const cpu = tf.findBackend('cpu') as KernelBackend;
  device.noteFallback(kernel.kernelName);
  const made: TensorInfo[] = [];
  const toCpu = (t: TensorInfo): TensorInfo => {
    const copy = { dataId: cpu.write(device.readSync(t.dataId), t.shape, t.dtype), shape: t.shape, dtype: t.dtype };
    made.push(copy);
    return copy;
  };
  // kernels with a variable number of inputs (Concat, AddN, Pack) get an array: keep it one
  const cpuInputs = (
    Array.isArray(inputs)
      ? inputs.map((t: TensorInfo) => toCpu(t))
      : Object.fromEntries(Object.entries(inputs).map(([k, t]) => [k, t === undefined ? t : toCpu(t)]))
  ) as NamedTensorInfoMap;
  try {
    const out = kernel.kernelFunc({ inputs: cpuInputs, attrs, backend: cpu });
    const outs = Array.isArray(out) ? out : [out];
    made.push(...outs);
    const uploaded = outs.map((o) => ({
      dataId: device.write(cpu.readSync(o.dataId), o.shape, o.dtype),
      shape: o.shape,
      dtype: o.dtype,
    }));
    return Array.isArray(out) ? uploaded : uploaded[0];
  } finally {
    // an output may be an input's dataId with its count raised (Reshape, Identity): one release each
    for (const t of made) cpu.disposeData(t.dataId);
  }
}
