import * as tf from '@tensorflow/tfjs-core';
import type { Tensor } from '@tensorflow/tfjs-core';
import { dcmhaCompose } from '../compose/compose-op.js';
import { composeInputNames, type ComposeAttrs, type ComposeBand, type ComposeInputs } from '../compose/compose-spec.js';
import { compareClose } from './expect-close.js';

/**
 * Conformance of the active backend's DcmhaCompose (forward and gradient) against plain loops over
 * Float32Arrays that follow DCMHA.md literally through the per-(t,s) N×N matrix
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

function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return ((s >>> 0) / 4294967296) * 2 - 1;
  };
}

type Arrays = Record<string, Float32Array>;

function shapesOf(c: ComposeCase): Record<string, number[]> {
  const { B, N, T, S, I } = c;
  return { x: [B, N, T, S], qw1: [B, T, I, N], qw2: [B, T, I, N], qdd: [B, T, N], kw1: [B, S, I, N], kw2: [B, S, I, N], kdd: [B, S, N] };
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
          M[n * N + n] = 1 + (attrs.queryWise ? a.qdd[(b * T + t) * N + n] : 0) + (attrs.keyWise ? a.kdd[(b * S + s) * N + n] : 0);
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

export interface ConformanceResult {
  name: string;
  ok: boolean;
  message: string;
}

/**
 * Runs every case on the active backend: forward and the gradient of Σ out·r for each present input.
 * Returns one result per checked tensor; callers assert `ok` (see kernels' own test for the pattern).
 */
export function runComposeConformance(cases: ComposeCase[] = COMPOSE_CONFORMANCE_CASES, atol = 2e-5): ConformanceResult[] {
  const results: ConformanceResult[] = [];
  for (const c of cases) {
    const random = rng(c.seed);
    const shapes = shapesOf(c);
    const arrays: Arrays = {};
    for (const [name, shape] of Object.entries(shapes)) {
      arrays[name] = Float32Array.from({ length: shape.reduce((p, q) => p * q, 1) }, () => random() * (name === 'x' ? 1 : 0.7));
    }
    const r = Float32Array.from({ length: arrays.x.length }, () => random());
    const expected = composeByLoops(c, arrays, r);
    const names = composeInputNames(c.attrs);
    const label = `B${c.B} N${c.N} T${c.T} S${c.S} I${c.I} q${+c.attrs.queryWise}k${+c.attrs.keyWise}`;
    const { out, grads } = tf.tidy(() => {
      const tensors = names.map((n) => tf.tensor(arrays[n], shapes[n]));
      const rT = tf.tensor(r, shapes.x);
      const f = (...xs: Tensor[]) => {
        const inputs: Record<string, Tensor> = {};
        names.forEach((n, i) => (inputs[n] = xs[i]));
        return tf.sum(tf.mul(dcmhaCompose(inputs as unknown as ComposeInputs, c.attrs), rT));
      };
      const outT = (() => {
        const inputs: Record<string, Tensor> = {};
        names.forEach((n, i) => (inputs[n] = tensors[i]));
        return dcmhaCompose(inputs as unknown as ComposeInputs, c.attrs);
      })();
      const gs = tf.grads(f)(tensors);
      return { out: outT.dataSync() as Float32Array, grads: gs.map((g) => g.dataSync() as Float32Array) };
    });
    const fwd = compareClose(out, expected.out, shapes.x, { atol, label: `${label} out` });
    results.push({ name: `${label} forward`, ok: fwd.ok, message: fwd.message });
    names.forEach((n, i) => {
      const rep = compareClose(grads[i], expected.grads[n], shapes[n], { atol: atol * 10, label: `${label} d${n}` });
      results.push({ name: `${label} grad ${n}`, ok: rep.ok, message: rep.message });
    });
  }
  return results;
}

/** A case for the band hint: which side of attention it imitates decides where zeros are. */
export interface ComposeBandCase extends ComposeCase {
  band: ComposeBand;
  /** 'pre': dy is 0 out of band (scores' gradient); 'post': x is 0 out of band (probabilities). */
  use: 'pre' | 'post';
}

