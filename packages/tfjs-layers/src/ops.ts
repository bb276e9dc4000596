/**
 * The small pieces of a DCFormer attention block besides Compose, as differentiable tfjs ops:
 * RMSNorm (QK-norm, pre-norm) and rotary position embedding.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Tensor } from '@tensorflow/tfjs-core';

/** RMSNorm over the last axis: x·rsqrt(mean(x²) + eps)·scale. */
export function rmsNorm(x: Tensor, scale: Tensor, eps: number): Tensor {
  return tf.tidy(() => tf.mul(tf.mul(x, tf.rsqrt(tf.add(tf.mean(tf.square(x), -1, true), eps))), scale));
}

interface RopeTable {
  cos: Float32Array; // [T, R/2]
  sin: Float32Array;
}

// Keyed by R, base and T: a model sees few distinct sequence lengths, and recomputing T·R/2 sines on
// every call of every layer would cost more than the attention for short sequences.
const tables = new Map<string, RopeTable>();
const MAX_TABLES = 32;

/**
 * cos/sin of θ_j·t for t < T, j < R/2, θ_j = base^(−2j/R). Frequencies and angles are rounded to
 * float32 as the reference computes them in float32, so positions far from 0 get the same angles.
 */
function ropeTable(R: number, base: number, T: number): RopeTable {
  const key = `${R}:${base}:${T}`;
  const hit = tables.get(key);
  if (hit !== undefined) return hit;
  const half = R / 2;
  const cos = new Float32Array(T * half);
  const sin = new Float32Array(T * half);
  for (let j = 0; j < half; j++) {
    const theta = Math.fround(1 / Math.fround(base ** Math.fround((2 * j) / R)));
    for (let t = 0; t < T; t++) {
      const angle = Math.fround(t * theta);
      cos[t * half + j] = Math.cos(angle);
      sin[t * half + j] = Math.sin(angle);
    }
  }
  if (tables.size >= MAX_TABLES) tables.delete(tables.keys().next().value as string);
  const table = { cos, sin };
  tables.set(key, table);
  return table;
}

/**
 * Rotary embedding, "half" mode, on the first R dims of each head of x [B,T,N,E] at positions
 * 0 … T−1; the last E − R dims pass through. Dim j pairs with dim j + R/2. The reference interleaves
 * the rotated pairs on output (out[2j], out[2j+1]); we leave them in place. Applied to both q and k, that
 * is one fixed permutation of the head dims on both sides, so every q·k — and so the attention — is
 * the same.
 */
export function rope(x_BTNE: Tensor, R: number, base: number): Tensor {
  return tf.tidy(() => {
    const [, T, , E] = x_BTNE.shape as number[];
    const half = R / 2;
    const table = ropeTable(R, base, T);
    const cos_T1H = tf.tensor(table.cos, [T, 1, half]);
    const sin_T1H = tf.tensor(table.sin, [T, 1, half]);
    const parts = tf.split(x_BTNE, R === E ? [half, half] : [half, half, E - R], 3);
    const [x1, x2] = parts;
    const rotated = [
      tf.sub(tf.mul(x1, cos_T1H), tf.mul(x2, sin_T1H)),
      tf.add(tf.mul(x2, cos_T1H), tf.mul(x1, sin_T1H)),
    ];
    return tf.concat(R === E ? rotated : [...rotated, parts[2]], 3);
  });
}
