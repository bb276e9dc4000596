// The decode layer (native/decode-layer.cc through @dcformer/kernels' decode-layer contract): a
// one-sequence decode step runs each block in one call. Checked against the official inference
// path's logits (one row of each oracle case at a time: the decode layer serves B = 1), and on
// configurations and weight formats the fixtures lack against the model's full forward (no cache,
// the chunked attention path), over enough steps that the rows grow and local windows slide.
import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import { compareClose } from '@dcformer/kernels/testing';
import { decodeLayerFor } from '@dcformer/kernels';
import {
  type ModelConfig,
  cachedLogits,
  decodeOne,
  initModel,
  layerWindows,
  prefill,
  resolveConfig,
} from '../../model/src/index.js';
import { compactModel } from '../../model/src/compact.js';
import { loadModel } from '../../model/src/node.js';
import { describe, expect, it } from 'vitest';
import { CASES, caseDir, golden, goldenArray } from '../../model/test/oracle.js';
import { loadNative, registerCpuKernels } from '../src/index.js';

process.env.DCFORMER_QUIET = '1';
await tf.setBackend('cpu');
const native = registerCpuKernels('cpu').kernels.includes('decodeLayer');

const base = resolveConfig({
  family: 'dcformer',
  dim: 64,
  nHead: 4,
  nLayer: 3,
  vocabSize: 96,
  blockSize: 128,
  windowSize: 8,
  useQkNorm: true,
});
const CONFIGS: [string, ModelConfig][] = [
  ['DCFormer++ local/global, QK-norm', base],
  ['query-wise only, no QK-norm', { ...base, keyWise: false, useQkNorm: false }],
  ['global layers', resolveConfig({ ...configInput(base), windowSize: null })],
  ['Transformer++', { ...base, useDcmha: false }],
  [
    'DCPythia (LayerNorm, biases, GELU MLP, parallel residual, partial rotary)',
    resolveConfig({
      ...configInput(base),
      family: 'dcpythia',
      windowSize: 8,
      rotaryPct: 0.5,
      useParallelResidual: true,
      useLinearBias: true,
    }),
  ],
];

function configInput(c: ModelConfig) {
  const { dim, nHead, nLayer, vocabSize, blockSize, useQkNorm } = c;
  return { family: 'dcformer' as 'dcformer' | 'dcpythia', dim, nHead, nLayer, vocabSize, blockSize, useQkNorm };
}

function idsOf(n: number, seed: number): number[] {
  let s = seed;
  return Array.from({ length: n }, () => {
    s = (s * 1103515245 + 12345) % 2147483648;
    return s % 96;
  });
}

