import { getKernel, registerKernel, unregisterKernel, type KernelConfig } from '@tensorflow/tfjs-core';
import { addNReplacement } from './addn.js';
import { composeBackwardWebGPUConfig, composeWebGPUConfig } from './compose/compose-kernels.js';
import { decodeAttentionWebGPUConfig } from './decode/decode-attention.js';
import { compactMatMulWebGPUConfig } from './compact/compact-matmul.js';

export const WEBGPU_KERNEL_CONFIGS: readonly KernelConfig[] = [
  composeWebGPUConfig,
  composeBackwardWebGPUConfig,
  decodeAttentionWebGPUConfig,
  compactMatMulWebGPUConfig,
];

function replace(config: KernelConfig): void {
  const existing = getKernel(config.kernelName, config.backendName);
  if (existing?.kernelFunc === config.kernelFunc) return;
  if (existing !== undefined) unregisterKernel(config.kernelName, config.backendName);
  registerKernel(config);
}

/**
 * Registers this package's kernels for 'webgpu'; idempotent. A kernel already registered under the
 * same name (the reference Compose that @dcformer/kernels registers lazily when dcmhaCompose ran on
 * webgpu before this call, or a second copy of this package) is replaced rather than shadowed with
 * tfjs's "already registered" warning. Also wraps tfjs's AddN (addn.ts), so import
 * @tensorflow/tfjs-backend-webgpu before this.
 */
export function registerWebGPUKernels(): void {
  for (const config of WEBGPU_KERNEL_CONFIGS) replace(config);
  const addN = addNReplacement();
  if (addN !== null) replace(addN);
}

/** Removes this package's compose kernels again (tests, or to compare against the reference). */
export function unregisterWebGPUKernels(): void {
  for (const config of WEBGPU_KERNEL_CONFIGS) {
    if (getKernel(config.kernelName, config.backendName)?.kernelFunc === config.kernelFunc) {
      unregisterKernel(config.kernelName, config.backendName);
    }
  }
}
