import * as tf from '@tensorflow/tfjs-core';
import type { WebGPUBackend } from '@tensorflow/tfjs-backend-webgpu';

/** MatMulProgramType.MatMulPackedProgram in tfjs-backend-webgpu 4.22 (webgpu_util.ts). */
const MATMUL_PACKED = 3;

/** The active webgpu backend's adapter vendor and architecture, or null on another backend. */
export function webgpuAdapter(): { vendor: string; architecture: string } | null {
  if (tf.getBackend() !== 'webgpu') return null;
  const info: object | undefined = (tf.backend() as WebGPUBackend).adapterInfo;
  // AdapterInfo declares vendor and architecture private (tfjs-backend-webgpu 4.22): read them by name.
  const field = (name: string): string => {
    const value: unknown = info === undefined ? undefined : Reflect.get(info, name);
    return typeof value === 'string' ? value : '';
  };
  return { vendor: field('vendor'), architecture: field('architecture') };
}

/** True on SwiftShader (a CPU implementation of Vulkan that Dawn and Chromium use without a GPU). */
export function isSoftwareAdapter(): boolean {
  return webgpuAdapter()?.architecture.toLowerCase() === 'swiftshader';
}

/**
 * Call after `tf.setBackend('webgpu')`. On SwiftShader, forces tfjs's tiled (packed) matMul for
 * every shape: for small outputs tfjs picks programs that add workgroups (a 256-invocation reduce,
 * small tiles), which pays on a GPU but costs SwiftShader a barrier-heavy emulation — a [1,64]×[64,64]
 * product took ~100 ms instead of ~5 ms, i.e. decode steps of seconds. Real GPUs keep the defaults.
 * Returns whether anything was changed.
 */
export function tuneForAdapter(): boolean {
  if (!isSoftwareAdapter()) return false;
  tf.env().set('WEBGPU_MATMUL_PROGRAM_TYPE', MATMUL_PACKED);
  return true;
}
