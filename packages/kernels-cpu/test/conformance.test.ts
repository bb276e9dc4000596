// The registered kernels against the contract of @dcformer/kernels: the Compose conformance suite
// (forward + gradients through the fused backward), the fused backward against the reference
// gradient directly, and BatchMatMul against the original tfjs kernel for every transpose combo.
import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-core/dist/register_all_gradients';
import {
  adamWReference,
  adamWUpdate,
  composeInputNames,
  composeInputsFromList,
  dcmhaCompose,
  rope,
  ropeReference,
  composeReferenceGrad,
  dcmhaComposeBackward,
  type ComposeAttrs,
} from '@dcformer/kernels';
import {
  compareClose,
  runAdamWConformance,
  runComposeBandConformance,
  runComposeConformance,
  runCrossEntropyConformance,
  runGeluConformance,
  runRmsNormConformance,
  runRopeConformance,
} from '@dcformer/kernels/testing';
import { describe, expect, it } from 'vitest';
import { skipUnlessCI } from '../../../tools/test-env.mjs';
import { fastPathInfo, overriddenKernels, registerCpuKernels, unregisterCpuKernels } from '../src/index.js';

process.env.DCFORMER_QUIET = '1';
// At module level: the conformance results below are computed while the suite is collected.
await tf.setBackend('cpu');
registerCpuKernels('cpu');

// Without the addon the suites below compare tfjs with itself: under CI that fails the file, elsewhere
// the native-only checks skip with the reason.
const noNative = skipUnlessCI(
  'the native kernel tests',
  fastPathInfo()?.path === 'native' ? null : `the native addon is missing (${fastPathInfo()?.detail})`,
);
const itNative = it.skipIf(noNative);

describe('DcmhaCompose conformance with @dcformer/kernels-cpu registered', () => {
  it('says which path runs', () => {
    expect(['native', 'tfjs']).toContain(fastPathInfo()?.path);
  });
  // Same cases as kernels' own suite plus larger ones: S not a multiple of any vector width, T ≠ S,
  // and enough rows that the parallel loops split work across threads.
  const cases = [
    { B: 2, N: 8, T: 37, S: 53, I: 2, attrs: { queryWise: true, keyWise: true }, seed: 11 },
    { B: 1, N: 4, T: 1, S: 129, I: 2, attrs: { queryWise: true, keyWise: true }, seed: 12 },
    { B: 3, N: 6, T: 33, S: 17, I: 3, attrs: { queryWise: false, keyWise: true }, seed: 13 },
    { B: 2, N: 5, T: 40, S: 40, I: 1, attrs: { queryWise: true, keyWise: false }, seed: 14 },
  ];
  for (const r of [...runComposeConformance(), ...runComposeConformance(cases)]) {
    it(r.name, () => expect(r.ok, r.message).toBe(true));
  }
});

describe('DcmhaCompose band hint with @dcformer/kernels-cpu registered (the fused kernel skips out-of-band positions)', () => {
  const cases = [
    {
      B: 2,
      N: 8,
      T: 64,
      S: 127,
      I: 2,
      attrs: { queryWise: true, keyWise: true },
      seed: 61,
      band: { queryOffset: 64, keyOffset: 1, window: 64 },
      use: 'post' as const,
    },
    {
      B: 2,
      N: 8,
      T: 64,
      S: 128,
      I: 2,
      attrs: { queryWise: true, keyWise: true },
      seed: 62,
      band: { queryOffset: 64, keyOffset: 0, window: null },
      use: 'pre' as const,
    },
  ];
  for (const r of [...runComposeBandConformance(), ...runComposeBandConformance(cases)])
    it(r.name, () => expect(r.ok, r.message).toBe(true));
  itNative('writes 0 out of band (native path)', () => {
    tf.tidy(() => {
      const [B, N, T, S, I] = [1, 2, 4, 6, 1];
      const w = (shape: number[], seed: number) => rand(shape, seed);
      const out = dcmhaCompose(
        { x: w([B, N, T, S], 71), qw1: w([B, T, I, N], 72), qw2: w([B, T, I, N], 73), qdd: w([B, T, N], 74) },
        { queryWise: true, keyWise: false, band: { queryOffset: 2, keyOffset: 0, window: 2 } },
      ).arraySync() as number[][][][];
      // row t sees keys t+1 and t+2 (p = t + 2, window 2)
      for (let t = 0; t < T; t++)
        for (let s = 0; s < S; s++) if (s < t + 1 || s > t + 2) expect(out[0][1][t][s]).toBe(0);
    });
  });
});

