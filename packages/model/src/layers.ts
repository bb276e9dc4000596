/** Building blocks of the DCFormer / DCPythia blocks, as plain differentiable tfjs ops. */
import * as tf from '@tensorflow/tfjs-core';
import type { Tensor } from '@tensorflow/tfjs-core';
import { rmsNorm as rmsNormKernel, softmaxCrossEntropy } from '@dcformer/kernels';

/** DCFormer's and DCPythia's QK-norm eps (MUDD's q_norm / k_norm use the config's norm_eps). */
export const QK_NORM_EPS = 1e-6;

/** y = x·Wᵀ (+ b), W stored as nn.Linear's (out, in). */
export function linear(x: Tensor, weight: Tensor, bias?: Tensor): Tensor {
  return tf.tidy(() => {
    const shape = x.shape as number[];
    const x2d = tf.reshape(x, [-1, shape[shape.length - 1]]);
    let y = tf.matMul(x2d, weight, false, true);
    if (bias !== undefined) y = tf.add(y, bias);
    return tf.reshape(y, [...shape.slice(0, -1), weight.shape[0] as number]);
  });
}

/**
 * RMSNorm over the last axis: x·rsqrt(mean(x²) + eps)·weight (DCFormer norms and QK-norm), through
 * the `DcRmsNorm` kernel of @dcformer/kernels (fused where a backend package registers it).
 */
export function rmsNorm(x: Tensor, weight: Tensor, eps: number): Tensor {
  return rmsNormKernel(x, weight, eps);
}

/** LayerNorm over the last axis with biased variance, as torch.nn.LayerNorm (DCPythia). */
export function layerNorm(x: Tensor, weight: Tensor, bias: Tensor, eps: number): Tensor {
  return tf.tidy(() => {
    const { mean, variance } = tf.moments(x, -1, true);
    return tf.add(tf.mul(tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, eps))), weight), bias);
  });
}

export function silu(x: Tensor): Tensor {
  return tf.tidy(() => tf.mul(x, tf.sigmoid(x)));
}

// Rotary embedding from positions (the tables and DcRope): @dcformer/kernels, shared with tfjs-layers.
export { applyRope, ropeTable } from '@dcformer/kernels';

/**
 * Mean cross-entropy of next-token prediction: CE(logits[:, :-1], ids[:, 1:]) through the
 * `DcSoftmaxCrossEntropy` kernel (fused on backends that register one; logsumexp − label logit from
 * tfjs ops elsewhere). With `shifted`, `logits_BTV` [B,T,V] already predict `labels_BT` [B,T].
 */
export function nextTokenLoss(logits_BTV: Tensor, ids_BT: Tensor, options: { shifted?: boolean } = {}): Tensor {
  return tf.tidy(() => {
    const [B, T, V] = logits_BTV.shape as number[];
    const P = options.shifted ? T : T - 1;
    const pred_BPV = options.shifted ? logits_BTV : tf.slice(logits_BTV, [0, 0, 0], [B, P, V]);
    const labels_BP = options.shifted ? ids_BT : tf.slice(ids_BT, [0, 1], [B, P]);
    return tf.mean(softmaxCrossEntropy(tf.reshape(pred_BPV, [B * P, V]), tf.reshape(labels_BP, [B * P])));
  });
}
