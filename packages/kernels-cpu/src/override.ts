/**
 * Replaces a backend's kernel with a faster one that may decline (return null) for inputs it does
 * not cover; the original kernel then runs. Keeps the originals so `restoreKernels()` can undo it.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';

export type FastKernelFunc = (
  args: Parameters<KernelFunc>[0],
  fallback: KernelFunc,
) => TensorInfo | TensorInfo[] | null;

const originals = new Map<string, KernelConfig | null>();

export function overrideKernel(kernelName: string, backendName: string, fast: FastKernelFunc): void {
  const key = `${backendName}/${kernelName}`;
  if (originals.has(key)) return; // already ours
  const original = tf.getKernel(kernelName, backendName) ?? null;
  originals.set(key, original);
  const fallback: KernelFunc = (args) => {
    if (original === null)
      throw new Error(`@dcformer/kernels-cpu: no ${kernelName} kernel on '${backendName}' for these inputs`);
    return original.kernelFunc(args);
  };
  if (original !== null) tf.unregisterKernel(kernelName, backendName);
  tf.registerKernel({
    kernelName,
    backendName,
    setupFunc: original?.setupFunc,
    disposeFunc: original?.disposeFunc,
    kernelFunc: (args) => fast(args, fallback) ?? fallback(args),
  });
}

/** Puts every overridden kernel back (tests compare fast and original paths in one process). */
export function restoreKernels(): void {
  for (const [key, original] of originals) {
    const [backendName, kernelName] = key.split('/');
    tf.unregisterKernel(kernelName, backendName);
    if (original !== null) tf.registerKernel(original);
  }
  originals.clear();
}

export function overriddenKernels(): string[] {
  return [...originals.keys()];
}
