import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-core/dist/register_all_gradients';
import { compareClose } from '@dcformer/kernels/testing';
import { beforeAll, describe, expect, it } from 'vitest';
import { resolveConfig } from '../src/config.js';
import { cachedLogits, decodeOne, generate, prefill } from '../src/generate.js';
import { initModel } from '../src/init.js';
import { loadModel } from '../src/node.js';
import { CASES, cachedLogitsFailures, caseDir, golden } from './oracle.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe.each(CASES)('%s cached path vs the official inference path', (name) => {
  const g = golden(name);
  it('prefill + teacher-forced decode logits within 1e-4 of infer.logits', async () => {
    const model = await loadModel(caseDir(name), { onWarning: () => {} });
    try {
      expect(await cachedLogitsFailures(model, name)).toEqual([]);
    } finally {
      model.dispose();
    }
  });

  it('greedy ids identical to generate.ids', async () => {
    const model = await loadModel(caseDir(name), { onWarning: () => {} });
    try {
      const prompts = g.generate.ids.map((row: number[]) => row.slice(0, g.generate.prompt_len));
      const result = generate(model, prompts, { maxNewTokens: g.generate.n_gen });
      expect(result.ids).toEqual(g.generate.ids);
    } finally {
      model.dispose();
    }
  });
});

describe('cached path vs our full forward beyond what the reference can do', () => {
  const config = resolveConfig({
    family: 'dcformer',
    dim: 32,
    nHead: 4,
    nLayer: 4,
    vocabSize: 50,
    blockSize: 96,
    windowSize: 8,
    windowType: 'LGLL',
    useQkNorm: true,
    qChunkSize: 16,
    mgate: true,
    mgateDim: 4,
    intermediateSize: 64,
  });
  const ids = [
    Array.from({ length: 90 }, (_, i) => (i * 7 + 3) % 50),
    Array.from({ length: 90 }, (_, i) => (i * 11 + 5) % 50),
  ];

  it.each([1, 20, 57])('prefill %i then decode to T = 90 (> 2W, > block_size/2) agrees within 1e-4', async (P) => {
    const model = initModel(config, 5);
    try {
      const full = tf.tidy(() => model.forward(ids).dataSync());
      const got = await cachedLogits(model, ids, P);
      const rep = compareClose(got, full, [2, 90, 50], { atol: 1e-4, label: `P=${P}` });
      expect(rep.ok, rep.message).toBe(true);
    } finally {
      model.dispose();
    }
  });

  // One row on the cpu backend: the key-side weights grow in place (cache.ts appendRows), views of
  // one buffer; local layers drop rows from the front of the view.
  it.each([1, 20])(
    'one row: prefill %i then decode to T = 90 agrees within 1e-4; earlier cache tensors keep their values',
    async (P) => {
      const model = initModel(config, 5);
      try {
        const one = [ids[1]];
        const full = tf.tidy(() => model.forward(one).dataSync());
        const got = await cachedLogits(model, one, P);
        const rep = compareClose(got, full, [1, 90, 50], { atol: 1e-4, label: `P=${P}` });
        expect(rep.ok, rep.message).toBe(true);
        // a tensor the cache held at some step is not written by later steps (global layer 1 of LGLL);
        // tf.clone shares its data, which is a view of a larger buffer (the in-place path ran)
        const { cache } = prefill(model, [one[0].slice(0, P)]);
        decodeOne(model, cache, [one[0][P]]);
        const held = tf.clone(cache.layers[1]!.key!.pre.w1);
        const values = held.dataSync() as Float32Array;
        expect(values.buffer.byteLength).toBeGreaterThan(values.byteLength);
        const snapshot = [...values];
        for (let t = P + 1; t < P + 30; t++) decodeOne(model, cache, [one[0][t]]);
        expect([...held.dataSync()]).toEqual(snapshot);
        held.dispose();
        cache.dispose();
      } finally {
        model.dispose();
      }
    },
  );

  it('a batch of prompts of different lengths generates what each prompt generates alone', () => {
    const model = initModel(
      resolveConfig({ ...config, family: 'dcpythia', rotaryPct: 0.5, mgate: false, windowType: null }),
      9,
    );
    try {
      const prompts = [
        [1, 2, 3, 4, 5, 6, 7],
        [9, 8],
        [4, 4, 4, 1, 2],
      ];
      const together = generate(model, prompts, { maxNewTokens: 12 });
      const alone = prompts.map((p) => generate(model, [p], { maxNewTokens: 12 }).ids[0]);
      expect(together.ids).toEqual(alone);
      const sampledTogether = generate(model, prompts, { maxNewTokens: 8, temperature: 1.3, seed: 4 });
      const sampledAgain = generate(model, prompts, { maxNewTokens: 8, temperature: 1.3, seed: 4 });
      expect(sampledAgain.ids).toEqual(sampledTogether.ids);
    } finally {
      model.dispose();
    }
  });

  it('tensor count stays flat over 500 decode steps', () => {
    const long = resolveConfig({ ...config, blockSize: 520 });
    const model = initModel(long, 2);
    try {
      const { cache } = prefill(model, [[1, 2, 3]]);
      const before = tf.memory().numTensors;
      let token = 4;
      for (let i = 0; i < 500; i++) {
        const logits = decodeOne(model, cache, [token]);
        token = (token + 1) % 50;
        if (i === 0) expect(logits[0].length).toBe(50);
      }
      // local layers hold W − 1 positions, global ones grow: the number of tensors is what matters
      expect(tf.memory().numTensors).toBe(before);
      expect(cache.layers[0]!.k_BNSE.shape[2]).toBe(7);
      cache.dispose();
    } finally {
      model.dispose();
    }
  });
});
