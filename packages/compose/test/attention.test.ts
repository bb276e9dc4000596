import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-core/dist/register_all_gradients';
import { composeReference, type ComposeAttrs, type ComposeWeights } from '@dcformer/kernels';
import { attentionWeightsOf, compareClose } from '@dcformer/kernels/testing';
import { beforeAll, describe, expect, it } from 'vitest';
import { chunkRanges, dcmhaAttention } from '../src/attention.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

/**
 * Unchunked attention from taped tfjs ops (autodiff), with an explicit T×S mask: an independent route
 * to the same function, used to check the chunked forward and its hand-written, recomputing backward.
 */
function plainAttention(
  q: tf.Tensor,
  k: tf.Tensor,
  v: tf.Tensor,
  pre: ComposeWeights | null,
  post: ComposeWeights | null,
  window: number | null,
  offset: number,
  attrs: ComposeAttrs,
) {
  const [, , T, E] = q.shape as number[];
  const S = k.shape[2] as number;
  const mask = new Float32Array(T * S);
  for (let t = 0; t < T; t++)
    for (let s = 0; s < S; s++) {
      const p = offset + t;
      mask[t * S + s] = s <= p && (window === null || s > p - window) ? 0 : -1e30;
    }
  let scores = tf.div(tf.matMul(q, k, false, true), Math.sqrt(E));
  if (pre) scores = composeReference({ x: scores, ...pre }, attrs);
  let probs = tf.softmax(tf.add(scores, tf.tensor(mask, [1, 1, T, S])));
  if (post) probs = composeReference({ x: probs, ...post }, attrs);
  return tf.matMul(probs, v);
}

function randn(shape: number[], seed: number, scale = 1) {
  return tf.mul(tf.randomNormal(shape, 0, 1, 'float32', seed), scale);
}

interface Case {
  B: number;
  N: number;
  T: number;
  S: number;
  E: number;
  window: number | null;
  chunk: number;
  attrs: ComposeAttrs | null;
}

const cases: Case[] = [
  { B: 2, N: 4, T: 13, S: 13, E: 8, window: 4, chunk: 5, attrs: { queryWise: true, keyWise: true } },
  { B: 1, N: 4, T: 13, S: 13, E: 8, window: null, chunk: 4, attrs: { queryWise: true, keyWise: true } },
  { B: 1, N: 3, T: 9, S: 9, E: 4, window: 3, chunk: 2, attrs: { queryWise: true, keyWise: false } },
  { B: 1, N: 4, T: 10, S: 10, E: 8, window: 16, chunk: 3, attrs: { queryWise: false, keyWise: true } },
  { B: 2, N: 2, T: 11, S: 11, E: 4, window: 5, chunk: 4, attrs: null },
  { B: 1, N: 4, T: 4, S: 12, E: 8, window: 6, chunk: 3, attrs: { queryWise: true, keyWise: true } },
];

describe('dcmhaAttention (chunked, recomputing backward) vs unchunked autodiff', () => {
  for (const c of cases) {
    const label = `B${c.B} N${c.N} T${c.T} S${c.S} W${c.window} chunk${c.chunk} ${c.attrs ? `q${+c.attrs.queryWise}k${+c.attrs.keyWise}` : 'mha'}`;
    it(label, () => {
      const before = tf.memory().numTensors;
      tf.tidy(() => {
        const q = randn([c.B, c.N, c.T, c.E], 1);
        const k = randn([c.B, c.N, c.S, c.E], 2);
        const v = randn([c.B, c.N, c.S, c.E], 3);
        const r = randn([c.B, c.N, c.T, c.E], 4);
        const side = (attrs: ComposeAttrs, seed: number): ComposeWeights => {
          const I = 2;
          const w: ComposeWeights = {};
          if (attrs.queryWise)
            Object.assign(w, {
              qw1: randn([c.B, c.T, I, c.N], seed, 0.5),
              qw2: randn([c.B, c.T, I, c.N], seed + 1, 0.5),
              qdd: randn([c.B, c.T, c.N], seed + 2, 0.3),
            });
          if (attrs.keyWise)
            Object.assign(w, {
              kw1: randn([c.B, c.S, I, c.N], seed + 3, 0.5),
              kw2: randn([c.B, c.S, I, c.N], seed + 4, 0.5),
              kdd: randn([c.B, c.S, c.N], seed + 5, 0.3),
            });
          return w;
        };
        const pre = c.attrs && side(c.attrs, 10);
        const post = c.attrs && side(c.attrs, 20);
        const names = pre ? (Object.keys(pre) as (keyof ComposeWeights)[]) : [];
        const xs = [q, k, v, ...names.map((n) => pre![n]!), ...names.map((n) => post![n]!)];
        const attrs = c.attrs ?? { queryWise: true, keyWise: true };
        const split = (ys: tf.Tensor[]) => {
          const p: ComposeWeights = {};
          const o: ComposeWeights = {};
          names.forEach((n, i) => {
            p[n] = ys[3 + i];
            o[n] = ys[3 + names.length + i];
          });
          return { p, o };
        };
        const chunked = (...ys: tf.Tensor[]) => {
          const { p, o } = split(ys);
          return tf.sum(
            tf.mul(
              dcmhaAttention(ys[0], ys[1], ys[2], pre ? attentionWeightsOf(p, o) : null, {
                window: c.window,
                chunkSize: c.chunk,
                compose: attrs,
              }),
              r,
            ),
          );
        };
        const plain = (...ys: tf.Tensor[]) => {
          const { p, o } = split(ys);
          return tf.sum(
            tf.mul(plainAttention(ys[0], ys[1], ys[2], pre ? p : null, pre ? o : null, c.window, c.S - c.T, attrs), r),
          );
        };
        const a = tf.grads(chunked)(xs);
        const b = tf.grads(plain)(xs);
        const va = chunked(...xs).dataSync()[0];
        const vb = plain(...xs).dataSync()[0];
        expect(Math.abs(va - vb)).toBeLessThan(1e-4 * Math.max(1, Math.abs(vb)));
        a.forEach((g, i) => {
          const rep = compareClose(g.dataSync(), b[i].dataSync(), g.shape, {
            atol: 2e-5,
            rtol: 1e-4,
            label: `${label} grad ${i}`,
          });
          expect(rep.ok, rep.message).toBe(true);
        });
      });
      expect(tf.memory().numTensors).toBe(before);
    });
  }

  it('names a side that is switched on but not given', () => {
    tf.tidy(() => {
      const [B, N, T, E, I] = [1, 2, 3, 4, 2];
      const x = tf.zeros([B, N, T, E]);
      const call = () => ({ w1: tf.zeros([B, T, I, N]), w2: tf.zeros([B, T, I, N]), dd: tf.zeros([B, T, N]) });
      const keyOnly = { query: null, key: { pre: call(), post: call() } };
      const run = () =>
        dcmhaAttention(x, x, x, keyOnly, { window: null, chunkSize: 2, compose: { queryWise: true, keyWise: true } });
      expect(run).toThrow(/dcmhaAttention: 'query' weights are required when queryWise is on/);
      // without `compose`, the sides given are the sides on
      expect(dcmhaAttention(x, x, x, keyOnly, { window: null, chunkSize: 2 }).shape).toEqual([B, N, T, E]);
    });
  });

  it('chunk key ranges: local chunks see W − 1 earlier keys at most', () => {
    expect(chunkRanges(10, 10, 0, 4, 4)).toEqual([
      { t0: 0, t1: 4, ks: 0, ke: 4 },
      { t0: 4, t1: 8, ks: 1, ke: 8 },
      { t0: 8, t1: 10, ks: 5, ke: 10 },
    ]);
    expect(chunkRanges(5, 5, 0, null, 4).map((r) => r.ks)).toEqual([0, 0]);
  });
});

