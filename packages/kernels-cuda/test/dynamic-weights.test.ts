// The fused dynamic weight projection (dynamic-weights.cu) in the host build against
// @dcformer/compose's `dynamicWeights` (tfjs ops on the cpu backend): every slot's w1 (normalised),
// w2 and dd, for shapes with K and N at and below the kernel's limits.
import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import { dynamicWeights } from '@dcformer/compose';
import { compareClose } from '@dcformer/kernels/testing';
import { describe, expect, it } from 'vitest';
import { hostAddon } from './host-build.js';

await tf.setBackend('cpu');
const addon = hostAddon('the host-build dynamic-weight tests');

describe.skipIf(addon === null)('dynamicWeights (dynamic-weights.cu, host build) vs @dcformer/compose', () => {
  const cases = [
    { B: 2, T: 5, D: 32, K: 8, I: 2, N: 4 },
    { B: 1, T: 3, D: 64, K: 256, I: 1, N: 64 }, // the register arrays' limits
    { B: 3, T: 1, D: 40, K: 24, I: 3, N: 6 }, // decode: one position per row
  ];
  for (const { B, T, D, K, I, N } of cases) {
    it(`B${B} T${T} D${D} K${K} I${I} N${N}`, () => {
      tf.tidy(() => {
        const x = tf.randomUniform([B, T, D], -1, 1, 'float32', 1);
        const params = {
          dw1: tf.randomUniform([D, 1, 4, K], -0.3, 0.3, 'float32', 2),
          qkw: tf.randomUniform([1, 4, K, 2 * I, N], -0.3, 0.3, 'float32', 3),
          dd: tf.randomUniform([D, 1, 4 * N], -0.3, 0.3, 'float32', 4),
        };
        const want = dynamicWeights(x, params);
        const X = B * T;
        const [w1, w2, dd] = [
          new Float32Array(4 * X * I * N),
          new Float32Array(4 * X * I * N),
          new Float32Array(X * 4 * N),
        ];
        const v = (t: tf.Tensor) => t.dataSync() as Float32Array;
        addon!.dynamicWeights(v(x), v(params.dw1), v(params.qkw), v(params.dd), w1, w2, dd, X, D, K, I, N);
        // the addon's slot order (SLOTS): pre query, pre key, post query, post key
        const calls = [want.query.pre, want.key.pre, want.query.post, want.key.post];
        const slots = calls.map((w) => w.w1);
        const slots2 = calls.map((w) => w.w2);
        const dds = calls.map((w) => w.dd);
        for (let c = 0; c < 4; c++) {
          const n = X * I * N;
          for (const [label, got, exp] of [
            ['w1', w1, slots[c]],
            ['w2', w2, slots2[c]],
          ] as const) {
            const rep = compareClose(got.subarray(c * n, (c + 1) * n), v(exp), exp.shape, {
              atol: 1e-5,
              rtol: 1e-4,
              label: `${label} slot ${c}`,
            });
            expect(rep.ok, rep.message).toBe(true);
          }
          const ddSlot = Float32Array.from({ length: X * N }, (_, j) => dd[(Math.floor(j / N) * 4 + c) * N + (j % N)]);
          const rep = compareClose(ddSlot, v(dds[c]), dds[c].shape, { atol: 1e-6, rtol: 1e-5, label: `dd slot ${c}` });
          expect(rep.ok, rep.message).toBe(true);
        }
      });
    });
  }
  it('refuses K past its register array, naming the limit', () => {
    const f = new Float32Array(1 << 12);
    expect(() => addon!.dynamicWeights(f, f, f, f, f, f, f, 1, 1, 257, 1, 1)).toThrow(/K ≤ 256/);
  });
});
