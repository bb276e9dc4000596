/** Every device kernel of the `cuda` backend, for registering under `backendName`. */
import type { KernelConfig } from '@tensorflow/tfjs-core';
import { elementwiseKernels } from './elementwise.js';
import { fusedKernels } from './fused.js';
import { layoutKernels } from './layout.js';
import { reduceKernels } from './reduce.js';

export function deviceKernels(backendName: string): KernelConfig[] {
  return [
    ...fusedKernels(backendName),
    ...elementwiseKernels(backendName),
    ...layoutKernels(backendName),
    ...reduceKernels(backendName),
  ];
}
