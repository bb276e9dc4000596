// Conformance of the fused DcmhaAttention kernels (native/attention.cc) against the chunked
// reference path of @dcformer/compose (the same function through separate tfjs ops, with its own
// hand-written recomputing backward): forward and the gradient of every input, on windowed and
// global layers, queryWise/keyWise on and off, no Compose (MHA), T not a multiple of the block,
// T < W, decode-shaped T = 1 against a longer cache, and left-padded rows (per-row key starts).
import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-core/dist/register_all_gradients';
import { dcmhaAttention, type AttentionWeights } from '@dcformer/compose';
import { hasFusedAttention, type ComposeAttrs, type ComposeWeights } from '@dcformer/kernels';
import { attentionWeightsOf } from '@dcformer/kernels/testing';
import { beforeAll, describe, expect, it } from 'vitest';
import { registerCpuKernels } from '../src/register-all.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
  process.env.DCFORMER_QUIET = '1';
  registerCpuKernels();
});

interface Case {
  B: number;
  N: number;
  T: number;
  S: number;
  E: number;
  window: number | null;
  chunk: number;
  attrs: ComposeAttrs | null;
  keyStart?: number[];
  queryOffset?: number;
}

const both = { queryWise: true, keyWise: true };
const cases: Case[] = [
  { B: 2, N: 4, T: 45, S: 45, E: 8, window: 7, chunk: 16, attrs: both },
  { B: 1, N: 8, T: 70, S: 70, E: 32, window: null, chunk: 128, attrs: both },
  { B: 2, N: 3, T: 37, S: 37, E: 4, window: 5, chunk: 8, attrs: { queryWise: true, keyWise: false } },
  { B: 1, N: 4, T: 33, S: 33, E: 16, window: null, chunk: 12, attrs: { queryWise: false, keyWise: true } },
  { B: 2, N: 2, T: 41, S: 41, E: 12, window: 9, chunk: 16, attrs: null },
  { B: 1, N: 4, T: 19, S: 19, E: 8, window: 64, chunk: 8, attrs: both }, // T < W
  { B: 2, N: 4, T: 1, S: 50, E: 8, window: 20, chunk: 128, attrs: both }, // decode: T = 1
  { B: 2, N: 4, T: 6, S: 40, E: 8, window: null, chunk: 4, attrs: both }, // last T keys
  // T ≤ 4 runs row by row (attention-decode.cc): every side combination, windows, padding, one key
  { B: 1, N: 32, T: 1, S: 37, E: 16, window: null, chunk: 128, attrs: both },
  { B: 2, N: 4, T: 3, S: 30, E: 8, window: 7, chunk: 128, attrs: { queryWise: true, keyWise: false } },
  { B: 2, N: 4, T: 2, S: 30, E: 8, window: null, chunk: 128, attrs: { queryWise: false, keyWise: true } },
  { B: 1, N: 4, T: 4, S: 9, E: 12, window: null, chunk: 2, attrs: null },
  { B: 1, N: 4, T: 1, S: 1, E: 8, window: 4, chunk: 128, attrs: both },
  { B: 3, N: 4, T: 2, S: 20, E: 8, window: 6, chunk: 128, attrs: both, keyStart: [0, 19, 25] },
  // left-padded rows: keys before keyStart[b] are padding (queries there see nothing)
  { B: 3, N: 4, T: 29, S: 29, E: 8, window: null, chunk: 8, attrs: both, keyStart: [0, 5, 11] },
  { B: 2, N: 4, T: 29, S: 29, E: 8, window: 6, chunk: 16, attrs: both, keyStart: [3, 0] },
];

function randn(shape: number[], seed: number, scale = 1) {
  return tf.mul(tf.randomNormal(shape, 0, 1, 'float32', seed), scale);
}

function weightsFor(c: Case, attrs: ComposeAttrs, seed: number): ComposeWeights {
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
}

/** The weights' tensors in one order (query then key side, pre then post, w1 w2 dd) … */
function flatWeights(w: AttentionWeights): tf.Tensor[] {
  return [w.query, w.key].flatMap((s) => (s === null ? [] : [s.pre, s.post])).flatMap((x) => [x.w1, x.w2, x.dd]);
}

