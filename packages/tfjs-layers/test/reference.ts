/**
 * Test-only references, computed directly from a layer's weights along routes independent of the
 * layer's code: the official interleaved RoPE, QK-norm and plain softmax attention written out.
 */
import * as tf from '@tensorflow/tfjs';
import type { Tensor } from '@tensorflow/tfjs';
import type { DCMultiHeadAttention } from '../src/dc-multi-head-attention.js';

/** The layer's weights by their short names (wqkv, wo, dw1, …). */
export function weightsByName(layer: DCMultiHeadAttention): Record<string, Tensor> {
  const out: Record<string, Tensor> = {};
  for (const w of layer.weights) out[w.originalName.split('/').pop() as string] = w.read();
  return out;
}

/** Official RoPE (docs/dcmha.md): pairs j, j+R/2, output interleaved out[2j], out[2j+1]; x [B,T,N,E]. */
export function officialRope(x_BTNE: Tensor, R: number, base: number): Tensor {
  const [B, T, N, E] = x_BTNE.shape as number[];
  const x = x_BTNE.arraySync() as number[][][][];
  const out = new Float32Array(B * T * N * E);
  for (let b = 0; b < B; b++)
    for (let t = 0; t < T; t++)
      for (let n = 0; n < N; n++) {
        const row = x[b][t][n];
        const o = ((b * T + t) * N + n) * E;
        for (let j = 0; j < R / 2; j++) {
          const angle = t * base ** ((-2 * j) / R);
          const [c, s] = [Math.cos(angle), Math.sin(angle)];
          out[o + 2 * j] = row[j] * c - row[j + R / 2] * s;
          out[o + 2 * j + 1] = row[j + R / 2] * c + row[j] * s;
        }
        for (let e = R; e < E; e++) out[o + e] = row[e];
      }
  return tf.tensor(out, [B, T, N, E]);
}

export interface Projected {
  q_BNTE: Tensor;
  k_BNTE: Tensor;
  v_BNTE: Tensor;
}

/** q, k, v [B,N,T,E] of the layer for x: projection, optional QK-norm, official RoPE. */
export function projectQkv(
  x_BTD: Tensor,
  w: Record<string, Tensor>,
  N: number,
  opts: { useQkNorm?: boolean; useRope?: boolean; rotaryDims?: number; ropeBase?: number } = {},
): Projected {
  const [B, T, D] = x_BTD.shape as number[];
  const E = (w.wqkv.shape[1] as number) / (3 * N);
  let qkv = tf.matMul(tf.reshape(x_BTD, [B * T, D]), w.wqkv);
  if (w.wqkv_bias) qkv = tf.add(qkv, w.wqkv_bias);
  const parts = tf.split(tf.reshape(qkv, [B, T, 3, N, E]), 3, 2).map((t) => tf.reshape(t, [B, T, N, E]));
  let [q, k] = parts;
  if (opts.useQkNorm) {
    const norm = (t: Tensor, scale: Tensor) =>
      tf.mul(tf.div(t, tf.sqrt(tf.add(tf.mean(tf.square(t), -1, true), 1e-6))), scale);
    q = norm(q, w.q_norm_scale);
    k = norm(k, w.k_norm_scale);
  }
  if (opts.useRope ?? true) {
    q = officialRope(q, opts.rotaryDims ?? E, opts.ropeBase ?? 10000);
    k = officialRope(k, opts.rotaryDims ?? E, opts.ropeBase ?? 10000);
  }
  const heads = (t: Tensor) => tf.transpose(t, [0, 2, 1, 3]);
  return { q_BNTE: heads(q), k_BNTE: heads(k), v_BNTE: heads(parts[2]) };
}

/** [B,N,T,E] attention output → the layer's output [B,T,D] through wo. */
export function outputProjection(y_BNTE: Tensor, w: Record<string, Tensor>): Tensor {
  const [B, N, T, E] = y_BNTE.shape as number[];
  let y = tf.matMul(tf.reshape(tf.transpose(y_BNTE, [0, 2, 1, 3]), [B * T, N * E]), w.wo);
  if (w.wo_bias) y = tf.add(y, w.wo_bias);
  return tf.reshape(y, [B, T, w.wo.shape[1] as number]);
}

/** Textbook softmax(q·kᵀ/√E + mask)·v; `visible(t, s)` says which keys query t sees. */
export function plainAttention(p: Projected, visible: (t: number, s: number) => boolean): Tensor {
  const [, , T, E] = p.q_BNTE.shape as number[];
  const bias = new Float32Array(T * T);
  for (let t = 0; t < T; t++) for (let s = 0; s < T; s++) bias[t * T + s] = visible(t, s) ? 0 : -1e9;
  const scores = tf.add(
    tf.div(tf.matMul(p.q_BNTE, p.k_BNTE, false, true), Math.sqrt(E)),
    tf.tensor(bias, [1, 1, T, T]),
  );
  return tf.matMul(tf.softmax(scores), p.v_BNTE);
}

/** max |a − b|. */
export function maxAbsDiff(a: Tensor, b: Tensor): number {
  return tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]);
}

/** Deterministic normal draws of a shape, scaled. */
export function randn(shape: number[], seed: number, scale = 1): Tensor {
  return tf.mul(tf.randomNormal(shape, 0, 1, 'float32', seed), scale);
}
