import * as tf from '@tensorflow/tfjs-core';
import type { GradConfig, Tensor } from '@tensorflow/tfjs-core';
import { NotImplementedError } from '../errors.js';
import { runKernelWithList } from '../run-kernel.js';
import {
  DcmhaAttention,
  DcmhaAttentionBackward,
  attentionInputList,
  attentionKernelAttrs,
  validateAttentionInputs,
  type FusedAttentionAttrs,
  type FusedAttentionInputs,
} from './attention-spec.js';

/**
 * The gradient of DcmhaAttention: the backend's DcmhaAttentionBackward kernel on the saved inputs,
 * the saved statistics and d(out). Keyed by kernel name, so it serves every backend that has both.
 */
export const attentionGradConfig: GradConfig = {
  kernelName: DcmhaAttention,
  saveAllInputs: true,
  outputsToSave: [false, true],
  gradFunc: (dy, saved, attrs) => {
    const dOut = Array.isArray(dy) ? dy[0] : dy;
    const grads = runKernelWithList(DcmhaAttentionBackward, [...saved, dOut], attrs) as Tensor[];
    const out: Record<string, () => Tensor> = {};
    grads.forEach((g, i) => (out[i] = () => g));
    return out;
  },
};

/** True when `backendName` has the fused attention kernels (forward and backward). */
export function hasFusedAttention(backendName: string = tf.getBackend()): boolean {
  return (
    tf.getKernel(DcmhaAttention, backendName) !== undefined &&
    tf.getKernel(DcmhaAttentionBackward, backendName) !== undefined
  );
}

/**
 * DCMHA attention in one fused kernel of the active backend (see DcmhaAttention); differentiable with
 * respect to q, k, v and every Compose weight. Backends without the kernels throw NotImplementedError:
 * callers use @dcformer/compose's dcmhaAttention, which picks this where it runs and the chunked
 * reference elsewhere.
 *
 * ```js
 * const w = dynamicWeights(x, params); // @dcformer/compose: { query, key }, each with pre and post
 * const out_BNTE = dcmhaAttentionFused({ q, k, v, weights: w }, { window: 64, queryOffset: 0, keyOffset: 0, compose: { queryWise: true, keyWise: true } });
 * ```
 */
export function dcmhaAttentionFused(inputs: FusedAttentionInputs, attrs: FusedAttentionAttrs): Tensor {
  validateAttentionInputs('dcmhaAttentionFused', inputs, attrs);
  const backend = tf.getBackend();
  if (!hasFusedAttention(backend)) {
    throw new NotImplementedError(
      `dcmhaAttentionFused: backend '${backend}' has no ${DcmhaAttention} kernel; use dcmhaAttention of @dcformer/compose (the chunked reference)`,
    );
  }
  if (tf.getGradient(DcmhaAttention) === undefined) tf.registerGradient(attentionGradConfig);
  const list = attentionInputList(inputs, attrs);
  const [out, stats] = runKernelWithList(DcmhaAttention, list, attentionKernelAttrs(attrs)) as Tensor[];
  stats.dispose(); // the tape keeps its own reference when it records a gradient
  return out;
}