describe.skipIf(!native)('decode layer', () => {
  it.each(CASES)(
    "%s: each row's cached decode matches the official inference path's logits within 1e-4",
    async (name) => {
      const model = await loadModel(caseDir(name), { onWarning: () => {} });
      try {
        expect(decodeLayerFor('cpu')).not.toBeNull();
        const g = golden(name);
        const ids = g.input_ids as number[][];
        const T = ids[0].length;
        const V = model.config.vocabSize;
        const official = goldenArray(g.infer.logits);
        for (let b = 0; b < ids.length; b++) {
          const got = await cachedLogits(model, [ids[b]], g.infer.prefill_len);
          const want = official.data.subarray(b * T * V, (b + 1) * T * V);
          const rep = compareClose(got, want, [1, T, V], { atol: 1e-4, label: `${name} row ${b}` });
          expect(rep.ok, rep.message).toBe(true);
        }
      } finally {
        model.dispose();
      }
    },
  );

  for (const [label, config] of CONFIGS)
    for (const dtype of ['f32', 'bf16', 'int8', 'int4'] as const)
      it(`${label}, ${dtype}: 80 decode steps (rows grow, windows slide) equal the full forward within 1e-4`, () => {
        const model = compactModel(initModel(config, 11), dtype, { groupSize: 32 });
        const ids = idsOf(80, 5);
        const full = model.forward([ids]);
        const want = full.dataSync() as Float32Array;
        full.dispose();
        const V = config.vocabSize;
        const cache = model.createCache(1);
        try {
          tf.dispose(model.forwardCached([ids.slice(0, 5)], cache));
          let tensors = -1;
          for (let t = 5; t < ids.length; t++) {
            // t = 40..42 as one 3-token call: the tfjs path reads the rows back as tensors
            const n = t === 40 ? 3 : 1;
            const logits = model.forwardCached([ids.slice(t, t + n)], cache);
            const got = logits.dataSync() as Float32Array;
            logits.dispose();
            const rep = compareClose(got, want.subarray(t * V, (t + n) * V), [n, V], {
              atol: 1e-4,
              label: `step ${t}`,
            });
            expect(rep.ok, rep.message).toBe(true);
            if (n === 1) expect(cache.rows.every((r) => r !== null)).toBe(true);
            if (t > 50) {
              if (tensors >= 0) expect(tf.memory().numTensors).toBe(tensors);
              tensors = tf.memory().numTensors;
            }
            t += n - 1;
          }
          // a local layer keeps only what the next query sees: W − 1 earlier positions
          layerWindows(config).forEach((W, i) => {
            if (W !== null) expect(cache.rows[i]?.count).toBe(W - 1);
          });
        } finally {
          cache.dispose();
          model.dispose();
        }
      });

  for (const dtype of ['f32', 'int4'] as const)
    it(`${dtype}: three left-padded rows decode together as each row's full forward (within 1e-4)`, () => {
      const model = compactModel(initModel(base, 12), dtype, { groupSize: 32 });
      const prompts = [idsOf(3, 1), idsOf(7, 2), idsOf(5, 3)];
      const next = [idsOf(70, 4), idsOf(70, 5), idsOf(70, 6)];
      const V = base.vocabSize;
      const { cache } = prefill(model, prompts);
      try {
        const got = next[0].map((_, t) => decodeOne(model, cache, [next[0][t], next[1][t], next[2][t]]));
        expect(cache.rows.every((r) => r !== null)).toBe(true);
        prompts.forEach((p, b) => {
          const full = model.forward([[...p, ...next[b]]]);
          const want = full.dataSync() as Float32Array;
          full.dispose();
          got.slice(0, -1).forEach((rows, t) => {
            const at = (p.length + t) * V;
            const rep = compareClose(rows[b], want.subarray(at, at + V), [V], {
              atol: 1e-4,
              label: `row ${b} step ${t}`,
            });
            expect(rep.ok, rep.message).toBe(true);
          });
        });
      } finally {
        cache.dispose();
        model.dispose();
      }
    });

  it('refuses arrays of the wrong length with a TypeError instead of reading past them', () => {
    const addon = loadNative().addon as unknown as { decodeLayer(p: Float64Array, ...a: unknown[]): void };
    const D = 8;
    const f = (n: number) => new Float32Array(n);
    // matrices wqkv [3D,D], wo [D,D], w1|w3 [32,D], w3 absent, w2 [D,16], dw1 and dd absent (float32 [N,K])
    const shapes: ([number, number] | null)[] = [[3 * D, D], [D, D], [32, D], null, [D, 16], null, null];
    const layer = [1, D, 2, 4, 2, 16, 0, 0, 1e-6, 1e-6, 0, 0, 0, 0, 0, 0, 4];
    const call = (x: number, k: number, numbers = layer, wqkvK = D) => {
      const arrays: (Float32Array | null)[] = [f(x), f(D), f(D), null, null, f(2), f(2), null, f(k), f(k)];
      arrays.push(...new Array(6 + 7).fill(null)); // key side, biases, keyStart
      const tail: number[] = [];
      shapes.forEach((s, i) => {
        const [N, K] = s === null ? [0, 0] : i === 0 ? [s[0], wqkvK] : s;
        arrays.push(s === null ? null : f(N * K), null);
        tail.push(...(s === null ? [-3, 0, 0, 0] : [-1, N, K, 0]));
      });
      addon.decodeLayer(new Float64Array([...numbers, ...tail]), ...arrays);
    };
    expect(() => call(D, 2 * 4 * 4)).not.toThrow();
    expect(() => call(D - 1, 2 * 4 * 4)).toThrow(/decodeLayer: x/);
    expect(() => call(D, 2 * 4 * 3)).toThrow(/decodeLayer: k\/v cache/);
    expect(() => call(D, 32, layer, D - 1)).toThrow(/decodeLayer: wqkv/);
    const full = [...layer];
    full[15] = 4; // count = cap: no room for the new row
    expect(() => call(D, 32, full)).toThrow(/decodeLayer: bad sizes/);
    const nine = [...layer];
    nine[0] = 9; // more rows than the fused decode products take
    expect(() => call(9 * D, 9 * 32, nine)).toThrow(/decodeLayer: bad sizes/);
    const nan = [...layer];
    nan[3] = Number.NaN; // E
    expect(() => call(D, 32, nan)).toThrow(/decodeLayer: bad sizes/);
    expect(() => addon.decodeLayer(new Float64Array(3))).toThrow(/decodeLayer expects params and 37 arrays/);
    expect(() => addon.decodeLayer(new Float64Array(3), ...new Array(37).fill(null))).toThrow(/decodeLayer: params/);
  });
});
