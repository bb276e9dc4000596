/** Fused exact GELU for the cpu backend (native/gelu.cc): kernels `DcGelu` and `DcGeluBackward`. */
// The tfjs side (inputs, fallback, outputs) is @dcformer/kernels' host adapter, shared with kernels-cuda.
import type { KernelConfig } from '@tensorflow/tfjs-core';
import { hostGeluKernel, hostGeluBackwardKernel } from '@dcformer/kernels';
import { uninitializedF32 } from './backend-data.js';
import type { NativeAddon } from './native.js';

export function fusedGeluKernel(addon: NativeAddon, backendName = 'cpu'): KernelConfig {
  return hostGeluKernel(addon, backendName, uninitializedF32);
}

export function fusedGeluBackwardKernel(addon: NativeAddon, backendName = 'cpu'): KernelConfig {
  return hostGeluBackwardKernel(addon, backendName, uninitializedF32);
}
