import * as tf from '@tensorflow/tfjs-core';
import type { GradConfig, KernelConfig } from '@tensorflow/tfjs-core';

/**
 * Lazy registration of a kernel's reference implementation: the first call of an op on a backend
 * that has no kernel of that name registers the reference (tfjs ops) there, and the gradient once.
 * Backend packages register fused kernels under the same name first, and win.
 */
export interface ReferenceRegistry {
  /** Registers the gradient and, for the active backend, the reference kernel if none is there. */
  ensure(): void;
  /** True when `backendName` runs the reference (no fused kernel replaced it). */
  isReference(backendName: string): boolean;
}

export function referenceRegistry(
  kernelName: string,
  reference: (backendName: string) => KernelConfig,
  grad?: GradConfig,
): ReferenceRegistry {
  const registered = new Map<string, KernelConfig['kernelFunc']>();
  return {
    ensure() {
      if (grad !== undefined && tf.getGradient(kernelName) === undefined) tf.registerGradient(grad);
      const backendName = tf.getBackend();
      if (tf.getKernel(kernelName, backendName) === undefined) {
        const config = reference(backendName);
        tf.registerKernel(config);
        registered.set(backendName, config.kernelFunc);
      }
    },
    isReference(backendName) {
      const kernel = tf.getKernel(kernelName, backendName);
      return kernel !== undefined && kernel.kernelFunc === registered.get(backendName);
    },
  };
}
