import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-core/dist/register_all_gradients';
import { beforeAll, describe, expect, it } from 'vitest';
import { compareClose, flattenNested } from '@dcformer/kernels/testing';
import { generate } from '../src/generate.js';
import { loadModel } from '../src/node.js';
import {
  MUDD_CASES,
  MUDD_TOL,
  muddCachedFailures,
  muddCaseDir,
  muddGolden,
  muddGradFailures,
  muddLogitsLossFailures,
} from './mudd-oracle.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe.each(MUDD_CASES)('%s vs the official MUDD code (training forward)', (name) => {
  it('full-sequence logits within 1e-4 and loss within 1e-5', async () => {
    const model = await loadModel(muddCaseDir(name), { onWarning: () => {} });
    try {
      expect(muddLogitsLossFailures(model, name)).toEqual([]);
    } finally {
      model.dispose();
    }
  });

  it('gradients of every parameter within 1e-3 of its max |g|, tensor count flat', async () => {
    const model = await loadModel(muddCaseDir(name), { onWarning: () => {} });
    try {
      expect(muddGradFailures(model, name)).toEqual([]);
    } finally {
      model.dispose();
    }
  });
});

describe.each(MUDD_CASES)('%s cached path vs the official code', (name) => {
  const g = muddGolden(name);

  it('cached prefill + teacher-forced one-token decode logits within 1e-4 of the official cached path', async () => {
    const model = await loadModel(muddCaseDir(name), { onWarning: () => {} });
    try {
      expect(await muddCachedFailures(model, name)).toEqual([]);
    } finally {
      model.dispose();
    }
  });

  it('a chunked prefill at a later position (which the official code gets wrong) matches the full forward', async () => {
    const model = await loadModel(muddCaseDir(name), { onWarning: () => {} });
    const ids = g.input_ids as number[][];
    const T = ids[0].length;
    const cuts = [5, 12, T];
    const expected = flattenNested(g.train.logits);
    const V = model.config.vocabSize;
    const got = new Float32Array(ids.length * T * V);
    const before = tf.memory().numTensors;
    const cache = model.createCache(ids.length);
    try {
      let start = 0;
      for (const end of cuts) {
        const part = model.forwardCached(
          ids.map((row) => row.slice(start, end)),
          cache,
        );
        const data = part.dataSync();
        part.dispose();
        const n = end - start;
        for (let b = 0; b < ids.length; b++) got.set(data.subarray(b * n * V, (b + 1) * n * V), (b * T + start) * V);
        start = end;
      }
    } finally {
      cache.dispose();
      model.dispose();
    }
    expect(tf.memory().numTensors).toBe(before - model.variables.size);
    const rep = compareClose(got, expected.data, expected.shape, { atol: MUDD_TOL.logits, label: `${name} chunked` });
    expect(rep.ok, rep.message).toBe(true);
  });

  it('greedy generate gives the official ids, alone and left-padded in a batch with a shorter prompt', async () => {
    const model = await loadModel(muddCaseDir(name), { onWarning: () => {} });
    try {
      const { prompt_len: P, n_gen: n, ids } = g.generate as { prompt_len: number; n_gen: number; ids: number[][] };
      const prompts = ids.map((row) => row.slice(0, P));
      expect(generate(model, prompts, { maxNewTokens: n }).ids).toEqual(ids);
      // row 0 next to a 4-token prompt: left padding must not change its tokens
      const short = [prompts[1].slice(0, 4)];
      const batched = generate(model, [prompts[0], short[0]], { maxNewTokens: n });
      expect(batched.ids[0]).toEqual(ids[0]);
      expect(batched.ids[1]).toEqual(generate(model, short, { maxNewTokens: n }).ids[0]);
      // sampling: the same seed gives the same tokens, in range
      const sampling = { maxNewTokens: 6, temperature: 0.9, topK: 20, seed: 3 };
      const a = generate(model, prompts, sampling).newIds;
      expect(generate(model, prompts, sampling).newIds).toEqual(a);
      expect(a.flat().every((id) => Number.isInteger(id) && id >= 0 && id < model.config.vocabSize)).toBe(true);
    } finally {
      model.dispose();
    }
  });
});
