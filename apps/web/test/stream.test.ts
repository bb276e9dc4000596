/**
 * The page's streamTokens goes through the model's prefillAsync / decodeOneAsync: on the Node cpu
 * backend its greedy ids equal `generate`'s for the bundled tiny model, and it frees every tensor.
 */
import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { generate } from '@dcformer/model';
import { loadModel } from '@dcformer/model/node';
import { streamTokens, type StreamStats } from '../src/generate.js';

const MODEL = fileURLToPath(new URL('../public/models/tiny', import.meta.url));

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe('streamTokens', () => {
  it("greedy ids equal generate's, tensor count flat", async () => {
    const model = await loadModel(MODEL);
    const prompt = [72, 105, 44, 32, 116];
    const expected = generate(model, [prompt], { maxNewTokens: 12 }).newIds[0];
    const before = tf.memory().numTensors;
    const stats: StreamStats = { prefillMs: 0, decodeMs: 0, decodedTokens: 0 };
    const ids: number[] = [];
    for await (const step of streamTokens(model, prompt, { maxNewTokens: 12 }, stats)) ids.push(step.id);
    expect(ids).toEqual(expected);
    expect(stats.decodedTokens).toBe(11);
    expect(tf.memory().numTensors).toBe(before);
    model.dispose();
  });
});
