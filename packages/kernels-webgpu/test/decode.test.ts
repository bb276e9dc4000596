/**
 * The fused WebGPU decode attention (one query per row, Compose pre/post inside) against a float64
 * loop written here from docs/dcmha.md, not against dcmhaAttention on webgpu: that would run this
 * package's WGSL Compose, the code under test, on both sides of the comparison.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Tensor } from '@tensorflow/tfjs-core';
import { afterEach, describe, expect, it } from 'vitest';
import type { ComposeAttrs, ComposeWeights } from '@dcformer/kernels';
import { attentionWeightsOf, compareClose } from '@dcformer/kernels/testing';
import { dcmhaDecodeAttention, type DecodeAttentionOptions } from '../src/decode/decode-attention.js';
import { gpuErrors, useWebGPU } from './webgpu-env.js';

const gpu = await useWebGPU();

interface Case {
  B: number;
  N: number;
  S: number;
  E: number;
  I: number;
  composed: boolean;
  sides: ComposeAttrs;
  options: Omit<DecodeAttentionOptions, 'compose'>;
  seed: number;
}

const CASES: Case[] = [
  {
    B: 2,
    N: 4,
    S: 9,
    E: 8,
    I: 2,
    composed: true,
    sides: { queryWise: true, keyWise: true },
    options: { window: null, keyStart: [0, 3] },
    seed: 1,
  },
  {
    B: 1,
    N: 4,
    S: 5,
    E: 8,
    I: 2,
    composed: true,
    sides: { queryWise: true, keyWise: false },
    options: { window: 4, keyOffset: 7 },
    seed: 2,
  },
  {
    B: 1,
    N: 3,
    S: 70,
    E: 16,
    I: 1,
    composed: true,
    sides: { queryWise: false, keyWise: true },
    options: { window: null },
    seed: 3,
  },
  {
    B: 2,
    N: 2,
    S: 6,
    E: 4,
    I: 1,
    composed: false,
    sides: { queryWise: true, keyWise: true },
    options: { window: 3, keyOffset: 2 },
    seed: 4,
  },
];

function weightsFor(c: Case): { pre: ComposeWeights; post: ComposeWeights } {
  let seed = c.seed * 100;
  const r = (shape: number[]) => tf.randomNormal(shape, 0, 0.5, 'float32', seed++);
  const side = (): ComposeWeights => ({
    ...(c.sides.queryWise ? { qw1: r([c.B, 1, c.I, c.N]), qw2: r([c.B, 1, c.I, c.N]), qdd: r([c.B, 1, c.N]) } : {}),
    ...(c.sides.keyWise ? { kw1: r([c.B, c.S, c.I, c.N]), kw2: r([c.B, c.S, c.I, c.N]), kdd: r([c.B, c.S, c.N]) } : {}),
  });
  return { pre: side(), post: side() };
}

type Side = Partial<Record<keyof ComposeWeights, Float32Array>>;

/**
 * One Compose call for one query over all S keys (docs/dcmha.md "Compose"), in float64:
 * A'[m,s] = A[m,s] + Σ_i (Σ_n A[n,s]·qw1[i,n])·qw2[i,m] + Σ_i (Σ_n A[n,s]·kw1[s,i,n])·kw2[s,i,m]
 *         + A[m,s]·qdd[m] + A[m,s]·kdd[s,m], each side only when its weights are given.
 * A is [N][S] for batch row b; q-side weights are [B,1,I,N] / [B,1,N], k-side [B,S,I,N] / [B,S,N].
 */
function compose64(A: Float64Array[], w: Side, b: number, N: number, S: number, I: number): Float64Array[] {
  const out = A.map((row) => Float64Array.from(row));
  for (let s = 0; s < S; s++) {
    for (const side of ['q', 'k'] as const) {
      const w1 = w[`${side}w1`];
      const w2 = w[`${side}w2`];
      const dd = w[`${side}dd`];
      if (w1 === undefined || w2 === undefined || dd === undefined) continue;
      const row = side === 'q' ? b : b * S + s; // the query's weights, or key s's
      for (let i = 0; i < I; i++) {
        let mix = 0;
        for (let n = 0; n < N; n++) mix += A[n][s] * w1[(row * I + i) * N + n];
        for (let m = 0; m < N; m++) out[m][s] += mix * w2[(row * I + i) * N + m];
      }
      for (let m = 0; m < N; m++) out[m][s] += A[m][s] * dd[row * N + m];
    }
  }
  return out;
}

