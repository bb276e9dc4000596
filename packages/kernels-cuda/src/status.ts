/** Whether CUDA kernels can run here, and if not, why — without throwing and without crashing. */
import { loadAddon } from './native.js';

export type CudaStatus = { available: true; device: string; gemm: string } | { available: false; reason: string };

/**
 * Loads the device addon and asks the CUDA runtime for a device. Without the addon (no nvcc at
 * install), without a driver (CUDA error 35) or without a GPU this returns `{available: false,
 * reason}`; it never throws.
 */
export function cudaStatus(): CudaStatus {
  const { addon, reason } = loadAddon('device');
  if (addon === null) return { available: false, reason };
  try {
    const s = addon.status();
    return s.available ? { available: true, device: s.device, gemm: s.gemm } : { available: false, reason: s.reason };
  } catch (e) {
    return { available: false, reason: `the device addon's status() failed: ${(e as Error).message}` };
  }
}
