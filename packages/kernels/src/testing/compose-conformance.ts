import * as tf from '@tensorflow/tfjs-core';
import type { Tensor } from '@tensorflow/tfjs-core';
import { dcmhaCompose } from '../compose/compose-op.js';
import {
  composeInputNames,
  composeInputsFromList,
  type ComposeAttrs,
  type ComposeBand,
  type ComposeInputs,
} from '../compose/compose-spec.js';
import { compareClose } from './expect-close.js';
import { runSuite, runSuiteAsync, signedXorshift, type ConformanceResult, type ConformanceSuite } from './run-cases.js';

/**
 * Conformance of the active backend's DcmhaCompose (forward and gradient) against plain loops over
 * Float32Arrays that follow docs/dcmha.md literally through the per-(t,s) N×N matrix
 * M = I + qw1ᵀqw2 + diag(qdd) + kw1ᵀkw2 + diag(kdd). This is deliberately a different route from
 * the reference kernel (which never builds M), so the two check each other.
 */

export interface ComposeCase {
  B: number;
  N: number;
  T: number;
  S: number;
  I: number;
  attrs: ComposeAttrs;
  seed: number;
}

export const COMPOSE_CONFORMANCE_CASES: ComposeCase[] = [
  { B: 2, N: 4, T: 5, S: 7, I: 2, attrs: { queryWise: true, keyWise: true }, seed: 1 },
  { B: 1, N: 8, T: 3, S: 3, I: 2, attrs: { queryWise: true, keyWise: true }, seed: 2 },
  { B: 2, N: 3, T: 4, S: 6, I: 3, attrs: { queryWise: true, keyWise: false }, seed: 3 },
  { B: 1, N: 4, T: 1, S: 9, I: 2, attrs: { queryWise: false, keyWise: true }, seed: 4 },
  { B: 1, N: 2, T: 2, S: 2, I: 1, attrs: { queryWise: false, keyWise: false }, seed: 5 },
];

type Arrays = Record<string, Float32Array>;

function shapesOf(c: ComposeCase): Record<string, number[]> {
  const { B, N, T, S, I } = c;
  return {
    x: [B, N, T, S],
    qw1: [B, T, I, N],
    qw2: [B, T, I, N],
    qdd: [B, T, N],
    kw1: [B, S, I, N],
    kw2: [B, S, I, N],
    kdd: [B, S, N],
  };
}

/** d(Σ out·r)/d(every input) and out itself, by loops over the N×N matrix per (b,t,s). */
export function composeByLoops(c: ComposeCase, a: Arrays, r: Float32Array): { out: Float32Array; grads: Arrays } {
  const { B, N, T, S, I, attrs } = c;
  const out = new Float32Array(B * N * T * S);
  const g: Arrays = {};
  for (const [name, shape] of Object.entries(shapesOf(c))) g[name] = new Float32Array(shape.reduce((p, q) => p * q, 1));
  const xi = (b: number, n: number, t: number, s: number) => ((b * N + n) * T + t) * S + s;
  const wq = (b: number, t: number, i: number, n: number) => ((b * T + t) * I + i) * N + n;
  const wk = (b: number, s: number, i: number, n: number) => ((b * S + s) * I + i) * N + n;
  const M = new Float64Array(N * N);
  for (let b = 0; b < B; b++)
    for (let t = 0; t < T; t++)
      for (let s = 0; s < S; s++) {
        M.fill(0);
        for (let n = 0; n < N; n++) {
          M[n * N + n] =
            1 + (attrs.queryWise ? a.qdd[(b * T + t) * N + n] : 0) + (attrs.keyWise ? a.kdd[(b * S + s) * N + n] : 0);
          for (let m = 0; m < N; m++)
            for (let i = 0; i < I; i++) {
              if (attrs.queryWise) M[n * N + m] += a.qw1[wq(b, t, i, n)] * a.qw2[wq(b, t, i, m)];
              if (attrs.keyWise) M[n * N + m] += a.kw1[wk(b, s, i, n)] * a.kw2[wk(b, s, i, m)];
            }
        }
        for (let m = 0; m < N; m++) {
          let acc = 0;
          for (let n = 0; n < N; n++) acc += a.x[xi(b, n, t, s)] * M[n * N + m];
          out[xi(b, m, t, s)] = acc;
        }
        // dL/dM[n,m] = x[n]·r[m]; chain into each factor of M.
        for (let n = 0; n < N; n++) {
          let dx = 0;
          for (let m = 0; m < N; m++) dx += r[xi(b, m, t, s)] * M[n * N + m];
          g.x[xi(b, n, t, s)] += dx;
          const xr = a.x[xi(b, n, t, s)] * r[xi(b, n, t, s)];
          if (attrs.queryWise) g.qdd[(b * T + t) * N + n] += xr;
          if (attrs.keyWise) g.kdd[(b * S + s) * N + n] += xr;
          for (let m = 0; m < N; m++) {
            const dM = a.x[xi(b, n, t, s)] * r[xi(b, m, t, s)];
            for (let i = 0; i < I; i++) {
              if (attrs.queryWise) {
                g.qw1[wq(b, t, i, n)] += dM * a.qw2[wq(b, t, i, m)];
                g.qw2[wq(b, t, i, m)] += dM * a.qw1[wq(b, t, i, n)];
              }
              if (attrs.keyWise) {
                g.kw1[wk(b, s, i, n)] += dM * a.kw2[wk(b, s, i, m)];
                g.kw2[wk(b, s, i, m)] += dM * a.kw1[wk(b, s, i, n)];
              }
            }
          }
        }
      }
  return { out, grads: g };
}

