import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-core/dist/register_all_gradients';
import { beforeAll, describe, expect, it } from 'vitest';
import { resolveConfig } from '../src/config.js';
import { initModel } from '../src/init.js';
import { modelWeights } from '../src/checkpoint.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

function std(a: Float32Array): number {
  let mean = 0;
  for (const v of a) mean += v / a.length;
  let s = 0;
  for (const v of a) s += (v - mean) ** 2 / a.length;
  return Math.sqrt(s);
}

describe('official init', () => {
  const config = resolveConfig({
    family: 'dcformer',
    dim: 128,
    nHead: 4,
    nLayer: 2,
    vocabSize: 300,
    blockSize: 32,
    windowSize: 8,
    useQkNorm: true,
  });

  it('is seeded: same seed, same weights; other seed, other weights', () => {
    const a = initModel(config, 7);
    const b = initModel(config, 7);
    const c = initModel(config, 8);
    const wa = modelWeights(a).get('layers.0.attention.dyn_w_proj.dw1')!.data;
    expect(modelWeights(b).get('layers.0.attention.dyn_w_proj.dw1')!.data).toEqual(wa);
    expect(modelWeights(c).get('layers.0.attention.dyn_w_proj.dw1')!.data).not.toEqual(wa);
    [a, b, c].forEach((m) => m.dispose());
  });

  it('draws each tensor from the official distribution (docs/dcmha.md "Official init")', () => {
    const m = initModel(config, 1);
    const w = modelWeights(m);
    const D = 128,
      N = 4,
      K = 16,
      _V = 300;
    const expectStd = (name: string, expected: number) => {
      const s = std(w.get(name)!.data);
      expect(Math.abs(s - expected) / expected, `${name}: std ${s} vs ${expected}`).toBeLessThan(0.06);
    };
    expectStd('layers.0.attention.dyn_w_proj.dw1', Math.sqrt(2 / (D + K)));
    expectStd('layers.1.attention.dyn_w_proj.qkw', 0.02 / (Math.sqrt(4 * N) * (N + 2)));
    expectStd('layers.0.attention.dyn_w_proj.dd', 0.05 * Math.sqrt(2 / (N + D)));
    expectStd('tok_embeddings.weight', 1 / Math.sqrt(D));
    expectStd('output.weight', 1 / Math.sqrt(D));
    // xavier_uniform on (out, in): U(±√(6/(in+out))), std = bound/√3
    expectStd('layers.0.attention.wqkv.weight', Math.sqrt(6 / (D + 3 * D)) / Math.sqrt(3));
    const bound = Math.sqrt(6 / (D + 3 * D));
    expect(Math.max(...w.get('layers.0.attention.wqkv.weight')!.data.map(Math.abs))).toBeLessThanOrEqual(bound);
    expect([...w.get('layers.1.attention.q_norm.scale')!.data]).toEqual(new Array(32).fill(1));
    expect([...w.get('norm.weight')!.data].every((v) => v === 1)).toBe(true);
    m.dispose();
  });

  it('new DCPythia models use the DCFormer formulas, so the dynamic weights get gradients', () => {
    const pythia = resolveConfig({
      family: 'dcpythia',
      dim: 64,
      nHead: 4,
      nLayer: 1,
      vocabSize: 50,
      blockSize: 16,
      windowSize: null,
      rotaryPct: 0.25,
    });
    const m = initModel(pythia, 3);
    const { grads } = m.lossAndGrads([[1, 2, 3, 4, 5, 6, 7, 8]]);
    for (const name of ['dw1', 'qkw', 'dd']) {
      const g = grads.get(`layers.0.attention.dyn_w_proj.${name}`)!;
      expect(
        tf.tidy(() => tf.max(tf.abs(g)).dataSync()[0]),
        name,
      ).toBeGreaterThan(0);
    }
    tf.dispose([...grads.values()]);
    m.dispose();
  });
});
