/** Fused AdamW step for the cpu backend (native/adamw.cc): kernel `DcAdamWUpdate` of @dcformer/kernels. */
// The tfjs side (inputs, fallback, outputs) is @dcformer/kernels' host adapter, shared with kernels-cuda.
import type { KernelConfig } from '@tensorflow/tfjs-core';
import { hostAdamWKernel } from '@dcformer/kernels';
import { uninitializedF32 } from './backend-data.js';
import type { NativeAddon } from './native.js';

export function fusedAdamWKernel(addon: NativeAddon, backendName = 'cpu'): KernelConfig {
  return hostAdamWKernel(addon, backendName, uninitializedF32);
}
