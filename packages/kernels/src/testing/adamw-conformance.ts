import * as tf from '@tensorflow/tfjs-core';
import { adamWUpdate, type AdamWUpdateAttrs } from '../optimizer/adamw-op.js';
import { compareClose } from './expect-close.js';
import { runSuite, runSuiteAsync, signedXorshift, type ConformanceResult, type ConformanceSuite } from './run-cases.js';

/** Conformance of the active backend's DcAdamWUpdate against torch.optim.AdamW's formulas in float64. */
export interface AdamWCase {
  n: number;
  attrs: AdamWUpdateAttrs;
  seed: number;
}

export const ADAMW_CONFORMANCE_CASES: AdamWCase[] = [
  // step 3 at lr 3e-3 with decay 0.1 and clipping 0.5
  {
    n: 257,
    attrs: {
      gradScale: 0.5,
      decay: 1 - 3e-3 * 0.1,
      beta1: 0.9,
      beta2: 0.95,
      eps: 1e-8,
      stepSize: 3e-3 / (1 - 0.9 ** 3),
      bc2Sqrt: Math.sqrt(1 - 0.95 ** 3),
    },
    seed: 1,
  },
  // step 1, no decay, other betas; tiny second moments exercise eps
  {
    n: 1000,
    attrs: {
      gradScale: 1,
      decay: 1,
      beta1: 0.8,
      beta2: 0.999,
      eps: 1e-6,
      stepSize: 1e-3 / (1 - 0.8),
      bc2Sqrt: Math.sqrt(1 - 0.999),
    },
    seed: 2,
  },
];

interface AdamWData {
  p: Float32Array;
  g: Float32Array;
  m: Float32Array;
  v: Float32Array;
}

const suite = (rtol: number): ConformanceSuite<AdamWCase, AdamWData> => ({
  data: (c) => {
    const random = signedXorshift(c.seed);
    const arr = (scale: number) => Float32Array.from({ length: c.n }, () => random() * scale);
    return { p: arr(1), g: arr(2), m: arr(0.1), v: arr(0.05).map((x) => x * x) };
  },
  outputs: (_, d) =>
    tf.tidy(() => adamWUpdate(tf.tensor(d.p), tf.tensor(d.g), tf.tensor(d.m), tf.tensor(d.v), _.attrs)),
  check: (c, d, [p1, m1, v1]) => {
    const a = c.attrs;
    const want = { p: new Float64Array(c.n), m: new Float64Array(c.n), v: new Float64Array(c.n) };
    for (let i = 0; i < c.n; i++) {
      const g = d.g[i] * a.gradScale;
      want.m[i] = d.m[i] + (g - d.m[i]) * (1 - a.beta1);
      want.v[i] = d.v[i] * a.beta2 + g * g * (1 - a.beta2);
      want.p[i] = d.p[i] * a.decay - (want.m[i] / (Math.sqrt(want.v[i]) / a.bc2Sqrt + a.eps)) * a.stepSize;
    }
    return (
      [
        ['param', p1, want.p],
        ['m', m1, want.m],
        ['v', v1, want.v],
      ] as const
    ).map(([what, got, w]) => {
      // float32 rounding of each step, relative to the tensor's scale
      const scale = w.reduce((s, x) => Math.max(s, Math.abs(x)), 0);
      const rep = compareClose(got, w, [c.n], { atol: rtol * scale, rtol, label: `adamw ${what}` });
      return { name: `adamw n${c.n} seed ${c.seed} ${what}`, ok: rep.ok, message: rep.message };
    });
  },
});

export function runAdamWConformance(cases = ADAMW_CONFORMANCE_CASES, rtol = 2e-6): ConformanceResult[] {
  return runSuite(suite(rtol), cases);
}

export function runAdamWConformanceAsync(cases = ADAMW_CONFORMANCE_CASES, rtol = 2e-6): Promise<ConformanceResult[]> {
  return runSuiteAsync(suite(rtol), cases);
}
