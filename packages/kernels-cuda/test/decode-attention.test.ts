// One DCMHA decode step (decode-attention.cu, host build) against the same steps in tfjs ops on the
// cpu backend — scores q·kᵀ/√E, pre-Compose (the reference kernel of @dcformer/kernels), mask,
// softmax, post-Compose, ·v — the order @dcformer/compose's dcmhaAttention documents.
import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import { dcmhaCompose, type ComposeAttrs } from '@dcformer/kernels';
import { compareClose } from '@dcformer/kernels/testing';
import { describe, expect, it } from 'vitest';
import { hostAddon } from './host-build.js';

await tf.setBackend('cpu');
const addon = hostAddon('the host-build decode-attention tests');

type Side = Record<'qw1' | 'qw2' | 'qdd' | 'kw1' | 'kw2' | 'kdd', tf.Tensor>;

function weights(B: number, S: number, I: number, N: number, seed: number): Side {
  const r = (shape: number[], k: number) => tf.randomUniform(shape, -0.4, 0.4, 'float32', seed + k);
  return {
    qw1: r([B, 1, I, N], 1),
    qw2: r([B, 1, I, N], 2),
    qdd: r([B, 1, N], 3),
    kw1: r([B, S, I, N], 4),
    kw2: r([B, S, I, N], 5),
    kdd: r([B, S, N], 6),
  };
}

function pick(w: Side, attrs: ComposeAttrs) {
  return {
    ...(attrs.queryWise ? { qw1: w.qw1, qw2: w.qw2, qdd: w.qdd } : {}),
    ...(attrs.keyWise ? { kw1: w.kw1, kw2: w.kw2, kdd: w.kdd } : {}),
  };
}

describe.skipIf(addon === null)('decodeAttention (decode-attention.cu, host build)', () => {
  const cases = [
    { B: 2, N: 4, S: 9, E: 8, I: 2, lo: [0, 3], attrs: { queryWise: true, keyWise: true } },
    { B: 1, N: 8, S: 300, E: 16, I: 2, lo: [40], attrs: { queryWise: true, keyWise: true } }, // more keys than row lanes
    { B: 3, N: 3, S: 5, E: 4, I: 1, lo: [0, 4, 2], attrs: { queryWise: false, keyWise: true } },
    { B: 2, N: 5, S: 6, E: 8, I: 3, lo: [1, 0], attrs: { queryWise: true, keyWise: false } },
  ];
  for (const { B, N, S, E, I, lo, attrs } of cases) {
    it(`B${B} N${N} S${S} E${E} I${I} lo [${lo}] q${+attrs.queryWise}k${+attrs.keyWise}`, () => {
      tf.tidy(() => {
        const q = tf.randomUniform([B, N, 1, E], -1, 1, 'float32', 11);
        const k = tf.randomUniform([B, N, S, E], -1, 1, 'float32', 12);
        const v = tf.randomUniform([B, N, S, E], -1, 1, 'float32', 13);
        const pre = weights(B, S, I, N, 20),
          post = weights(B, S, I, N, 30);
        const scale = 1 / Math.sqrt(E);
        // the reference: masked keys get −∞ after pre-Compose, so probability 0
        const scores = tf.mul(tf.matMul(q, k, false, true), scale);
        const logits = dcmhaCompose({ x: scores, ...pick(pre, attrs) }, attrs);
        const mask = tf.tensor4d(
          Array.from({ length: B * S }, (_, j) => (j % S < lo[Math.floor(j / S)] ? -Infinity : 0)),
          [B, 1, 1, S],
        );
        const probs = dcmhaCompose({ x: tf.softmax(tf.add(logits, mask)), ...pick(post, attrs) }, attrs);
        const want = tf.matMul(probs, v).dataSync();

        const d = (t: tf.Tensor) => t.dataSync() as Float32Array;
        const side = (w: Side) =>
          [w.qw1, w.qw2, w.qdd, w.kw1, w.kw2, w.kdd].map((t, j) =>
            (j < 3 ? attrs.queryWise : attrs.keyWise) ? d(t) : null,
          );
        const out = new Float32Array(B * N * E);
        const [p1, p2, p3, p4, p5, p6] = side(pre);
        const [o1, o2, o3, o4, o5, o6] = side(post);
        addon!.decodeAttention(
          d(q),
          d(k),
          d(v),
          p1,
          p2,
          p3,
          p4,
          p5,
          p6,
          o1,
          o2,
          o3,
          o4,
          o5,
          o6,
          Int32Array.from(lo),
          out,
          B,
          N,
          S,
          E,
          I,
          scale,
        );
        const rep = compareClose(out, want, [B, N, E], { atol: 2e-5, rtol: 1e-4 });
        expect(rep.ok, rep.message).toBe(true);
      });
    });
  }
  it('refuses a row that sees no key, naming it', () => {
    const f = new Float32Array(64);
    expect(() =>
      addon!.decodeAttention(
        f,
        f,
        f,
        null,
        null,
        null,
        null,
        null,
        null,
        null,
        null,
        null,
        null,
        null,
        null,
        Int32Array.from([2]),
        f,
        1,
        1,
        2,
        2,
        1,
        1,
      ),
    ).toThrow(/'lo' values must be in \[0, S = 2\); got lo\[0\] = 2/);
  });
});
