/**
 * `runKernel` for kernels whose inputs travel as an array. Their number depends on the attrs (Compose's
 * sides, attention's weights), and tfjs saves a variable set of inputs for the gradient only when they
 * are an array (`saveAllInputs`); tfjs accepts an array at run time, but its type says a name map.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { NamedAttrMap, NamedTensorMap, Tensor } from '@tensorflow/tfjs-core';

export function runKernelWithList(name: string, list: readonly Tensor[], attrs: NamedAttrMap = {}): Tensor | Tensor[] {
  // The one place an input array passes for tfjs's NamedTensorMap type (see above).
  return tf.engine().runKernel(name, list as unknown as NamedTensorMap, attrs);
}
