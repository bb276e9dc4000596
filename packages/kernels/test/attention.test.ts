// The DcmhaAttention declaration: input order, attrs round trip, input checks, and the typed error on a
// backend without the kernels. The arithmetic is checked where a backend implements it
// (packages/kernels-cpu/test/attention.test.ts, against @dcformer/compose's chunked reference).
import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { NotImplementedError, ShapeError } from '../src/errors.js';
import { dcmhaAttentionFused, hasFusedAttention } from '../src/attention/attention-op.js';
import {
  attentionAttrsOf,
  attentionInputList,
  attentionInputNames,
  attentionKernelAttrs,
  validateAttentionInputs,
  type FusedAttentionAttrs,
} from '../src/attention/attention-spec.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const attrs: FusedAttentionAttrs = {
  window: 4,
  queryOffset: 3,
  keyOffset: 1,
  keyStart: [1, 2],
  compose: { queryWise: true, keyWise: false },
};

function inputs(B = 2, N = 3, T = 5, S = 7, E = 4, I = 2) {
  // query side only, as attrs switch on (key side over S would be [B,S,…])
  const call = () => ({ w1: tf.zeros([B, T, I, N]), w2: tf.zeros([B, T, I, N]), dd: tf.zeros([B, T, N]) });
  const weights = { query: { pre: call(), post: call() }, key: null };
  return { q: tf.zeros([B, N, T, E]), k: tf.zeros([B, N, S, E]), v: tf.zeros([B, N, S, E]), weights };
}

describe('DcmhaAttention declaration', () => {
  it('orders the inputs q, k, v, then pre and post weights of the sides that are on', () => {
    expect(attentionInputNames(attrs)).toEqual([
      'q',
      'k',
      'v',
      'pre.qw1',
      'pre.qw2',
      'pre.qdd',
      'post.qw1',
      'post.qw2',
      'post.qdd',
    ]);
    expect(attentionInputNames({ ...attrs, compose: null })).toEqual(['q', 'k', 'v']);
  });

  it('lays out the per-side weights in that order (each tensor itself, no copy)', () => {
    tf.tidy(() => {
      const x = inputs();
      const { pre, post } = x.weights.query;
      const want = [x.q, x.k, x.v, pre.w1, pre.w2, pre.dd, post.w1, post.w2, post.dd];
      const got = attentionInputList(x, attrs);
      expect(got.length).toBe(want.length);
      got.forEach((t, i) => expect(t).toBe(want[i]));
      // a side that is off is not passed even when given
      const keyOff = { ...x, weights: { ...x.weights, key: x.weights.query } };
      expect(attentionInputList(keyOff, attrs).length).toBe(want.length);
    });
  });

  it('round-trips its attrs through flat kernel attrs', () => {
    expect(attentionAttrsOf(attentionKernelAttrs(attrs))).toEqual(attrs);
    const global = { window: null, queryOffset: 0, keyOffset: 0, compose: null };
    expect(attentionAttrsOf(attentionKernelAttrs(global))).toEqual({ ...global, keyStart: undefined });
  });

  it('names the argument and both shapes when k does not match q', () => {
    tf.tidy(() => {
      const x = { ...inputs(), k: tf.zeros([2, 3, 7, 5]) };
      expect(() => validateAttentionInputs('test', x, attrs)).toThrow(ShapeError);
      expect(() => validateAttentionInputs('test', x, attrs)).toThrow(/'k' must be float32 \[B,N,S,E\] = \[2,3,7,4\]/);
    });
  });

  it('checks the Compose weights against q and k, and keyStart against B', () => {
    tf.tidy(() => {
      const x = inputs();
      const query = x.weights.query;
      const bad = {
        ...x,
        weights: { query: { ...query, pre: { ...query.pre, w1: tf.zeros([2, 5, 3, 2]) } }, key: null },
      };
      expect(() => validateAttentionInputs('test', bad, attrs)).toThrow(/test \(pre\): 'qw1' must be \[B,T,I,N\]/);
      const noQuery = { ...x, weights: { query: null, key: null } };
      expect(() => validateAttentionInputs('test', noQuery, attrs)).toThrow(
        /test: 'query' weights are required when queryWise is on/,
      );
      expect(() => validateAttentionInputs('test', x, { ...attrs, keyStart: [0] })).toThrow(
        /'keyStart' must have one entry per batch row \(B = 2\); got 1/,
      );
      expect(() => validateAttentionInputs('test', x, { ...attrs, window: 0 })).toThrow(/'window' must be a positive/);
    });
  });

  it('throws NotImplementedError where the backend has no fused kernel (stock cpu)', () => {
    expect(hasFusedAttention('cpu')).toBe(false);
    tf.tidy(() => {
      expect(() => dcmhaAttentionFused(inputs(), attrs)).toThrow(NotImplementedError);
      expect(() => dcmhaAttentionFused(inputs(), attrs)).toThrow(/no DcmhaAttention kernel; use dcmhaAttention/);
    });
  });
});
