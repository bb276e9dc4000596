/** Fused RMSNorm for the cpu backend (native/rms-norm.cc): kernels `DcRmsNorm` and `DcRmsNormBackward`. */
// The tfjs side (inputs, fallback, outputs) is @dcformer/kernels' host adapter, shared with kernels-cuda.
import type { KernelConfig } from '@tensorflow/tfjs-core';
import { hostRmsNormKernel, hostRmsNormBackwardKernel } from '@dcformer/kernels';
import { uninitializedF32 } from './backend-data.js';
import type { NativeAddon } from './native.js';

export function fusedRmsNormKernel(addon: NativeAddon, backendName = 'cpu'): KernelConfig {
  return hostRmsNormKernel(addon, backendName, uninitializedF32);
}

export function fusedRmsNormBackwardKernel(addon: NativeAddon, backendName = 'cpu'): KernelConfig {
  return hostRmsNormBackwardKernel(addon, backendName, uninitializedF32);
}
