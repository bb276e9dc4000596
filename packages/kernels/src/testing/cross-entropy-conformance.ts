import * as tf from '@tensorflow/tfjs-core';
import { softmaxCrossEntropy } from '../cross-entropy/cross-entropy-op.js';
import { runSuite, runSuiteAsync, xorshift, type ConformanceResult, type ConformanceSuite } from './run-cases.js';
import { compareClose } from './expect-close.js';

/**
 * Conformance of the active backend's DcSoftmaxCrossEntropy (forward and the gradient of Σ loss·dy)
 * against float64 loops: loss = log Σ exp(x − max) + max − x[label], dx = (p − onehot)·dy.
 */
export interface CrossEntropyCase {
  R: number;
  V: number;
  /** Logits are uniform in ±scale around `offset`: large values test the max-subtraction. */
  scale: number;
  offset: number;
  seed: number;
}

export const CROSS_ENTROPY_CONFORMANCE_CASES: CrossEntropyCase[] = [
  { R: 1, V: 1, scale: 1, offset: 0, seed: 1 },
  { R: 3, V: 7, scale: 2, offset: 0, seed: 2 },
  { R: 17, V: 1000, scale: 8, offset: 0, seed: 3 },
  { R: 5, V: 333, scale: 40, offset: 1000, seed: 4 },
  { R: 64, V: 4099, scale: 3, offset: -20, seed: 5 },
];

export interface CrossEntropyData {
  logits: Float32Array;
  labels: Int32Array;
  dy: Float32Array;
}

export function crossEntropyData(c: CrossEntropyCase): CrossEntropyData {
  const random = xorshift(c.seed);
  const logits = Float32Array.from({ length: c.R * c.V }, () => c.offset + (2 * random() - 1) * c.scale);
  // the first and last rows take the first and last class: the edges of the row
  const labels = Int32Array.from({ length: c.R }, (_, r) =>
    r === 0 ? 0 : r === c.R - 1 ? c.V - 1 : Math.floor(random() * c.V),
  );
  const dy = Float32Array.from({ length: c.R }, () => 2 * random() - 1);
  return { logits, labels, dy };
}

export function crossEntropyByLoops(
  c: CrossEntropyCase,
  d: CrossEntropyData,
): { loss: Float64Array; dlogits: Float64Array } {
  const { R, V } = c;
  const loss = new Float64Array(R);
  const dlogits = new Float64Array(R * V);
  for (let r = 0; r < R; r++) {
    let max = -Infinity;
    for (let v = 0; v < V; v++) max = Math.max(max, d.logits[r * V + v]);
    let sum = 0;
    for (let v = 0; v < V; v++) sum += Math.exp(d.logits[r * V + v] - max);
    const lse = Math.log(sum) + max;
    loss[r] = lse - d.logits[r * V + d.labels[r]];
    for (let v = 0; v < V; v++)
      dlogits[r * V + v] = (Math.exp(d.logits[r * V + v] - lse) - (v === d.labels[r] ? 1 : 0)) * d.dy[r];
  }
  return { loss, dlogits };
}

/** Compares what a backend produced (read however it must be read) with the loops. */
export function checkCrossEntropy(
  c: CrossEntropyCase,
  d: CrossEntropyData,
  loss: ArrayLike<number>,
  dlogits: ArrayLike<number>,
  atol = 1e-5,
): ConformanceResult[] {
  const expected = crossEntropyByLoops(c, d);
  const label = `R${c.R} V${c.V} ±${c.scale}@${c.offset}`;
  // The loss is a difference of values near |offset|: float32 rounding scales with it.
  const fwd = compareClose(loss, expected.loss, [c.R], { atol, rtol: 2e-6, label: `${label} loss` });
  const bwd = compareClose(dlogits, expected.dlogits, [c.R, c.V], { atol, label: `${label} dlogits` });
  return [
    { name: `${label} forward`, ok: fwd.ok, message: fwd.message },
    { name: `${label} grad logits`, ok: bwd.ok, message: bwd.message },
  ];
}

/** The tensors to run: loss [R] and d(Σ loss·dy)/d(logits) [R,V]. Caller reads and disposes them. */
export function crossEntropyOutputs(c: CrossEntropyCase, d: CrossEntropyData): { loss: tf.Tensor; dlogits: tf.Tensor } {
  return tf.tidy(() => {
    const logits = tf.tensor2d(d.logits, [c.R, c.V]);
    const labels = tf.tensor1d(d.labels, 'int32');
    const dy = tf.tensor1d(d.dy);
    const loss = softmaxCrossEntropy(logits, labels);
    const dlogits = tf.grad((x: tf.Tensor) => tf.sum(tf.mul(softmaxCrossEntropy(x, labels), dy)))(logits);
    return { loss, dlogits };
  });
}

const suite = (atol: number): ConformanceSuite<CrossEntropyCase, CrossEntropyData> => ({
  data: crossEntropyData,
  outputs: (c, d) => {
    const { loss, dlogits } = crossEntropyOutputs(c, d);
    return [loss, dlogits];
  },
  check: (c, d, got) => checkCrossEntropy(c, d, got[0], got[1], atol),
});

/** Runs every case on the active backend with synchronous reads (cpu, wasm). */
export function runCrossEntropyConformance(cases = CROSS_ENTROPY_CONFORMANCE_CASES, atol = 1e-5): ConformanceResult[] {
  return runSuite(suite(atol), cases);
}

/** The same with `await data()` (GPU backends cannot read synchronously). */
export function runCrossEntropyConformanceAsync(
  cases = CROSS_ENTROPY_CONFORMANCE_CASES,
  atol = 1e-5,
): Promise<ConformanceResult[]> {
  return runSuiteAsync(suite(atol), cases);
}
