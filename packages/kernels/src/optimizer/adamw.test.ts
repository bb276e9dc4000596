import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { ShapeError } from '../errors.js';
import { adamWUpdate } from './adamw-op.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe('adamWUpdate (reference kernel)', () => {
  it('matches the torch.optim.AdamW formulas computed in float64', () => {
    const n = 257;
    const rand = (k: number) => Float32Array.from({ length: n }, (_, i) => Math.sin(i * 1.7 + k) * (k + 1));
    const [p, g, m] = [rand(0), rand(1), rand(2)];
    const v = rand(3).map((x) => x * x);
    const attrs = { gradScale: 0.5, decay: 1 - 3e-3 * 0.1, beta1: 0.9, beta2: 0.95, eps: 1e-8, stepSize: 3e-3 / (1 - 0.9 ** 3), bc2Sqrt: Math.sqrt(1 - 0.95 ** 3) };
    const out = tf.tidy(() => adamWUpdate(tf.tensor(p), tf.tensor(g), tf.tensor(m), tf.tensor(v), attrs).map((t) => t.dataSync()));
    for (let i = 0; i < n; i++) {
      const gi = g[i] * attrs.gradScale;
      const m1 = m[i] + (gi - m[i]) * (1 - attrs.beta1);
      const v1 = v[i] * attrs.beta2 + gi * gi * (1 - attrs.beta2);
      const p1 = p[i] * attrs.decay - (m1 / (Math.sqrt(v1) / attrs.bc2Sqrt + attrs.eps)) * attrs.stepSize;
      expect(out[0][i]).toBeCloseTo(p1, 5);
      expect(Math.abs(out[1][i] - m1)).toBeLessThanOrEqual(1e-6 * Math.max(1, Math.abs(m1)));
      expect(Math.abs(out[2][i] - v1)).toBeLessThanOrEqual(1e-6 * Math.max(1, Math.abs(v1)));
    }
  });

  it('names the mismatched argument and both shapes', () => {
    tf.tidy(() => {
      const a = { gradScale: 1, decay: 1, beta1: 0.9, beta2: 0.95, eps: 1e-8, stepSize: 1, bc2Sqrt: 1 };
      expect(() => adamWUpdate(tf.zeros([2, 3]), tf.zeros([3, 2]), tf.zeros([2, 3]), tf.zeros([2, 3]), a)).toThrow(ShapeError);
      expect(() => adamWUpdate(tf.zeros([2, 3]), tf.zeros([2, 3]), tf.zeros([2, 3]), tf.zeros([6]), a)).toThrow(/'v' must have the parameter's shape \[2,3\]; got \[6\]/);
    });
  });
});
