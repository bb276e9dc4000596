/**
 * `runKernel` for kernels whose inputs travel as an array. Their number depends on the attrs (Compose's
 * sides, attention's weights), and tfjs saves a variable set of inputs for the gradient only when they
 * are an array (`saveAllInputs`).
 */
import * as tf from '@tensorflow/tfjs-core';
import type { NamedAttrMap, Tensor } from '@tensorflow/tfjs-core';
import { listAsInputs } from './host-kernel.js';

export function runKernelWithList(name: string, list: readonly Tensor[], attrs: NamedAttrMap = {}): Tensor | Tensor[] {
  return tf.engine().runKernel(name, listAsInputs(list), attrs);
}
