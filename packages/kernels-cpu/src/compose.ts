/**
 * Fused DcmhaCompose for the cpu backend (native, one pass per (b,t) row; see native/compose.cc),
 * and its backward as kernel `DcmhaComposeBackward`: inputs [...composeInputNames(attrs), dy],
 * outputs the gradients in the same order. Shapes are validated by `dcmhaCompose` before the
 * kernel runs; anything not float32 in backend memory falls back to the reference. The tfjs side is
 * @dcformer/kernels' host adapter, shared with kernels-cuda.
 */
import type { KernelConfig } from '@tensorflow/tfjs-core';
import { hostComposeBackwardKernel, hostComposeKernel } from '@dcformer/kernels';
import { uninitializedF32 } from './backend-data.js';
import type { NativeAddon } from './native.js';

export function fusedComposeKernel(addon: NativeAddon, backendName = 'cpu'): KernelConfig {
  return hostComposeKernel(addon, backendName, uninitializedF32);
}

export function fusedComposeBackwardKernel(addon: NativeAddon, backendName = 'cpu'): KernelConfig {
  return hostComposeBackwardKernel(addon, backendName, uninitializedF32);
}
