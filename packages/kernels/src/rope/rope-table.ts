/**
 * Rotary position embedding from positions, for every model that uses it (@dcformer/model's blocks,
 * @dcformer/tfjs-layers' attention layer): the cos/sin tables, rounded as the official float32
 * precompute_freqs_cis rounds them, and `applyRope`, which runs the `DcRope` kernel on them.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Tensor } from '@tensorflow/tfjs-core';
import { rope } from './rope-op.js';

const ropeTables = new Map<string, { cos: Float32Array; sin: Float32Array }>();

/**
 * cos/sin of θ_j·p for positions p in [start, start + T), j < R/2, θ_j = base^(−2j/R), rounded to
 * float32 at each step as the reference's float32 precompute_freqs_cis does. Cached: a model sees
 * few distinct (start, T), and recomputing T·R/2 sines in every layer costs more than short attention.
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
 * `DcRope` kernel.
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