/** … and the same structure as `like` around tensors in that order (the differentiated copies). */
function fromFlat(like: AttentionWeights, ws: tf.Tensor[]): AttentionWeights {
  let i = 0;
  const call = () => ({ w1: ws[i++], w2: ws[i++], dd: ws[i++] });
  const side = (s: AttentionWeights['query']) => (s === null ? null : { pre: call(), post: call() });
  return { query: side(like.query), key: side(like.key) }; // evaluated in this order
}

/** max |a − b| over max(1, max |b|): absolute for O(1) values, relative for large gradients */
function scaledError(a: tf.Tensor, b: tf.Tensor): number {
  const x = a.dataSync();
  const y = b.dataSync();
  let err = 0;
  let big = 1;
  for (let i = 0; i < y.length; i++) {
    err = Math.max(err, Math.abs(x[i] - y[i]));
    big = Math.max(big, Math.abs(y[i]));
  }
  return err / big;
}

describe('DcmhaAttention (fused, native) vs the chunked reference of @dcformer/compose', () => {
  it('is registered on cpu', () => expect(hasFusedAttention('cpu')).toBe(true));
  for (const c of cases) {
    const label = `B${c.B} N${c.N} T${c.T} S${c.S} E${c.E} W${c.window} chunk${c.chunk} ${c.attrs ? `q${+c.attrs.queryWise}k${+c.attrs.keyWise}` : 'mha'}${c.keyStart ? ` keyStart ${c.keyStart}` : ''}`;
    it(label, () => {
      const before = tf.memory().numTensors;
      tf.tidy(() => {
        const q = randn([c.B, c.N, c.T, c.E], 1);
        const k = randn([c.B, c.N, c.S, c.E], 2);
        const v = randn([c.B, c.N, c.S, c.E], 3);
        // d(loss)/d(out): zero on query rows that see no key (padding), whose output is defined
        // differently by the two paths (0 fused, a uniform average over the chunk's keys chunked)
        const mask = new Float32Array(c.B * c.N * c.T * c.E).fill(1);
        const queryOffset = c.S - c.T;
        if (c.keyStart)
          for (let b = 0; b < c.B; b++)
            for (let n = 0; n < c.N; n++)
              for (let t = 0; t < c.T; t++)
                if (queryOffset + t < c.keyStart[b])
                  mask.fill(0, ((b * c.N + n) * c.T + t) * c.E, ((b * c.N + n) * c.T + t + 1) * c.E);
        const r = tf.mul(randn([c.B, c.N, c.T, c.E], 4), tf.tensor(mask, [c.B, c.N, c.T, c.E]));
        const weights: AttentionWeights | null = c.attrs
          ? attentionWeightsOf(weightsFor(c, c.attrs, 10), weightsFor(c, c.attrs, 20))
          : null;
        const flat: tf.Tensor[] = [q, k, v, ...(weights ? flatWeights(weights) : [])];
        const run = (fused: boolean) =>
          tf.grads((...xs: tf.Tensor[]) => {
            const [qq, kk, vv, ...ws] = xs;
            const wts = weights && fromFlat(weights, ws);
            const out = dcmhaAttention(qq, kk, vv, wts, {
              window: c.window,
              chunkSize: c.chunk,
              compose: c.attrs ?? undefined,
              keyStart: c.keyStart,
              fused,
            });
            return tf.sum(tf.mul(out, r));
          });
        const outOf = (fused: boolean) =>
          tf.mul(
            dcmhaAttention(q, k, v, weights, {
              window: c.window,
              chunkSize: c.chunk,
              compose: c.attrs ?? undefined,
              keyStart: c.keyStart,
              fused,
            }),
            tf.tensor(mask, [c.B, c.N, c.T, c.E]),
          );
        expect(scaledError(outOf(true), outOf(false))).toBeLessThan(1e-5);
        const gf = run(true)(flat);
        const gr = run(false)(flat);
        gf.forEach((g, i) => {
          const e = scaledError(g, gr[i]);
          expect(e, `gradient of input ${i}: ${e}`).toBeLessThan(1e-4);
        });
      });
      expect(tf.memory().numTensors).toBe(before);
    });
  }
});