describe('DcSoftmaxCrossEntropy conformance with @dcformer/kernels-cpu registered', () => {
  const cases = [
    { R: 7, V: 50304, scale: 6, offset: 0, seed: 21 }, // a vocabulary row, split across threads
    { R: 300, V: 17, scale: 3, offset: 5, seed: 22 }, // V not a multiple of the vector width
  ];
  for (const r of [...runCrossEntropyConformance(), ...runCrossEntropyConformance(cases)]) {
    it(r.name, () => expect(r.ok, r.message).toBe(true));
  }
  itNative('ran the fused kernels (native path)', () => {
    expect(fastPathInfo()?.kernels).toEqual(
      expect.arrayContaining(['DcSoftmaxCrossEntropy', 'DcSoftmaxCrossEntropyBackward']),
    );
  });
});

describe('DcRmsNorm conformance with @dcformer/kernels-cpu registered', () => {
  const cases = [
    { shape: [8, 256, 256], eps: 1e-6, scale: 1, seed: 31 }, // a bench-small norm: split across threads
    { shape: [2, 9, 8, 32], eps: 1e-6, scale: 3, seed: 32 }, // QK-norm over heads
    { shape: [5, 19], eps: 0, scale: 1, seed: 33 },
  ];
  for (const r of [...runRmsNormConformance(), ...runRmsNormConformance(cases)]) {
    it(r.name, () => expect(r.ok, r.message).toBe(true));
  }
  itNative('ran the fused kernels (native path)', () => {
    expect(fastPathInfo()?.kernels).toEqual(expect.arrayContaining(['DcRmsNorm', 'DcRmsNormBackward']));
  });
});

describe('DcRope with @dcformer/kernels-cpu registered', () => {
  const cases = [{ B: 8, T: 256, N: 8, E: 32, H: 16, perRow: false, seed: 41 }]; // bench-small, split across threads
  for (const r of [...runRopeConformance(), ...runRopeConformance(cases)])
    it(r.name, () => expect(r.ok, r.message).toBe(true));
  itNative('equals the reference ops bit for bit', () => {
    tf.tidy(() => {
      const x = rand([3, 7, 4, 20], 51);
      const cos = tf.cos(rand([3, 7, 1, 8], 52));
      const sin = tf.sin(rand([3, 7, 1, 8], 53));
      expect(Array.from(rope(x, cos, sin).dataSync())).toEqual(Array.from(ropeReference(x, cos, sin).dataSync()));
    });
  });
});

describe('DcGelu with @dcformer/kernels-cpu registered', () => {
  for (const r of [...runGeluConformance(), ...runGeluConformance(100_003)])
    it(r.name, () => expect(r.ok, r.message).toBe(true));
});

function rand(shape: number[], seed: number): tf.Tensor {
  return tf.randomUniform(shape, -1, 1, 'float32', seed);
}

