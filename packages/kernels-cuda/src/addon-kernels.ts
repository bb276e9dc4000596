/**
 * The kernels of @dcformer/kernels as tfjs kernels on a backend that keeps its tensors in host
 * Float32Arrays (the `cpu` backend), computed by either build of the addon. With the host build this
 * is how the tests run the conformance suites of @dcformer/kernels/testing against the CUDA sources'
 * arithmetic; with the device build it runs the GPU kernels from host tensors (one copy each way per
 * call); the `cuda` backend (backend.ts) keeps tensors in device memory instead.
 *
 * The tfjs side (inputs, fallback to the reference ops for anything not held as float32/int32 host
 * arrays, outputs) is @dcformer/kernels' host adapter, the same code kernels-cpu registers.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { KernelConfig } from '@tensorflow/tfjs-core';
import {
  DcAdamWUpdate,
  DcGelu,
  DcGeluBackward,
  DcRmsNorm,
  DcRmsNormBackward,
  DcRope,
  DcSoftmaxCrossEntropy,
  DcSoftmaxCrossEntropyBackward,
  DcmhaCompose,
  DcmhaComposeBackward,
  InputError,
  hostFusedKernels,
  isHostBackend,
} from '@dcformer/kernels';
import type { CudaAddon } from './native.js';

/** The kernel configs for `backendName`, each computed by `addon`. */
export function addonKernels(addon: CudaAddon, backendName = 'cpu'): KernelConfig[] {
  return hostFusedKernels(addon, backendName);
}

/**
 * Registers `addonKernels` on a backend that holds tensors in host arrays (replacing what was
 * registered under those names) and returns their names. Refuses a backend that does not.
 */
export function registerAddonKernels(addon: CudaAddon, backendName = 'cpu'): string[] {
  if (!isHostBackend(tf.findBackend(backendName))) {
    throw new InputError(
      `registerAddonKernels: 'backendName' must name a registered backend that keeps tensors in host arrays (like 'cpu'); got '${backendName}'`,
    );
  }
  return addonKernels(addon, backendName).map((config) => {
    if (tf.getKernel(config.kernelName, backendName) !== undefined) tf.unregisterKernel(config.kernelName, backendName);
    tf.registerKernel(config);
    return config.kernelName;
  });
}

/** Removes what registerAddonKernels registered; the reference kernels register themselves again on next use. */
export function unregisterAddonKernels(backendName = 'cpu'): void {
  for (const name of [
    DcmhaCompose,
    DcmhaComposeBackward,
    DcRmsNorm,
    DcRmsNormBackward,
    DcRope,
    DcGelu,
    DcGeluBackward,
    DcSoftmaxCrossEntropy,
    DcSoftmaxCrossEntropyBackward,
    DcAdamWUpdate,
  ]) {
    if (tf.getKernel(name, backendName) !== undefined) tf.unregisterKernel(name, backendName);
  }
}
