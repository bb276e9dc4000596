import * as tf from '@tensorflow/tfjs-core';
import { rmsNorm } from '../norm/rms-norm-op.js';
import { runSuite, runSuiteAsync, signedXorshift, type ConformanceResult, type ConformanceSuite } from './run-cases.js';
import { compareClose } from './expect-close.js';

/** Conformance of the active backend's DcRmsNorm (forward, d/dx, d/dweight of Σ y·dy) against float64 loops. */
export interface RmsNormCase {
  shape: number[];
  eps: number;
  /** x is uniform in ±scale: tiny values exercise eps, large ones the float32 range of mean(x²). */
  scale: number;
  seed: number;
}

export const RMS_NORM_CONFORMANCE_CASES: RmsNormCase[] = [
  { shape: [1], eps: 1e-6, scale: 1, seed: 1 },
  { shape: [3, 5], eps: 1e-6, scale: 2, seed: 2 },
  { shape: [2, 7, 4, 33], eps: 1e-5, scale: 1, seed: 3 },
  { shape: [4, 256], eps: 1e-6, scale: 1e-4, seed: 4 },
  { shape: [65, 129], eps: 1e-6, scale: 300, seed: 5 },
];

function data(c: RmsNormCase) {
  const random = signedXorshift(c.seed);
  const D = c.shape[c.shape.length - 1];
  const n = c.shape.reduce((a, b) => a * b, 1);
  return {
    D,
    x: Float32Array.from({ length: n }, () => random() * c.scale),
    weight: Float32Array.from({ length: D }, () => 1 + random() * 0.5),
    dy: Float32Array.from({ length: n }, () => random()),
  };
}

function byLoops(c: RmsNormCase, d: ReturnType<typeof data>) {
  const { D, x, weight, dy } = d;
  const rows = x.length / D;
  const y = new Float64Array(x.length);
  const dx = new Float64Array(x.length);
  const dw = new Float64Array(D);
  let dxTerm = 0; // largest |r·g|: dx is a difference of two such terms and may cancel to ~0
  for (let r = 0; r < rows; r++) {
    let ss = 0;
    for (let j = 0; j < D; j++) ss += x[r * D + j] ** 2;
    const inv = 1 / Math.sqrt(ss / D + c.eps);
    let gx = 0;
    for (let j = 0; j < D; j++) gx += dy[r * D + j] * weight[j] * x[r * D + j];
    for (let j = 0; j < D; j++) {
      const i = r * D + j;
      y[i] = x[i] * inv * weight[j];
      dx[i] = inv * dy[i] * weight[j] - (x[i] * inv ** 3 * gx) / D;
      dxTerm = Math.max(dxTerm, Math.abs(inv * dy[i] * weight[j]));
      dw[j] += dy[i] * x[i] * inv;
    }
  }
  return { y, dx, dw, dxTerm };
}

function outputs(c: RmsNormCase, d: ReturnType<typeof data>): tf.Tensor[] {
  return tf.tidy(() => {
    const x = tf.tensor(d.x, c.shape);
    const w = tf.tensor1d(d.weight);
    const dy = tf.tensor(d.dy, c.shape);
    const y = rmsNorm(x, w, c.eps);
    const [dx, dw] = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(rmsNorm(a, b, c.eps), dy)))([x, w]);
    return [y, dx, dw];
  });
}

function check(
  c: RmsNormCase,
  d: ReturnType<typeof data>,
  got: ArrayLike<number>[],
  rtol: number,
): ConformanceResult[] {
  const e = byLoops(c, d);
  const label = `[${c.shape}] eps ${c.eps} ±${c.scale}`;
  // relative to each tensor's largest magnitude: the values span orders of magnitude with `scale`
  const scaleOf = (a: Float64Array) => a.reduce((m, v) => Math.max(m, Math.abs(v)), 0) || 1;
  return (
    [
      ['forward', got[0], e.y, c.shape, scaleOf(e.y)],
      ['grad x', got[1], e.dx, c.shape, e.dxTerm],
      ['grad weight', got[2], e.dw, [d.D], scaleOf(e.dw)],
    ] as const
  ).map(([what, g, want, shape, scale]) => {
    const rep = compareClose(g, want, shape, { atol: rtol * scale, rtol, label: `${label} ${what}` });
    return { name: `${label} ${what}`, ok: rep.ok, message: rep.message };
  });
}

const suite = (rtol: number): ConformanceSuite<RmsNormCase, ReturnType<typeof data>> => ({
  data,
  outputs,
  check: (c, d, got) => check(c, d, got, rtol),
});

export function runRmsNormConformance(cases = RMS_NORM_CONFORMANCE_CASES, rtol = 2e-5): ConformanceResult[] {
  return runSuite(suite(rtol), cases);
}

export function runRmsNormConformanceAsync(
  cases = RMS_NORM_CONFORMANCE_CASES,
  rtol = 2e-5,
): Promise<ConformanceResult[]> {
  return runSuiteAsync(suite(rtol), cases);
}
