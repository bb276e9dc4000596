import * as tf from '@tensorflow/tfjs-core';
import type { Tensor } from '@tensorflow/tfjs-core';
import { afterEach, describe, expect, it } from 'vitest';
import { dcmhaAttention } from '@dcformer/compose';
import type { ComposeAttrs, ComposeWeights } from '@dcformer/kernels';
import { compareClose } from '@dcformer/kernels/testing';
import { dcmhaDecodeAttention, type DecodeAttentionOptions } from '../src/decode/decode-attention.js';
import { gpuErrors, useWebGPU } from './webgpu-env.js';

const gpu = await useWebGPU();

interface Case {
  B: number; N: number; S: number; E: number; I: number;
  composed: boolean; sides: ComposeAttrs; options: Omit<DecodeAttentionOptions, 'compose'>; seed: number;
}

const CASES: Case[] = [
  { B: 2, N: 4, S: 9, E: 8, I: 2, composed: true, sides: { queryWise: true, keyWise: true }, options: { window: null, keyStart: [0, 3] }, seed: 1 },
  { B: 1, N: 4, S: 5, E: 8, I: 2, composed: true, sides: { queryWise: true, keyWise: false }, options: { window: 4, keyOffset: 7 }, seed: 2 },
  { B: 1, N: 3, S: 70, E: 16, I: 1, composed: true, sides: { queryWise: false, keyWise: true }, options: { window: null }, seed: 3 },
  { B: 2, N: 2, S: 6, E: 4, I: 1, composed: false, sides: { queryWise: true, keyWise: true }, options: { window: 3, keyOffset: 2 }, seed: 4 },
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

describe.skipIf(!gpu.ok)('fused decode attention on webgpu vs dcmhaAttention with T = 1', () => {
  afterEach(() => expect(gpuErrors.splice(0)).toEqual([]));

  it.each(CASES)('B$B N$N S$S E$E I$I composed $composed %#', async (c) => {
    const [fused, reference] = tf.tidy(() => {
      const q = tf.randomNormal([c.B, c.N, 1, c.E], 0, 1, 'float32', c.seed);
      const k = tf.randomNormal([c.B, c.N, c.S, c.E], 0, 1, 'float32', c.seed + 10);
      const v = tf.randomNormal([c.B, c.N, c.S, c.E], 0, 1, 'float32', c.seed + 20);
      const w = c.composed ? weightsFor(c) : null;
      const keyOffset = c.options.keyOffset ?? 0;
      const options = { ...c.options, compose: c.sides };
      return [
        dcmhaDecodeAttention(q, k, v, w, options),
        dcmhaAttention(q, k, v, w, { ...options, chunkSize: 1, keyOffset, queryOffset: keyOffset + c.S - 1 }),
      ] as Tensor[];
    });
    const [got, want] = await Promise.all([fused.data(), reference.data()]);
    tf.dispose([fused, reference]);
    const rep = compareClose(got, want, [c.B, c.N, 1, c.E], { atol: 1e-5, rtol: 1e-5, label: 'decode attention' });
    expect(rep.ok, rep.message).toBe(true);
  });
});
