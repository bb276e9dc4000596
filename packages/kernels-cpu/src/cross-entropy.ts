/**
 * Fused softmax cross-entropy for the cpu backend (native/cross-entropy.cc): kernels
 * `DcSoftmaxCrossEntropy` and `DcSoftmaxCrossEntropyBackward` of @dcformer/kernels.
 */
// The tfjs side (inputs, fallback, outputs) is @dcformer/kernels' host adapter, shared with kernels-cuda.
import type { KernelConfig } from '@tensorflow/tfjs-core';
import { hostCrossEntropyKernel, hostCrossEntropyBackwardKernel } from '@dcformer/kernels';
import { uninitializedF32 } from './backend-data.js';
import type { NativeAddon } from './native.js';

export function fusedCrossEntropyKernel(addon: NativeAddon, backendName = 'cpu'): KernelConfig {
  return hostCrossEntropyKernel(addon, backendName);
}

export function fusedCrossEntropyBackwardKernel(addon: NativeAddon, backendName = 'cpu'): KernelConfig {
  return hostCrossEntropyBackwardKernel(addon, backendName, uninitializedF32);
}
