/** Building blocks of the DCFormer / DCPythia blocks, as plain differentiable tfjs ops. */
import * as tf from '@tensorflow/tfjs-core';
import type { Tensor } from '@tensorflow/tfjs-core';
import { rmsNorm as rmsNormKernel, rope, softmaxCrossEntropy } from '@dcformer/kernels';

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

const ropeTables = new Map<string, { cos: Float32Array; sin: Float32Array }>();

/**
 * cos/sin of θ_j·p for positions p in [start, start + T), j < R/2, θ_j = base^(−2j/R), rounded to
 * float32 at each step as the reference's float32 precompute_freqs_cis does.
 */
export function ropeTable(R: number, base: number, start: number, T: number): { cos: Float32Array; sin: Float32Array } {
  const key = `${R}:${base}:${start}:${T}`; // start may be negative: positions of left padding
  const hit = ropeTables.get(key);
  if (hit) return hit;
  const half = R / 2;
  const cos = new Float32Array(T * half);
  const sin = new Float32Array(T * half);
  for (let j = 0; j < half; j++) {
    const freq = Math.fround(1 / Math.fround(base ** Math.fround((2 * j) / R)));
    for (let t = 0; t < T; t++) {
      const angle = Math.fround((start + t) * freq);
      cos[t * half + j] = Math.cos(angle);
      sin[t * half + j] = Math.sin(angle);
    }
  }
  if (ropeTables.size > 64) ropeTables.clear();
  const table = { cos, sin };
  ropeTables.set(key, table);
  return table;
}

/**
 * Rotary embedding, "half" mode, over the first R dims of each head (the rest pass through):
 * x[j] pairs with x[j + R/2]. The reference interleaves the rotated pairs on output; we keep the
 * halves in place, which permutes q and k the same way and so leaves every q·k unchanged.
 * x [B,T,N,E], positions start..start+T−1 (one start for all rows, or one per row); runs the
 * `DcRope` kernel of @dcformer/kernels.
 */
export function applyRope(x_BTNE: Tensor, R: number, base: number, start: number | readonly number[]): Tensor {
  return tf.tidy(() => {
    const T = x_BTNE.shape[1] as number;
    const half = R / 2;
    const starts = typeof start === 'number' ? [start] : start;
    const tables = starts.map((s) => ropeTable(R, base, s, T));
    const stack = (key: 'cos' | 'sin') => {
      const data = new Float32Array(starts.length * T * half);
      tables.forEach((table, b) => data.set(table[key], b * T * half));
      return tf.tensor(data, [starts.length, T, 1, half]);
    };
    return rope(x_BTNE, stack('cos'), stack('sin'));
  });
}

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
