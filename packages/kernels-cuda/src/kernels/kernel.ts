/**
 * What every device kernel of the `cuda` backend shares: a kernel config whose function runs the
 * device implementation, or — for inputs it does not cover (a dtype, a rank past 8, an attribute
 * it lacks) — the cpu backend's kernel through the counted fallback. Plus shape arithmetic.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { KernelConfig, TensorInfo } from '@tensorflow/tfjs-core';
import { NotImplementedError } from '@dcformer/kernels';
import type { CudaBackend } from '../backend.js';
import { runOnCpu } from '../fallback.js';

export type KernelArgs = Parameters<KernelConfig['kernelFunc']>[0];
export type KernelOut = TensorInfo | TensorInfo[];

/** The largest rank the strided kernels take (kMaxRank of native/kernels.h). */
export const MAX_RANK = 8;

/** `impl` on the device; when it returns null, the cpu backend's kernel (counted as a fallback). */
export function deviceKernel(
  kernelName: string,
  backendName: string,
  impl: (args: KernelArgs, backend: CudaBackend) => KernelOut | null,
): KernelConfig {
  return {
    kernelName,
    backendName,
    kernelFunc: (args) => {
      const out = impl(args, args.backend as CudaBackend);
      if (out !== null) return out;
      const cpu = tf.getKernel(kernelName, 'cpu');
      if (cpu === undefined)
        throw new NotImplementedError(
          `${kernelName} on '${backendName}' for these inputs, and the cpu backend has no ${kernelName} to fall back to`,
        );
      return runOnCpu(cpu, args);
    },
  };
}

export function sizeOf(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** Row-major element strides of `shape`. */
export function stridesOf(shape: readonly number[]): number[] {
  const s = new Array<number>(shape.length);
  for (let d = shape.length - 1, acc = 1; d >= 0; d--) {
    s[d] = acc;
    acc *= shape[d];
  }
  return s;
}

/** Strides that walk a tensor of `inShape` over the broadcast `outShape` (0 where it repeats). */
export function broadcastStrides(inShape: readonly number[], outShape: readonly number[]): number[] {
  const own = stridesOf(inShape);
  const lead = outShape.length - inShape.length;
  return outShape.map((_, d) => (d < lead || inShape[d - lead] === 1 ? 0 : own[d - lead]));
}