describe('DcmhaComposeBackward vs the reference gradient', () => {
  const shapes = [
    { B: 2, N: 8, T: 64, S: 192, I: 2 },
    { B: 1, N: 3, T: 5, S: 1, I: 4 },
  ];
  const sides: ComposeAttrs[] = [
    { queryWise: true, keyWise: true },
    { queryWise: true, keyWise: false },
    { queryWise: false, keyWise: true },
  ];
  for (const { B, N, T, S, I } of shapes) {
    for (const attrs of sides) {
      it(`B${B} N${N} T${T} S${S} I${I} q${+attrs.queryWise}k${+attrs.keyWise}`, () => {
        tf.tidy(() => {
          const shapeOf: Record<string, number[]> = {
            x: [B, N, T, S],
            qw1: [B, T, I, N],
            qw2: [B, T, I, N],
            qdd: [B, T, N],
            kw1: [B, S, I, N],
            kw2: [B, S, I, N],
            kdd: [B, S, N],
          };
          const names = composeInputNames(attrs);
          const inputs = composeInputsFromList(
            names.map((n, i) => rand(shapeOf[n], i + 1)),
            attrs,
          );
          const dy = rand([B, N, T, S], 99);
          const fused = dcmhaComposeBackward(inputs, dy, attrs);
          const ref = composeReferenceGrad(inputs, dy, attrs);
          for (const n of composeInputNames(attrs)) {
            const a = (fused as Record<string, tf.Tensor>)[n];
            const e = (ref as Record<string, tf.Tensor>)[n];
            expect(a.shape).toEqual(e.shape);
            const rep = compareClose(a.dataSync(), e.dataSync(), e.shape, { atol: 1e-4, rtol: 1e-5, label: `d${n}` });
            expect(rep.ok, rep.message).toBe(true);
          }
        });
      });
    }
  }
});

describe('BatchMatMul with batch dimensions broadcast both ways, against float64 loops', () => {
  // The tfjs kernel returns too few values for these ([2,1]×[1,3] gives half the output), so the
  // expected values come from plain loops over operands broadcast by tfjs's BroadcastTo.
  const cases: [number[], number[]][] = [
    [
      [2, 1, 3, 4],
      [1, 3, 4, 5],
    ],
    [
      [3, 1, 1, 2, 6],
      [4, 1, 6, 7],
    ],
  ];
  for (const [sa, sb] of cases)
    for (const tb of [false, true])
      it(`${JSON.stringify(sa)} × ${JSON.stringify(sb)}${tb ? 'ᵀ' : ''}`, () => {
        const a = rand(sa, 3);
        const bShape = tb ? [...sb.slice(0, -2), sb[sb.length - 1], sb[sb.length - 2]] : sb;
        const b = rand(bShape, 4);
        const y = tf.matMul(a, b, false, tb);
        const [M, K] = sa.slice(-2);
        const N = sb[sb.length - 1];
        const outer = tf.broadcast_util.assertAndGetBroadcastShape(sa.slice(0, -2), sb.slice(0, -2));
        expect(y.shape).toEqual([...outer, M, N]);
        // both operands broadcast to the output's batch shape by tfjs's BroadcastTo (not the kernel under test)
        const wideA = tf.broadcastTo(a, [...outer, M, K]);
        const wideB = tf.broadcastTo(b, [...outer, ...bShape.slice(-2)]);
        const av = wideA.dataSync();
        const bv = wideB.dataSync();
        const yv = y.dataSync();
        let worst = 0;
        for (let o = 0; o < av.length / (M * K); o++)
          for (let m = 0; m < M; m++)
            for (let n = 0; n < N; n++) {
              let acc = 0;
              for (let k = 0; k < K; k++)
                acc += av[o * M * K + m * K + k] * bv[o * K * N + (tb ? n * K + k : k * N + n)];
              worst = Math.max(worst, Math.abs(yv[o * M * N + m * N + n] - acc));
            }
        expect(worst).toBeLessThan(1e-5);
        tf.dispose([a, b, y, wideA, wideB]);
      });
});

