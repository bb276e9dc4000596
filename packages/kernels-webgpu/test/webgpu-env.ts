/**
 * Shared test setup: WebGPU through Dawn (npm `webgpu`) on whatever adapter exists — SwiftShader on
 * machines without a GPU. Call `await useWebGPU()` at the top level of a test file, then
 * `describe.skipIf(!gpu.ok)`. Without an adapter the tests skip with the reason printed, except
 * under CI (any truthy CI, tools/test-env.mjs), where the file fails naming what is missing: CI must never
 * pass with WebGPU silently untested.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { WebGPUBackend } from '@tensorflow/tfjs-backend-webgpu';
import { installNodeWebGPU } from '../src/node.js';
import { tuneForAdapter } from '../src/adapter.js';
import { skipUnlessCI } from '../../../tools/test-env.mjs';

export type GpuEnv = { ok: true; adapter: string; software: boolean } | { ok: false; reason: string };

let env: Promise<GpuEnv> | null = null;

/**
 * WebGPU validation errors (an invalid pipeline, too many bindings) do not throw: the command
 * buffer is dropped and its results read as zeros. Tests collect them here and assert none.
 */
export const gpuErrors: string[] = [];

async function setup(): Promise<GpuEnv> {
  const gpu = await installNodeWebGPU();
  if (!gpu.ok) return gpu;
  // Order matters: tfjs-backend-webgpu registers its backend at import only if navigator.gpu exists.
  await import('@tensorflow/tfjs-backend-cpu');
  await import('@tensorflow/tfjs-backend-webgpu');
  await import('@tensorflow/tfjs-core/dist/register_all_gradients');
  await import('../src/register.js');
  if (!(await tf.setBackend('webgpu')))
    return { ok: false, reason: 'tf.setBackend("webgpu") failed to initialise the backend' };
  await tf.ready();
  tuneForAdapter();
  const device = (tf.backend() as WebGPUBackend).device;
  device.addEventListener('uncapturederror', (e) => gpuErrors.push((e as GPUUncapturedErrorEvent).error.message));
  return { ok: true, adapter: gpu.adapter, software: gpu.software };
}

export async function useWebGPU(): Promise<GpuEnv> {
  env ??= setup();
  const result = await env;
  // Under CI this throws, naming what is missing (Dawn, an adapter, SwiftShader's ICD).
  skipUnlessCI('the kernels-webgpu WebGPU tests', result.ok ? null : result.reason);
  return result;
}
