import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { ShapeError } from '../src/errors.js';
import { adamWUpdate } from '../src/optimizer/adamw-op.js';
import { runAdamWConformance } from '../src/testing/adamw-conformance.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe('adamWUpdate (reference kernel)', () => {
  for (const r of runAdamWConformance()) it(`conformance: ${r.name}`, () => expect(r.ok, r.message).toBe(true));

  it('names the mismatched argument and both shapes', () => {
    tf.tidy(() => {
      const a = { gradScale: 1, decay: 1, beta1: 0.9, beta2: 0.95, eps: 1e-8, stepSize: 1, bc2Sqrt: 1 };
      expect(() => adamWUpdate(tf.zeros([2, 3]), tf.zeros([3, 2]), tf.zeros([2, 3]), tf.zeros([2, 3]), a)).toThrow(
        ShapeError,
      );
      expect(() => adamWUpdate(tf.zeros([2, 3]), tf.zeros([2, 3]), tf.zeros([2, 3]), tf.zeros([6]), a)).toThrow(
        /'v' must have the parameter's shape \[2,3\]; got \[6\]/,
      );
    });
  });
});
