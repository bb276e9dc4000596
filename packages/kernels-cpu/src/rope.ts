/** Fused rotary embedding for the cpu backend (native/rope.cc): kernel `DcRope` of @dcformer/kernels. */
// The tfjs side (inputs, fallback, outputs) is @dcformer/kernels' host adapter, shared with kernels-cuda.
import type { KernelConfig } from '@tensorflow/tfjs-core';
import { hostRopeKernel } from '@dcformer/kernels';
import { uninitializedF32 } from './backend-data.js';
import type { NativeAddon } from './native.js';

export function fusedRopeKernel(addon: NativeAddon, backendName = 'cpu'): KernelConfig {
  return hostRopeKernel(addon, backendName, uninitializedF32);
}