describe('BatchMatMul through the fast path vs the tfjs kernel', () => {
  const cases: [number[], number[]][] = [
    [
      [7, 5],
      [5, 3],
    ],
    [
      [2, 3, 17, 9],
      [2, 3, 9, 4],
    ],
    [
      [1, 33, 20],
      [4, 20, 6],
    ], // a broadcast over the batch
    [
      [4, 33, 20],
      [20, 6],
    ], // b broadcast
    [
      [3, 1, 8],
      [3, 8, 1],
    ],
    [
      [2, 0, 4],
      [2, 4, 3],
    ], // empty
    [
      [3, 300],
      [300, 401],
    ], // few rows against a wide matrix: the skinny path when b is transposed
    [
      [1, 256],
      [256, 333],
    ],
    [
      [517, 64],
      [64, 300],
    ], // one large product split across threads by rows (M ≥ N)…
    [
      [40, 64],
      [64, 1001],
    ], // …or by columns
    [
      [3, 37, 24],
      [3, 24, 45],
    ], // batched small products with a short K: register tiles plus row and column tails
    [
      [1, 8, 16],
      [5, 16, 64],
    ], // the same with a broadcast over the batch
  ];
  for (const [sa, sb] of cases) {
    for (const [ta, tb] of [
      [false, false],
      [true, false],
      [false, true],
      [true, true],
    ]) {
      it(`${JSON.stringify(sa)}${ta ? 'ᵀ' : ''} × ${JSON.stringify(sb)}${tb ? 'ᵀ' : ''}`, () => {
        const swap = (s: number[], t: boolean) => (t ? [...s.slice(0, -2), s[s.length - 1], s[s.length - 2]] : s);
        const a = rand(swap(sa, ta), 1);
        const b = rand(swap(sb, tb), 2);
        const fast = tf.matMul(a, b, ta, tb);
        unregisterCpuKernels();
        const slow = tf.matMul(a, b, ta, tb);
        registerCpuKernels();
        expect(fast.shape).toEqual(slow.shape);
        const rep = compareClose(fast.dataSync(), slow.dataSync(), slow.shape, { atol: 1e-5, rtol: 1e-5 });
        expect(rep.ok, rep.message).toBe(true);
        tf.dispose([a, b, fast, slow]);
      });
    }
  }
  itNative('ran the native GEMM, not the tfjs kernel', () => {
    expect(fastPathInfo()?.kernels).toContain('BatchMatMul');
    expect(overriddenKernels()).toContain('cpu/BatchMatMul');
  });
});

describe('DcAdamWUpdate: fused vs the reference ops', () => {
  for (const r of runAdamWConformance()) it(`conformance: ${r.name}`, () => expect(r.ok, r.message).toBe(true));

  itNative('equal to the last ulp on a parameter-sized update, with and without decay and scaling', () => {
    const n = 100_003;
    for (const attrs of [
      {
        gradScale: 1,
        decay: 1,
        beta1: 0.9,
        beta2: 0.95,
        eps: 1e-8,
        stepSize: 1e-3 / (1 - 0.9),
        bc2Sqrt: Math.sqrt(1 - 0.95),
      },
      { gradScale: 0.37, decay: 1 - 3e-4 * 0.1, beta1: 0.8, beta2: 0.999, eps: 1e-6, stepSize: 3e-4, bc2Sqrt: 0.3 },
    ]) {
      tf.tidy(() => {
        const p = rand([n], 1);
        const g = rand([n], 2);
        const m = tf.mul(rand([n], 3), 0.1);
        const v = tf.square(rand([n], 4));
        const fused = adamWUpdate(p, g, m, v, attrs).map((t) => t.dataSync());
        const ref = adamWReference(p, g, m, v, attrs).map((t) => t.dataSync());
        for (let k = 0; k < 3; k++) {
          const rep = compareClose(fused[k], ref[k], [n], { atol: 0, rtol: 2 ** -23, label: ['param', 'm', 'v'][k] });
          expect(rep.ok, rep.message).toBe(true);
        }
      });
    }
  });
});