interface ComposeData {
  arrays: Arrays;
  r: Float32Array;
  names: (keyof ComposeInputs)[];
  attrs: ComposeAttrs;
  /** Which positions must equal the loops exactly (all without a band). */
  inBand: (i: number) => boolean;
}

function composeData(c: ComposeCase, band?: ComposeBandCase): ComposeData {
  const random = signedXorshift(c.seed);
  const arrays: Arrays = {};
  for (const [name, shape] of Object.entries(shapesOf(c))) {
    arrays[name] = Float32Array.from(
      { length: shape.reduce((p, q) => p * q, 1) },
      () => random() * (name === 'x' ? 1 : 0.7),
    );
  }
  const r = Float32Array.from({ length: arrays.x.length }, () => random());
  const inBand = band ? (i: number) => inBandAt(band.band, Math.floor(i / c.S) % c.T, i % c.S) : () => true;
  if (band) {
    for (let i = 0; i < r.length; i++) {
      if (inBand(i)) continue;
      if (band.use === 'pre') r[i] = 0;
      else arrays.x[i] = 0;
    }
  }
  return {
    arrays,
    r,
    names: composeInputNames(c.attrs),
    attrs: band ? { ...c.attrs, band: band.band } : c.attrs,
    inBand,
  };
}

function composeOutputs(c: ComposeCase, d: ComposeData): tf.Tensor[] {
  return tf.tidy(() => {
    const shapes = shapesOf(c);
    const tensors = d.names.map((n) => tf.tensor(d.arrays[n], shapes[n]));
    const rT = tf.tensor(d.r, shapes.x);
    const call = (xs: Tensor[]) => {
      return dcmhaCompose(composeInputsFromList(xs, d.attrs), d.attrs);
    };
    return [call(tensors), ...tf.grads((...xs: Tensor[]) => tf.sum(tf.mul(call(xs), rT)))(tensors)];
  });
}

function composeCheck(
  c: ComposeCase,
  d: ComposeData,
  got: Float32Array[],
  atol: number,
  label: string,
): ConformanceResult[] {
  const shapes = shapesOf(c);
  const expected = composeByLoops(c, d.arrays, d.r);
  // out of band: either the loop value or 0 — whichever the kernel chose becomes the expectation
  const pick = (g: Float32Array, want: Float32Array): Float32Array =>
    want.map((w, i) => (d.inBand(i) || Math.abs(g[i]) > atol ? w : 0));
  const fwd = compareClose(got[0], pick(got[0], expected.out), shapes.x, { atol, label: `${label} out` });
  const results = [{ name: `${label} forward`, ok: fwd.ok, message: fwd.message }];
  d.names.forEach((n, i) => {
    const want = n === 'x' ? pick(got[i + 1], expected.grads.x) : expected.grads[n];
    const rep = compareClose(got[i + 1], want, shapes[n], { atol: atol * 10, label: `${label} d${n}` });
    results.push({ name: `${label} grad ${n}`, ok: rep.ok, message: rep.message });
  });
  return results;
}

const caseLabel = (c: ComposeCase) =>
  `B${c.B} N${c.N} T${c.T} S${c.S} I${c.I} q${+c.attrs.queryWise}k${+c.attrs.keyWise}`;

