import * as tf from '@tensorflow/tfjs';
import type { Tensor } from '@tensorflow/tfjs';
import { dcmhaAttention, dynamicWeights } from '@dcformer/compose';
import { beforeAll, describe, expect, it } from 'vitest';
import { DCMultiHeadAttention, type DCMultiHeadAttentionArgs } from '../src/index.js';
import { maxAbsDiff, outputProjection, plainAttention, projectQkv, randn, weightsByName } from './reference.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const [B, T, D, N] = [2, 7, 16, 4];

/**
 * A built layer whose dynamic weights are scaled up from the official init (which makes DCMHA ≈ MHA by
 * design), so that Compose visibly changes the output and a mistake in it cannot hide.
 */
function makeLayer(args: Omit<DCMultiHeadAttentionArgs, 'numHeads'> & { numHeads?: number }): DCMultiHeadAttention {
  const layer = new DCMultiHeadAttention({ numHeads: N, seed: 11, ...args });
  tf.tidy(() => {
    layer.apply(tf.zeros([1, T, D])); // builds it (and marks it used, so dispose() is allowed)
    const boosted = layer.getWeights().map((w, i) => {
      const name = layer.weights[i].originalName.split('/').pop();
      if (name === 'qkw') return randn(w.shape, 100 + i, 0.05);
      if (name === 'dd') return tf.mul(w, 5);
      if (name?.endsWith('bias') || name?.endsWith('scale'))
        return randn(w.shape, 200 + i, 0.3 + (name.endsWith('scale') ? 1 : 0));
      return w;
    });
    layer.setWeights(boosted);
  });
  return layer;
}

const apply = (layer: DCMultiHeadAttention, x: Tensor | Tensor[]) => layer.apply(x) as Tensor;

describe('DCMultiHeadAttention equals @dcformer/compose with the same weights', () => {
  const cases: (Omit<DCMultiHeadAttentionArgs, 'numHeads'> & { label: string })[] = [
    { label: 'global, both sides, RoPE', window: null, chunkSize: 3 },
    {
      label: 'local W=3, query-wise only, QK-norm, biases',
      window: 3,
      queryWise: true,
      keyWise: false,
      useQkNorm: true,
      useBias: true,
      chunkSize: 2,
    },
    { label: 'local W=4, key-wise only, no RoPE', window: 4, queryWise: false, keyWise: true, useRope: false },
    { label: 'partial RoPE (R=2), keyDim 6', window: null, keyDim: 6, rotaryDims: 2, ropeBase: 500 },
  ];
  for (const { label, ...args } of cases) {
    it(label, () => {
      const before = tf.memory().numTensors;
      const layer = makeLayer(args);
      tf.tidy(() => {
        const x = randn([B, T, D], 1);
        const y = apply(layer, x);
        const w = weightsByName(layer);
        const p = projectQkv(x, w, N, {
          useQkNorm: args.useQkNorm,
          useRope: args.useRope,
          rotaryDims: args.rotaryDims ?? undefined,
          ropeBase: args.ropeBase,
        });
        const dyn = dynamicWeights(x, { dw1: w.dw1, qkw: w.qkw, dd: w.dd });
        const [qw, kw] = [args.queryWise ?? true, args.keyWise ?? true];
        const weights = { query: qw ? dyn.query : null, key: kw ? dyn.key : null };
        const compose = { queryWise: qw, keyWise: kw };
        const ref = outputProjection(
          dcmhaAttention(p.q_BNTE, p.k_BNTE, p.v_BNTE, weights, { window: args.window ?? null, chunkSize: T, compose }),
          w,
        );
        expect(maxAbsDiff(y, ref)).toBeLessThanOrEqual(1e-5);
        // the boosted composition matters: plain attention over the same q, k, v is far off
        const mha = outputProjection(
          dcmhaAttention(p.q_BNTE, p.k_BNTE, p.v_BNTE, null, { window: args.window ?? null, chunkSize: T }),
          w,
        );
        expect(maxAbsDiff(y, mha)).toBeGreaterThan(0.1);
      });
      layer.dispose();
      expect(tf.memory().numTensors).toBe(before);
    });
  }
});

