/**
 * Attention with an arbitrary visibility mask over the whole T×T score matrix, for what
 * `dcmhaAttention` (causal, left-padding only, chunked) does not cover: a padding mask with any
 * pattern, and non-causal attention. Taped tfjs ops plus `dcmhaCompose` (whose gradient
 * @dcformer/kernels registers), so autodiff gives the backward pass; memory is O(T²) per head.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Tensor } from '@tensorflow/tfjs-core';
import type { AttentionWeights } from '@dcformer/compose';
import { MASKED_LOGIT, composeCallWeights, dcmhaCompose, type ComposeAttrs } from '@dcformer/kernels';

// What a masked logit becomes (finite: a row with every key masked still gets a defined softmax).
const NEG_FILL = MASKED_LOGIT;

/**
 * [B|1,1,T,T] bool, true where query t may see key s: the causal / window band, and, with a padding
 * mask [B,T] (non-zero = real token), both t and s real. null: everything visible.
 */
export function visibility(
  T: number,
  causal: boolean,
  window: number | null,
  padding_BT: Tensor | null,
): Tensor | null {
  if (!causal && window === null && padding_BT === null) return null;
  return tf.tidy(() => {
    let band: Tensor | null = null;
    if (causal || window !== null) {
      const data = new Uint8Array(T * T);
      for (let t = 0; t < T; t++) {
        for (let s = 0; s < T; s++) {
          const inWindow = window === null || Math.abs(t - s) < window;
          data[t * T + s] = (!causal || s <= t) && inWindow ? 1 : 0;
        }
      }
      band = tf.tensor(data, [1, 1, T, T], 'bool');
    }
    if (padding_BT === null) return band as Tensor;
    const [B] = padding_BT.shape as number[];
    const real_BT = tf.notEqual(padding_BT, 0);
    const pairs = tf.logicalAnd(tf.reshape(real_BT, [B, 1, T, 1]), tf.reshape(real_BT, [B, 1, 1, T]));
    return band === null ? pairs : tf.logicalAnd(band, pairs);
  });
}

/**
 * softmax(Compose_pre(q·kᵀ/√E) masked) → Compose_post → ·v, over the full score matrix. q, k, v
 * [B,N,T,E]; `weights` null: plain attention. Query rows that see no key at all (padding) give 0.
 */
export function denseAttention(
  q_BNTE: Tensor,
  k_BNTE: Tensor,
  v_BNTE: Tensor,
  weights: AttentionWeights | null,
  attrs: ComposeAttrs,
  visible: Tensor | null,
): Tensor {
  return tf.tidy(() => {
    const E = q_BNTE.shape[3] as number;
    const scores_BNTS = tf.mul(tf.matMul(q_BNTE, k_BNTE, false, true), 1 / Math.sqrt(E));
    const pre = weights && composeCallWeights(weights, 'pre', attrs);
    const post = weights && composeCallWeights(weights, 'post', attrs);
    let logits_BNTS = pre === null ? scores_BNTS : dcmhaCompose({ x: scores_BNTS, ...pre }, attrs);
    if (visible !== null) logits_BNTS = tf.where(visible, logits_BNTS, tf.scalar(NEG_FILL));
    let probs_BNTS = tf.softmax(logits_BNTS);
    // A fully masked row softmaxes to uniform over every key, padding and future ones included;
    // zero it so padded positions carry nothing.
    if (visible !== null) probs_BNTS = tf.mul(probs_BNTS, tf.cast(tf.any(visible, -1, true), 'float32'));
    const mixed_BNTS = post === null ? probs_BNTS : dcmhaCompose({ x: probs_BNTS, ...post }, attrs);
    return tf.matMul(mixed_BNTS, v_BNTE);
  });
}
