/**
 * The tfjs adapter every native backend package shares for backends that keep tensors in host
 * typed arrays (tfjs's `cpu` backend; kernels-cpu's addon and kernels-cuda's host and device builds
 * both run on it): read an input's values straight from backend memory, wrap an output array as a
 * tensor, and the opening every fused kernel has — take the inputs, read their float32 values, fall
 * back to the reference when one is not there — written once, like tfjs-backend-cpu's
 * `unaryKernelFuncFromImpl`.
 */
import type { KernelConfig, KernelFunc, NamedTensorInfoMap, TensorInfo } from '@tensorflow/tfjs-core';

/** What a kernel function receives (inputs, backend, attrs). */
export type KernelArgs = Parameters<KernelFunc>[0];
/** What a kernel function returns: one output or several. */
export type KernelResult = TensorInfo | TensorInfo[];

interface HostBackend {
  data: { get(id: TensorInfo['dataId']): { values?: unknown } | undefined };
  makeTensorInfo(shape: number[], dtype: 'float32', values: Float32Array): TensorInfo;
}

function hostValues(backend: unknown, t: TensorInfo | undefined): unknown {
  return t === undefined ? undefined : (backend as Partial<HostBackend>).data?.get(t.dataId)?.values;
}

/** The float32 values of `t` in host memory (no copy), or null when the backend stores it otherwise. */
export function hostF32(backend: unknown, t: TensorInfo | undefined): Float32Array | null {
  const v = t?.dtype === 'float32' ? hostValues(backend, t) : undefined;
  return v instanceof Float32Array ? v : null;
}

/** The int32 values of `t` in host memory (no copy), or null when the backend stores it otherwise. */
export function hostI32(backend: unknown, t: TensorInfo | undefined): Int32Array | null {
  const v = t?.dtype === 'int32' ? hostValues(backend, t) : undefined;
  return v instanceof Int32Array ? v : null;
}

/** `values` as a float32 output tensor of `shape` on a host backend (the array is kept, not copied). */
export function hostOutput(backend: unknown, shape: number[], values: Float32Array): TensorInfo {
  return (backend as HostBackend).makeTensorInfo(shape, 'float32', values);
}

/** Whether `backend` keeps tensors in host arrays (has the two members the helpers above use). */
export function isHostBackend(backend: unknown): boolean {
  const b = backend as Partial<HostBackend> | null;
  return typeof b?.data?.get === 'function' && typeof b.makeTensorInfo === 'function';
}

/**
 * The inputs of a kernel run with an array (`runKernel(name, [a, b, …])`), in order. tfjs types
 * `inputs` as a map whatever was passed; for an array its values are the elements in order.
 */
export function inputList(args: KernelArgs): TensorInfo[] {
  return Object.values(args.inputs) as TensorInfo[];
}

/**
 * An input array as what tfjs's types call kernel inputs. Kernels whose number of inputs depends on
 * their attrs (Compose, attention, AddN) take an array, and tfjs passes an array through unchanged
 * (and saves it whole for the gradient); only its types say a name map. The inverse of `inputList`.
 */
export function listAsInputs<T extends TensorInfo>(list: readonly T[]): NamedTensorInfoMap & Record<string, T> {
  // The one place an array passes for tfjs's map type (see above).
  return list as unknown as NamedTensorInfoMap & Record<string, T>;
}

/**
 * A kernel config whose function reads the float32 values of the inputs `names` from host memory
 * and runs `impl(values, inputs, args)`; when an input is not a host float32 array, or `impl`
 * declines by returning null, it runs `fallback(args, inputs)` (the reference kernel, or the
 * reference ops on the inputs: runKernel hands kernels the Tensor objects themselves).
 */
export function hostKernelConfig<N extends string>(
  kernelName: string,
  backendName: string,
  names: readonly N[],
  impl: (values: Record<N, Float32Array>, inputs: Record<N, TensorInfo>, args: KernelArgs) => KernelResult | null,
  fallback: (args: KernelArgs, inputs: Record<N, TensorInfo>) => KernelResult,
): KernelConfig {
  return {
    kernelName,
    backendName,
    kernelFunc: (args) => {
      const inputs = {} as Record<N, TensorInfo>;
      const values = {} as Record<N, Float32Array>;
      let missing = false;
      for (const n of names) {
        inputs[n] = args.inputs[n] as TensorInfo;
        const v = hostF32(args.backend, inputs[n]);
        if (v === null) missing = true;
        else values[n] = v;
      }
      return (missing ? null : impl(values, inputs, args)) ?? fallback(args, inputs);
    },
  };
}