describe('useDcmha: false equals plain multi-head attention computed directly', () => {
  const cases = [
    { label: 'causal, global', causal: true, window: null },
    { label: 'causal, window 3, QK-norm', causal: true, window: 3, useQkNorm: true },
    { label: 'bidirectional', causal: false, window: null },
    { label: 'bidirectional band |t−s| < 2', causal: false, window: 2 },
  ];
  for (const { label, causal, window, useQkNorm } of cases) {
    it(label, () => {
      const layer = makeLayer({ useDcmha: false, causal, window, useQkNorm, useBias: true });
      expect(layer.weights.map((v) => v.originalName.split('/').pop())).not.toContain('dw1');
      tf.tidy(() => {
        const x = randn([B, T, D], 2);
        const w = weightsByName(layer);
        const visible = (t: number, s: number) => (!causal || s <= t) && (window === null || Math.abs(t - s) < window);
        const ref = outputProjection(plainAttention(projectQkv(x, w, N, { useQkNorm }), visible), w);
        expect(maxAbsDiff(apply(layer, x), ref)).toBeLessThanOrEqual(1e-5);
      });
      layer.dispose();
    });
  }
});

describe('padding masks', () => {
  it("an all-ones mask (dense path) gives the chunked path's output and gradients", () => {
    const layer = makeLayer({ window: 3, chunkSize: 2, useQkNorm: true });
    tf.tidy(() => {
      const x = randn([B, T, D], 3);
      const r = randn([B, T, D], 4);
      const ones = tf.ones([B, T]);
      const vars = layer.trainableWeights.map((v) => v.read() as tf.Variable);
      const run = (inputs: Tensor | Tensor[]) =>
        tf.variableGrads(() => tf.sum(tf.mul(apply(layer, inputs), r)) as tf.Scalar, vars);
      const chunked = run(x);
      const dense = run([x, ones]);
      expect(Math.abs(chunked.value.dataSync()[0] - dense.value.dataSync()[0])).toBeLessThan(1e-4);
      for (const v of vars) {
        const g = chunked.grads[v.name];
        const scale = tf.max(tf.abs(g)).dataSync()[0];
        expect(maxAbsDiff(g, dense.grads[v.name]) / scale, v.name).toBeLessThan(1e-4);
      }
    });
    layer.dispose();
  });

  it('left padding equals dcmhaAttention with keyStart; padded positions output 0', () => {
    const layer = makeLayer({ window: 4 });
    tf.tidy(() => {
      const x = randn([B, T, D], 5);
      const pads = [0, 3];
      const mask = tf.tensor2d(pads.map((p) => Array.from({ length: T }, (_, t) => (t >= p ? 1 : 0))));
      const y = apply(layer, [x, mask]).arraySync() as number[][][];
      const w = weightsByName(layer);
      const p = projectQkv(x, w, N);
      const dyn = dynamicWeights(x, { dw1: w.dw1, qkw: w.qkw, dd: w.dd });
      const ref = outputProjection(
        dcmhaAttention(p.q_BNTE, p.k_BNTE, p.v_BNTE, dyn, { window: 4, chunkSize: T, keyStart: pads }),
        w,
      ).arraySync() as number[][][];
      pads.forEach((pad, b) => {
        for (let t = 0; t < T; t++) {
          for (let d = 0; d < D; d++) {
            const want = t < pad ? 0 : ref[b][t][d];
            expect(Math.abs(y[b][t][d] - want)).toBeLessThanOrEqual(1e-5);
          }
        }
      });
    });
    layer.dispose();
  });

  it('a Keras mask from embedding({maskZero: true}) acts as the padding mask', () => {
    const V = 5;
    const ids = tf.input({ shape: [T] });
    const embedding = tf.layers.embedding({ inputDim: V, outputDim: D, maskZero: true });
    const attention = new DCMultiHeadAttention({ numHeads: N, seed: 3 });
    const model = tf.model({ inputs: ids, outputs: attention.apply(embedding.apply(ids)) as tf.SymbolicTensor });
    tf.tidy(() => {
      const rows = [
        [3, 1, 4, 1, 2, 0, 0],
        [2, 3, 4, 1, 2, 3, 4],
      ]; // right padding with id 0
      const x = tf.tensor2d(rows);
      const viaMask = model.predict(x) as Tensor;
      const explicit = apply(attention, [embedding.apply(x) as Tensor, tf.notEqual(x, 0)]);
      expect(maxAbsDiff(viaMask, explicit)).toBe(0);
      // without the mask the padded positions would not be 0
      expect(tf.max(tf.abs(tf.slice(viaMask, [0, 5, 0], [1, 2, D]))).dataSync()[0]).toBe(0);
    });
    model.dispose();
  });
});
