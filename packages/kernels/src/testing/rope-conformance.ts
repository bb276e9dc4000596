import * as tf from '@tensorflow/tfjs-core';
import { rope } from '../rope/rope-op.js';
import { runSuite, runSuiteAsync, signedXorshift, type ConformanceResult, type ConformanceSuite } from './run-cases.js';
import { compareClose } from './expect-close.js';

/** Conformance of the active backend's DcRope (forward and d/dx of Σ y·dy) against float64 loops. */
export interface RopeCase {
  B: number;
  T: number;
  N: number;
  E: number;
  H: number;
  /** cos/sin given per batch row ([B,T,1,H]) rather than shared ([1,T,1,H]). */
  perRow: boolean;
  seed: number;
}

export const ROPE_CONFORMANCE_CASES: RopeCase[] = [
  { B: 1, T: 1, N: 1, E: 2, H: 1, perRow: false, seed: 1 },
  { B: 2, T: 5, N: 3, E: 8, H: 4, perRow: false, seed: 2 },
  { B: 3, T: 4, N: 2, E: 10, H: 3, perRow: true, seed: 3 }, // partial rotary: 4 dims pass through
  { B: 2, T: 33, N: 8, E: 32, H: 16, perRow: true, seed: 4 },
];

function data(c: RopeCase) {
  const random = signedXorshift(c.seed);
  const n = c.B * c.T * c.N * c.E;
  const rows = c.perRow ? c.B : 1;
  const angle = Float32Array.from({ length: rows * c.T * c.H }, () => random() * 4);
  return {
    x: Float32Array.from({ length: n }, () => random()),
    dy: Float32Array.from({ length: n }, () => random()),
    cos: angle.map(Math.cos),
    sin: angle.map(Math.sin),
  };
}

function byLoops(c: RopeCase, d: ReturnType<typeof data>) {
  const { B, T, N, E, H } = c;
  const y = new Float64Array(d.x.length);
  const dx = new Float64Array(d.x.length);
  for (let b = 0; b < B; b++)
    for (let t = 0; t < T; t++)
      for (let n = 0; n < N; n++) {
        const o = ((b * T + t) * N + n) * E;
        const a = ((c.perRow ? b : 0) * T + t) * H;
        for (let j = 0; j < H; j++) {
          const [co, si] = [d.cos[a + j], d.sin[a + j]];
          y[o + j] = d.x[o + j] * co - d.x[o + H + j] * si;
          y[o + H + j] = d.x[o + H + j] * co + d.x[o + j] * si;
          dx[o + j] = d.dy[o + j] * co + d.dy[o + H + j] * si; // the transposed rotation
          dx[o + H + j] = d.dy[o + H + j] * co - d.dy[o + j] * si;
        }
        for (let j = 2 * H; j < E; j++) {
          y[o + j] = d.x[o + j];
          dx[o + j] = d.dy[o + j];
        }
      }
  return { y, dx };
}

function outputs(c: RopeCase, d: ReturnType<typeof data>): tf.Tensor[] {
  return tf.tidy(() => {
    const shape = [c.B, c.T, c.N, c.E];
    const tableShape = [c.perRow ? c.B : 1, c.T, 1, c.H];
    const x = tf.tensor(d.x, shape);
    const cos = tf.tensor(d.cos, tableShape);
    const sin = tf.tensor(d.sin, tableShape);
    const dy = tf.tensor(d.dy, shape);
    return [rope(x, cos, sin), tf.grad((a: tf.Tensor) => tf.sum(tf.mul(rope(a, cos, sin), dy)))(x)];
  });
}

function check(c: RopeCase, d: ReturnType<typeof data>, got: ArrayLike<number>[], atol: number): ConformanceResult[] {
  const e = byLoops(c, d);
  const label = `B${c.B} T${c.T} N${c.N} E${c.E} H${c.H}${c.perRow ? ' per-row' : ''}`;
  const shape = [c.B, c.T, c.N, c.E];
  return (
    [
      ['forward', got[0], e.y],
      ['grad x', got[1], e.dx],
    ] as const
  ).map(([what, g, want]) => {
    const rep = compareClose(g, want, shape, { atol, label: `${label} ${what}` });
    return { name: `${label} ${what}`, ok: rep.ok, message: rep.message };
  });
}

const suite = (atol: number): ConformanceSuite<RopeCase, ReturnType<typeof data>> => ({
  data,
  outputs,
  check: (c, d, got) => check(c, d, got, atol),
});

export function runRopeConformance(cases = ROPE_CONFORMANCE_CASES, atol = 1e-6): ConformanceResult[] {
  return runSuite(suite(atol), cases);
}

export function runRopeConformanceAsync(cases = ROPE_CONFORMANCE_CASES, atol = 1e-6): Promise<ConformanceResult[]> {
  return runSuiteAsync(suite(atol), cases);
}
