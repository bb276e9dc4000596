import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-core/dist/register_all_gradients';
import { beforeAll, describe, expect, it } from 'vitest';
import { ShapeError } from '../src/errors.js';
import { runCrossEntropyConformance } from '../src/testing/cross-entropy-conformance.js';
import { isReferenceCrossEntropy, softmaxCrossEntropy } from '../src/cross-entropy/cross-entropy-op.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe('DcSoftmaxCrossEntropy conformance on cpu (reference kernel vs float64 loops)', () => {
  for (const r of runCrossEntropyConformance()) {
    it(r.name, () => expect(r.ok, r.message).toBe(true));
  }
  it('ran the reference kernel', () => expect(isReferenceCrossEntropy('cpu')).toBe(true));
});

describe('softmaxCrossEntropy', () => {
  it('equals −log softmax at the label for a hand-computed row', () => {
    // logits [0, ln 3]: softmax = [1/4, 3/4]
    const loss = tf.tidy(() =>
      softmaxCrossEntropy(
        tf.tensor2d([
          [0, Math.log(3)],
          [0, Math.log(3)],
        ]),
        tf.tensor1d([0, 1], 'int32'),
      ).dataSync(),
    );
    expect(loss[0]).toBeCloseTo(Math.log(4), 6);
    expect(loss[1]).toBeCloseTo(Math.log(4 / 3), 6);
  });

  it('keeps the tensor count flat across forward and backward', () => {
    const logits = tf.randomNormal([4, 9]);
    const labels = tf.tensor1d([0, 3, 8, 2], 'int32');
    const before = tf.memory().numTensors;
    tf.tidy(() => {
      tf.grad((x: tf.Tensor) => tf.sum(softmaxCrossEntropy(x, labels)))(logits);
    });
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([logits, labels]);
  });

  it('names the argument and the shapes on bad input', () => {
    tf.tidy(() => {
      expect(() => softmaxCrossEntropy(tf.zeros([2, 3, 4]), tf.zeros([2], 'int32'))).toThrow(ShapeError);
      expect(() => softmaxCrossEntropy(tf.zeros([2, 3]), tf.zeros([3], 'int32'))).toThrow(
        /'labels' must be \[R\] = \[2\].*got \[3\]/,
      );
      expect(() => softmaxCrossEntropy(tf.zeros([2, 3]), tf.zeros([2]))).toThrow(/'labels' must be int32; got float32/);
    });
  });
});
