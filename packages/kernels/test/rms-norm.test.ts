import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-core/dist/register_all_gradients';
import { beforeAll, describe, expect, it } from 'vitest';
import { ShapeError } from '../src/errors.js';
import { runRmsNormConformance } from '../src/testing/rms-norm-conformance.js';
import { isReferenceRmsNorm, rmsNorm } from '../src/norm/rms-norm-op.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe('DcRmsNorm conformance on cpu (reference kernel vs float64 loops)', () => {
  for (const r of runRmsNormConformance()) it(r.name, () => expect(r.ok, r.message).toBe(true));
  it('ran the reference kernel', () => expect(isReferenceRmsNorm('cpu')).toBe(true));
});

describe('rmsNorm', () => {
  it('normalises a hand-computed row', () => {
    // x = [3, 4]: mean(x²) = 12.5, y = x / √12.5 · w
    const y = tf.tidy(() => rmsNorm(tf.tensor2d([[3, 4]]), tf.tensor1d([1, 2]), 0).dataSync());
    expect(y[0]).toBeCloseTo(3 / Math.sqrt(12.5), 6);
    expect(y[1]).toBeCloseTo((2 * 4) / Math.sqrt(12.5), 6);
  });

  it('keeps the tensor count flat across forward and backward', () => {
    const x = tf.randomNormal([3, 8]);
    const w = tf.ones([8]);
    const before = tf.memory().numTensors;
    tf.tidy(() => {
      tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(rmsNorm(a, b, 1e-6)))([x, w]);
    });
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([x, w]);
  });

  it('names the argument and both shapes', () => {
    tf.tidy(() => {
      expect(() => rmsNorm(tf.zeros([2, 8]), tf.zeros([4]), 1e-6)).toThrow(ShapeError);
      expect(() => rmsNorm(tf.zeros([2, 8]), tf.zeros([4]), 1e-6)).toThrow(/'weight' must be \[D\] = \[8\].*got \[4\]/);
    });
  });
});