describe('training memory', () => {
  /** Bytes alive at the end of a taped forward (what the backward pass will hold on to). */
  function forwardBytes(T: number, window: number | null, saveBudgetBytes?: number): number {
    let held = 0;
    tf.tidy(() => {
      const [B, N, E, I] = [1, 4, 8, 2];
      const q = tf.randomNormal([B, N, T, E]);
      const k = tf.randomNormal([B, N, T, E]);
      const v = tf.randomNormal([B, N, T, E]);
      const side = (): ComposeWeights => ({
        qw1: tf.randomNormal([B, T, I, N]),
        qw2: tf.randomNormal([B, T, I, N]),
        qdd: tf.randomNormal([B, T, N]),
        kw1: tf.randomNormal([B, T, I, N]),
        kw2: tf.randomNormal([B, T, I, N]),
        kdd: tf.randomNormal([B, T, N]),
      });
      const weights = attentionWeightsOf(side(), side());
      const before = tf.memory().numBytes;
      tf.grads((qq: tf.Tensor) => {
        const out = dcmhaAttention(qq, k, v, weights, { window, chunkSize: 16, saveBudgetBytes });
        held = tf.memory().numBytes - before;
        return tf.sum(out);
      })([q]);
    });
    return held;
  }

  it('past the budget, grows linearly in T (chunks recomputed, no T×T scores kept)', () => {
    const small = forwardBytes(64, 8, 0);
    const large = forwardBytes(256, 8, 0);
    // inputs and outputs are O(T): 4× the length may hold at most ~4× the bytes, never 16×
    expect(large / small).toBeLessThan(4.5);
    // whereas a global layer's forward is O(T) here too (recompute), a naive taped one would be O(T²)
    expect(forwardBytes(256, null, 0) / small).toBeLessThan(4.5);
  });

  it('within the budget, keeps the chunk intermediates (more bytes held) and gives the same gradients', () => {
    expect(forwardBytes(256, null) / forwardBytes(256, null, 0)).toBeGreaterThan(2);
    const grads = (saveBudgetBytes: number) =>
      tf.tidy(() => {
        const [B, N, T, E, I] = [2, 4, 40, 8, 2];
        const r = (shape: number[], seed: number) => tf.randomNormal(shape, 0, 1, 'float32', seed);
        const side = (o: number): ComposeWeights => ({
          qw1: r([B, T, I, N], o + 1),
          qw2: r([B, T, I, N], o + 2),
          qdd: r([B, T, N], o + 3),
          kw1: r([B, T, I, N], o + 4),
          kw2: r([B, T, I, N], o + 5),
          kdd: r([B, T, N], o + 6),
        });
        const pre = side(10);
        const post = side(20);
        const [q, k, v] = [r([B, N, T, E], 1), r([B, N, T, E], 2), r([B, N, T, E], 3)];
        const f = (qq: tf.Tensor, kk: tf.Tensor, vv: tf.Tensor, w: tf.Tensor) =>
          tf.sum(
            tf.mul(
              dcmhaAttention(qq, kk, vv, attentionWeightsOf({ ...pre, kw1: w }, post), {
                window: 16,
                chunkSize: 8,
                saveBudgetBytes,
              }),
              r([B, N, T, E], 4),
            ),
          );
        return tf
          .grads(f)([q, k, v, pre.kw1 as tf.Tensor])
          .map((g) => Array.from(g.dataSync()));
      });
    const recomputed = grads(0);
    const kept = grads(2 ** 30);
    kept.forEach((g, i) => expect(g).toEqual(recomputed[i]));
  });
});