/**
 * Decode attention in float64 (docs/dcmha.md "Where Compose sits"): scores q·kᵀ/√E, Compose pre, mask
 * (causal from query position keyOffset + S − 1, the window, keyStart padding), softmax, Compose post,
 * times v. Returns [B,N,1,E].
 */
function decodeAttention64(
  c: Case,
  q: Float32Array,
  k: Float32Array,
  v: Float32Array,
  w: { pre: Side; post: Side } | null,
): Float64Array {
  const { B, N, S, E, I } = c;
  const keyOffset = c.options.keyOffset ?? 0;
  const p = keyOffset + S - 1;
  const out = new Float64Array(B * N * E);
  for (let b = 0; b < B; b++) {
    const start = c.options.keyStart?.[b] ?? -Infinity;
    const visible = (s: number) => {
      const key = keyOffset + s;
      return key <= p && (c.options.window === null || key > p - c.options.window!) && key >= start;
    };
    let A: Float64Array[] = Array.from({ length: N }, (_, n) => {
      const row = new Float64Array(S);
      for (let s = 0; s < S; s++) {
        let dot = 0;
        for (let e = 0; e < E; e++) dot += q[(b * N + n) * E + e] * k[((b * N + n) * S + s) * E + e];
        row[s] = dot / Math.sqrt(E);
      }
      return row;
    });
    if (w !== null) A = compose64(A, w.pre, b, N, S, I);
    let P: Float64Array[] = A.map((row) => {
      let max = -Infinity;
      for (let s = 0; s < S; s++) if (visible(s)) max = Math.max(max, row[s]);
      const e = row.map((x, s) => (visible(s) ? Math.exp(x - max) : 0));
      const sum = e.reduce((a, x) => a + x, 0);
      return e.map((x) => x / sum);
    });
    if (w !== null) P = compose64(P, w.post, b, N, S, I);
    for (let n = 0; n < N; n++) {
      for (let s = 0; s < S; s++) {
        for (let e = 0; e < E; e++) out[(b * N + n) * E + e] += P[n][s] * v[((b * N + n) * S + s) * E + e];
      }
    }
  }
  return out;
}

async function host(w: ComposeWeights): Promise<Side> {
  const out: Side = {};
  for (const [name, t] of Object.entries(w) as [keyof ComposeWeights, Tensor][])
    out[name] = (await t.data()) as Float32Array;
  return out;
}

describe.skipIf(!gpu.ok)('fused decode attention on webgpu vs a float64 loop', () => {
  afterEach(() => expect(gpuErrors.splice(0)).toEqual([]));

  it.each(CASES)('B$B N$N S$S E$E I$I composed $composed %#', async (c) => {
    const q = tf.randomNormal([c.B, c.N, 1, c.E], 0, 1, 'float32', c.seed);
    const k = tf.randomNormal([c.B, c.N, c.S, c.E], 0, 1, 'float32', c.seed + 10);
    const v = tf.randomNormal([c.B, c.N, c.S, c.E], 0, 1, 'float32', c.seed + 20);
    const w = c.composed ? weightsFor(c) : null;
    const fused = dcmhaDecodeAttention(q, k, v, w && attentionWeightsOf(w.pre, w.post), {
      ...c.options,
      compose: c.sides,
    });
    const got = (await fused.data()) as Float32Array;
    const want = decodeAttention64(
      c,
      (await q.data()) as Float32Array,
      (await k.data()) as Float32Array,
      (await v.data()) as Float32Array,
      w === null ? null : { pre: await host(w.pre), post: await host(w.post) },
    );
    tf.dispose([q, k, v, fused, ...(w === null ? [] : [...Object.values(w.pre), ...Object.values(w.post)])]);
    const rep = compareClose(got, want, [c.B, c.N, 1, c.E], { atol: 1e-5, rtol: 1e-5, label: 'decode attention' });
    expect(rep.ok, rep.message).toBe(true);
  });
});