export const COMPOSE_BAND_CASES: ComposeBandCase[] = [
  { B: 2, N: 4, T: 6, S: 9, I: 2, attrs: { queryWise: true, keyWise: true }, seed: 21, band: { queryOffset: 3, keyOffset: 0, window: null }, use: 'pre' },
  { B: 2, N: 4, T: 6, S: 9, I: 2, attrs: { queryWise: true, keyWise: true }, seed: 22, band: { queryOffset: 3, keyOffset: 0, window: null }, use: 'post' },
  { B: 1, N: 3, T: 7, S: 10, I: 2, attrs: { queryWise: true, keyWise: true }, seed: 23, band: { queryOffset: 8, keyOffset: 2, window: 4 }, use: 'pre' },
  { B: 1, N: 3, T: 7, S: 10, I: 1, attrs: { queryWise: false, keyWise: true }, seed: 24, band: { queryOffset: 8, keyOffset: 2, window: 4 }, use: 'post' },
  { B: 2, N: 8, T: 33, S: 40, I: 2, attrs: { queryWise: true, keyWise: true }, seed: 25, band: { queryOffset: 7, keyOffset: 0, window: 16 }, use: 'post' },
  { B: 1, N: 2, T: 3, S: 5, I: 1, attrs: { queryWise: true, keyWise: false }, seed: 26, band: { queryOffset: -4, keyOffset: 0, window: null }, use: 'pre' }, // a row with no key in band
];

function inBand(band: ComposeBand, t: number, s: number): boolean {
  const p = band.queryOffset + t;
  const key = band.keyOffset + s;
  return key <= p && (band.window === null || key > p - band.window);
}

/**
 * The band hint (ComposeAttrs.band) on the active backend: in-band outputs and dx, and all weight
 * gradients, equal the loops over the N×N matrix; out-of-band outputs and dx are their loop value or 0.
 */
export function runComposeBandConformance(cases: ComposeBandCase[] = COMPOSE_BAND_CASES, atol = 2e-5): ConformanceResult[] {
  const results: ConformanceResult[] = [];
  for (const c of cases) {
    const random = rng(c.seed);
    const shapes = shapesOf(c);
    const { B, N, T, S } = c;
    const xIndexInBand = (i: number) => inBand(c.band, Math.floor(i / S) % T, i % S);
    const arrays: Arrays = {};
    for (const [name, shape] of Object.entries(shapes)) {
      arrays[name] = Float32Array.from({ length: shape.reduce((p, q) => p * q, 1) }, () => random() * (name === 'x' ? 1 : 0.7));
    }
    const r = Float32Array.from({ length: arrays.x.length }, () => random());
    for (let i = 0; i < r.length; i++) {
      if (xIndexInBand(i)) continue;
      if (c.use === 'pre') r[i] = 0;
      else arrays.x[i] = 0;
    }
    const expected = composeByLoops(c, arrays, r);
    const names = composeInputNames(c.attrs);
    const attrs: ComposeAttrs = { ...c.attrs, band: c.band };
    const label = `band ${c.use} B${B} N${N} T${T} S${S} I${c.I} q${+c.attrs.queryWise}k${+c.attrs.keyWise} from ${c.band.queryOffset}/${c.band.keyOffset} W${c.band.window}`;
    const { out, grads } = tf.tidy(() => {
      const tensors = names.map((n) => tf.tensor(arrays[n], shapes[n]));
      const rT = tf.tensor(r, shapes.x);
      const call = (xs: Tensor[]) => {
        const inputs: Record<string, Tensor> = {};
        names.forEach((n, i) => (inputs[n] = xs[i]));
        return dcmhaCompose(inputs as unknown as ComposeInputs, attrs);
      };
      const gs = tf.grads((...xs: Tensor[]) => tf.sum(tf.mul(call(xs), rT)))(tensors);
      return { out: call(tensors).dataSync() as Float32Array, grads: gs.map((g) => g.dataSync() as Float32Array) };
    });
    // out of band: either the loop value or 0 — put whichever the kernel chose into the expectation
    const pick = (got: Float32Array, want: Float32Array): Float32Array =>
      want.map((w, i) => (xIndexInBand(i) || Math.abs(got[i]) > atol ? w : 0));
    const fwd = compareClose(out, pick(out, expected.out), shapes.x, { atol, label: `${label} out` });
    results.push({ name: `${label} forward`, ok: fwd.ok, message: fwd.message });
    names.forEach((n, i) => {
      const want = n === 'x' ? pick(grads[i], expected.grads.x) : expected.grads[n];
      const rep = compareClose(grads[i], want, shapes[n], { atol: atol * 10, label: `${label} d${n}` });
      results.push({ name: `${label} grad ${n}`, ok: rep.ok, message: rep.message });
    });
  }
  return results;
}