function composeSuite(atol: number): ConformanceSuite<ComposeCase, ComposeData> {
  return {
    data: (c) => composeData(c),
    outputs: composeOutputs,
    check: (c, d, got) => composeCheck(c, d, got, atol, caseLabel(c)),
  };
}

/**
 * Runs every case on the active backend: forward and the gradient of Σ out·r for each present input.
 * Returns one result per checked tensor; callers assert `ok` (see kernels' own test for the pattern).
 */
export function runComposeConformance(
  cases: ComposeCase[] = COMPOSE_CONFORMANCE_CASES,
  atol = 2e-5,
): ConformanceResult[] {
  return runSuite(composeSuite(atol), cases);
}

/** runComposeConformance with `await data()` reads (GPU backends). */
export function runComposeConformanceAsync(
  cases: ComposeCase[] = COMPOSE_CONFORMANCE_CASES,
  atol = 2e-5,
): Promise<ConformanceResult[]> {
  return runSuiteAsync(composeSuite(atol), cases);
}

/** A case for the band hint: which side of attention it imitates decides where zeros are. */
export interface ComposeBandCase extends ComposeCase {
  band: ComposeBand;
  /** 'pre': dy is 0 out of band (scores' gradient); 'post': x is 0 out of band (probabilities). */
  use: 'pre' | 'post';
}

export const COMPOSE_BAND_CASES: ComposeBandCase[] = [
  {
    B: 2,
    N: 4,
    T: 6,
    S: 9,
    I: 2,
    attrs: { queryWise: true, keyWise: true },
    seed: 21,
    band: { queryOffset: 3, keyOffset: 0, window: null },
    use: 'pre',
  },
  {
    B: 2,
    N: 4,
    T: 6,
    S: 9,
    I: 2,
    attrs: { queryWise: true, keyWise: true },
    seed: 22,
    band: { queryOffset: 3, keyOffset: 0, window: null },
    use: 'post',
  },
  {
    B: 1,
    N: 3,
    T: 7,
    S: 10,
    I: 2,
    attrs: { queryWise: true, keyWise: true },
    seed: 23,
    band: { queryOffset: 8, keyOffset: 2, window: 4 },
    use: 'pre',
  },
  {
    B: 1,
    N: 3,
    T: 7,
    S: 10,
    I: 1,
    attrs: { queryWise: false, keyWise: true },
    seed: 24,
    band: { queryOffset: 8, keyOffset: 2, window: 4 },
    use: 'post',
  },
  {
    B: 2,
    N: 8,
    T: 33,
    S: 40,
    I: 2,
    attrs: { queryWise: true, keyWise: true },
    seed: 25,
    band: { queryOffset: 7, keyOffset: 0, window: 16 },
    use: 'post',
  },
  {
    B: 1,
    N: 2,
    T: 3,
    S: 5,
    I: 1,
    attrs: { queryWise: true, keyWise: false },
    seed: 26,
    band: { queryOffset: -4, keyOffset: 0, window: null },
    use: 'pre',
  }, // a row with no key in band
];

function inBandAt(band: ComposeBand, t: number, s: number): boolean {
  const p = band.queryOffset + t;
  const key = band.keyOffset + s;
  return key <= p && (band.window === null || key > p - band.window);
}

function bandSuite(atol: number): ConformanceSuite<ComposeBandCase, ComposeData> {
  return {
    data: (c) => composeData(c, c),
    outputs: composeOutputs,
    check: (c, d, got) =>
      composeCheck(
        c,
        d,
        got,
        atol,
        `band ${c.use} ${caseLabel(c)} from ${c.band.queryOffset}/${c.band.keyOffset} W${c.band.window}`,
      ),
  };
}

/**
 * The band hint (ComposeAttrs.band) on the active backend: in-band outputs and dx, and all weight
 * gradients, equal the loops over the N×N matrix; out-of-band outputs and dx are their loop value or 0.
 */
export function runComposeBandConformance(
  cases: ComposeBandCase[] = COMPOSE_BAND_CASES,
  atol = 2e-5,
): ConformanceResult[] {
  return runSuite(bandSuite(atol), cases);
}

export function runComposeBandConformanceAsync(
  cases: ComposeBandCase[] = COMPOSE_BAND_CASES,
  atol = 2e-5,
): Promise<ConformanceResult[]> {
  return runSuiteAsync(bandSuite(atol), cases);
}
