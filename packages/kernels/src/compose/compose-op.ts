import * as tf from '@tensorflow/tfjs-core';
import type { GradConfig, KernelConfig, Tensor } from '@tensorflow/tfjs-core';
import { referenceRegistry } from '../reference-registry.js';
import { runKernelWithList } from '../run-kernel.js';
import { composeReference, composeReferenceGrad, type ComposeGrads } from './compose-reference.js';
import {
  DcmhaCompose,
  DcmhaComposeBackward,
  composeAttrsOf,
  composeInputsFromList,
  composeInputNames,
  composeKernelAttrs,
  validateComposeInputs,
  type ComposeAttrs,
  type ComposeInputs,
} from './compose-spec.js';

// Inputs travel as an array in composeInputNames order: the set of inputs depends on the switches,
// and tfjs saves a variable set of inputs only for array-shaped inputs (saveAllInputs).
const inputsFromArray = (list: ArrayLike<Tensor>, attrs: ComposeAttrs): ComposeInputs =>
  composeInputsFromList(list, attrs);
const attrsOf = composeAttrsOf;

/** The gradient of DcmhaCompose, written in ops; keyed by kernel name, so it serves every backend. */
export const composeGradConfig: GradConfig = {
  kernelName: DcmhaCompose,
  saveAllInputs: true,
  gradFunc: (dy, saved, attrMap) => {
    const attrs = attrsOf(attrMap);
    const grads = dcmhaComposeBackward(inputsFromArray(saved, attrs), dy as Tensor, attrs);
    const out: Record<string, () => Tensor> = {};
    composeInputNames(attrs).forEach((name, i) => {
      const g = grads[name];
      if (g === undefined) throw new Error(`DcmhaCompose gradient: missing gradient for '${name}'`);
      out[i] = () => g;
    });
    return out;
  },
};

/** The reference implementation as a kernel for `backendName`: the fallback on any backend. */
export function referenceComposeKernel(backendName: string): KernelConfig {
  return {
    kernelName: DcmhaCompose,
    backendName,
    // Runs tfjs ops inside a kernel: the engine does not record them (kernelDepth > 0) and uses the
    // returned Tensor as the kernel output; tidy frees the intermediates.
    kernelFunc: ({ inputs, attrs }) =>
      composeReference(inputsFromArray(Object.values(inputs) as Tensor[], attrsOf(attrs ?? {})), attrsOf(attrs ?? {})),
  };
}

const registry = referenceRegistry(DcmhaCompose, referenceComposeKernel, composeGradConfig);

/** True when `backendName` runs the reference Compose (no fused kernel replaced it). */
export function isReferenceCompose(backendName: string): boolean {
  return registry.isReference(backendName);
}

/**
 * Compose attention scores or probabilities across heads (docs/dcmha.md). Validates the inputs, then runs
 * the `DcmhaCompose` kernel of the active backend — a fused one if a backend package registered it,
 * otherwise the reference from plain tfjs ops. Differentiable with respect to every input.
 *
 * ```js
 * const out_BNTS = dcmhaCompose({ x: scores_BNTS, qw1, qw2, qdd, kw1, kw2, kdd }, { queryWise: true, keyWise: true });
 * ```
 */
export function dcmhaCompose(inputs: ComposeInputs, attrs: ComposeAttrs = { queryWise: true, keyWise: true }): Tensor {
  validateComposeInputs('dcmhaCompose', inputs, attrs);
  registry.ensure();
  const list = composeInputNames(attrs).map((name) => inputs[name] as Tensor);
  return runKernelWithList(DcmhaCompose, list, composeKernelAttrs(attrs)) as Tensor;
}

/**
 * Backward of Compose without a tape: grads of every present input given dy. Used by attention
 * code that recomputes per chunk in its own backward pass.
 */
export function dcmhaComposeBackward(inputs: ComposeInputs, dy: Tensor, attrs: ComposeAttrs): ComposeGrads {
  const names = composeInputNames(attrs);
  if (tf.getKernel(DcmhaComposeBackward, tf.getBackend()) === undefined) return composeReferenceGrad(inputs, dy, attrs);
  const list = [...names.map((name) => inputs[name] as Tensor), dy];
  const outs = runKernelWithList(DcmhaComposeBackward, list, composeKernelAttrs(attrs)) as Tensor[];
  // the same names as the inputs: the gradient of each input it was given
  return composeInputsFromList(outs, attrs);
}
