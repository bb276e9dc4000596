import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-core/dist/register_all_gradients';
import { beforeAll, describe, expect, it } from 'vitest';
import { ShapeError } from '../src/errors.js';
import { runRopeConformance } from '../src/testing/rope-conformance.js';
import { rope } from '../src/rope/rope-op.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe('DcRope conformance on cpu (reference kernel vs float64 loops)', () => {
  for (const r of runRopeConformance()) it(r.name, () => expect(r.ok, r.message).toBe(true));
});

describe('rope', () => {
  it('rotates a pair by θ', () => {
    // E = 2, H = 1: (x1, x2) = (1, 0) rotated by 90° is (0, 1)
    const y = tf.tidy(() =>
      rope(
        tf.tensor4d([1, 0], [1, 1, 1, 2]),
        tf.tensor4d([0], [1, 1, 1, 1]),
        tf.tensor4d([1], [1, 1, 1, 1]),
      ).dataSync(),
    );
    expect(Array.from(y)).toEqual([0, 1]);
  });

  it('names the argument and the shapes', () => {
    tf.tidy(() => {
      expect(() => rope(tf.zeros([2, 3, 4, 8]), tf.zeros([1, 3, 1, 5]), tf.zeros([1, 3, 1, 5]))).toThrow(ShapeError);
      expect(() => rope(tf.zeros([2, 3, 4, 8]), tf.zeros([1, 2, 1, 4]), tf.zeros([1, 2, 1, 4]))).toThrow(
        /'cos' must be \[1 or B,T,1,H\] with B = 2, T = 3.*got \[1,2,1,4\]/,
      );
    });
  });
});
