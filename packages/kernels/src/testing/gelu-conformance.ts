import * as tf from '@tensorflow/tfjs-core';
import { gelu } from '../activation/gelu-op.js';
import { runSuite, runSuiteAsync, type ConformanceResult, type ConformanceSuite } from './run-cases.js';
import { compareClose } from './expect-close.js';

/** erf to double precision (Abramowitz–Stegun 7.1.26 is not enough): series for |x| < 3, continued fraction beyond. */
function erf64(x: number): number {
  const a = Math.abs(x);
  let r: number;
  if (a < 3) {
    let term = a;
    let sum = a;
    for (let n = 1; n < 60; n++) {
      term *= (-a * a) / n;
      sum += term / (2 * n + 1);
    }
    r = (2 / Math.sqrt(Math.PI)) * sum;
  } else {
    let f = 0;
    for (let n = 60; n >= 1; n--) f = n / 2 / (a + f);
    r = 1 - Math.exp(-a * a) / (Math.sqrt(Math.PI) * (a + f));
  }
  return x < 0 ? -r : r;
}

interface GeluData {
  x: Float32Array;
  dy: Float32Array;
}

const suite = (atol: number): ConformanceSuite<number, GeluData> => ({
  data: (n) => ({
    x: Float32Array.from({ length: n }, (_, i) => -8 + (16 * i) / (n - 1) + Math.sin(i) * 1e-3),
    dy: Float32Array.from({ length: n }, (_, i) => Math.cos(i * 0.37)),
  }),
  outputs: (_, d) =>
    tf.tidy(() => {
      const xt = tf.tensor1d(d.x);
      const dyt = tf.tensor1d(d.dy);
      return [gelu(xt), tf.grad((a: tf.Tensor) => tf.sum(tf.mul(gelu(a), dyt)))(xt)];
    }),
  check: (n, d, [y, dx]) => {
    const wantY = Float64Array.from(d.x, (v) => 0.5 * v * (1 + erf64(v / Math.SQRT2)));
    const wantDx = Float64Array.from(
      d.x,
      (v, i) => d.dy[i] * (0.5 * (1 + erf64(v / Math.SQRT2)) + (v * Math.exp(-0.5 * v * v)) / Math.sqrt(2 * Math.PI)),
    );
    return (
      [
        ['forward', y, wantY],
        ['grad x', dx, wantDx],
      ] as const
    ).map(([what, got, want]) => {
      const rep = compareClose(got, want, [n], { atol, rtol: 2e-6, label: `gelu ${what}` });
      return { name: `gelu ${what} over [-8, 8], n ${n}`, ok: rep.ok, message: rep.message };
    });
  },
});

/** Conformance of the active backend's DcGelu (forward, d/dx of Σ y·dy) on n points of [−8, 8] against float64 formulas. */
export function runGeluConformance(n = 4099, atol = 2e-6): ConformanceResult[] {
  return runSuite(suite(atol), [n]);
}

export function runGeluConformanceAsync(n = 4099, atol = 2e-6): Promise<ConformanceResult[]> {
  return runSuiteAsync(suite(atol), [n]);
}
