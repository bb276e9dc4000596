import * as tf from '@tensorflow/tfjs';
import { DcformerError } from '@dcformer/kernels';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  DCMultiHeadAttention,
  RMSNorm,
  ValueError,
  dcformerBlock,
  type DCMultiHeadAttentionArgs,
} from '../src/index.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

/** Runs fn, expecting a ValueError that names `layerName` and says `fragment`. */
function expectValueError(fn: () => unknown, layerName: string, fragment: string | RegExp): void {
  let caught: unknown = null;
  try {
    tf.tidy(() => void fn());
  } catch (error) {
    caught = error;
  }
  expect(caught, 'expected a ValueError').toBeInstanceOf(ValueError);
  const error = caught as ValueError;
  expect(error.name).toBe('ValueError');
  expect(DcformerError.isInstance(error)).toBe(true);
  expect(error.layerName).toBe(layerName);
  expect(error.message).toContain(layerName);
  if (typeof fragment === 'string') expect(error.message).toContain(fragment);
  else expect(error.message).toMatch(fragment);
}

describe('bad options → ValueError naming the layer', () => {
  const bad: [Partial<DCMultiHeadAttentionArgs>, string][] = [
    [{ numHeads: 0 }, 'numHeads must be a positive integer'],
    [{ numHeads: 2.5 }, 'numHeads must be a positive integer'],
    // @ts-expect-error a string where a number belongs: the layer must name it
    [{ numHeads: '4' }, "but got '4'"],
    [{ numHeads: 1 }, 'at least 2 with useDcmha'],
    [{ numHeads: 4, window: 0 }, 'window must be a positive integer or null'],
    [{ numHeads: 4, keyDim: -8 }, 'keyDim must be a positive integer or null'],
    [{ numHeads: 4, chunkSize: 0 }, 'chunkSize must be a positive integer'],
    [{ numHeads: 4, ropeBase: Number.NaN }, 'ropeBase must be a finite number > 1'],
    [{ numHeads: 4, rotaryDims: 3 }, 'rotaryDims must be even'],
    // @ts-expect-error a string where a boolean belongs
    [{ numHeads: 4, causal: 'yes' }, 'causal must be true or false'],
    [{ numHeads: 4, queryWise: false, keyWise: false }, 'nothing to compose'],
    [{ numHeads: 4, kernelInitializer: 'noSuchInit' }, "unknown initializer 'noSuchInit'"],
    [{ numHeads: 4, seed: 0.5 }, 'seed must be an integer'],
  ];
  for (const [args, fragment] of bad) {
    it(`${JSON.stringify(args)} → ${fragment}`, () => {
      expectValueError(
        () => new DCMultiHeadAttention({ name: 'attn', ...args } as DCMultiHeadAttentionArgs),
        'attn',
        fragment,
      );
    });
  }

  it('one head is fine without DCMHA', () => {
    expect(() => new DCMultiHeadAttention({ numHeads: 1, useDcmha: false })).not.toThrow();
  });

  it('RMSNorm: epsilon must be positive', () => {
    expectValueError(() => new RMSNorm({ epsilon: -1, name: 'norm' }), 'norm', 'epsilon must be a positive number');
  });
});

describe('bad inputs → ValueError naming the layer', () => {
  it('wrong rank', () => {
    const layer = new DCMultiHeadAttention({ numHeads: 4, name: 'rank' });
    expectValueError(() => layer.apply(tf.zeros([2, 16])), 'rank', 'expected ndim=3');
    expectValueError(() => layer.apply(tf.input({ shape: [5, 6, 16] })), 'rank', 'found ndim=4');
  });

  it('numHeads that does not divide the features', () => {
    const layer = new DCMultiHeadAttention({ numHeads: 3, name: 'heads' });
    expectValueError(
      () => layer.apply(tf.zeros([1, 4, 16])),
      'heads',
      'numHeads 3 does not divide the input features 16',
    );
  });

  it('RoPE wider than the head', () => {
    const layer = new DCMultiHeadAttention({ numHeads: 4, rotaryDims: 8, name: 'rope' });
    expectValueError(() => layer.apply(tf.zeros([1, 4, 16])), 'rope', 'no larger than the head size 4');
  });

  it('a different feature size after build, eager and symbolic', () => {
    const layer = new DCMultiHeadAttention({ numHeads: 4, name: 'width' });
    tf.tidy(() => void layer.apply(tf.zeros([1, 4, 16])));
    expectValueError(
      () => layer.apply(tf.zeros([1, 4, 8])),
      'width',
      'expected axis -1 of input shape to have value 16',
    );
    expectValueError(() => layer.apply(tf.input({ shape: [4, 8] })), 'width', 'have value 16');
  });

  it('unknown feature size', () => {
    const layer = new DCMultiHeadAttention({ numHeads: 4, name: 'unknown' });
    expectValueError(() => layer.apply(tf.input({ shape: [4, null] })), 'unknown', 'must be known');
  });

  it('padding masks of the wrong shape, and too many inputs', () => {
    const layer = new DCMultiHeadAttention({ numHeads: 4, name: 'mask' });
    expectValueError(
      () => layer.apply([tf.zeros([2, 4, 16]), tf.ones([2, 5])]),
      'mask',
      'does not match the time axis',
    );
    expectValueError(() => layer.apply([tf.zeros([2, 4, 16]), tf.ones([2, 4, 1])]), 'mask', 'expected ndim=2');
    expectValueError(
      () => layer.apply([tf.zeros([2, 4, 16]), tf.ones([1, 4])]),
      'mask',
      'must be [batch, time] = [2,4]',
    );
    expectValueError(
      () => layer.apply([tf.zeros([2, 4, 16]), tf.ones([2, 4]), tf.ones([2, 4])]),
      'mask',
      'got 3 inputs',
    );
  });

  it('dcformerBlock: wrong rank', () => {
    expectValueError(
      () => dcformerBlock(tf.input({ shape: [16] }), { numHeads: 4, name: 'blk' }),
      'blk',
      'must be [batch, time, features]',
    );
  });
});
