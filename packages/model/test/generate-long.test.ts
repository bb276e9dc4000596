/**
 * Generation past block_size (the cache is cropped to each row's last ⌊block_size/2⌋ tokens and
 * prefilled afresh), text-level stop conditions, and which options mean argmax.
 */
import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveConfig } from '../src/config.js';
import { generate, generateAsync } from '../src/generate.js';
import { initModel } from '../src/init.js';
import type { DcformerModel } from '../src/model.js';
import { argmax } from '../src/sampling.js';

const config = resolveConfig({
  family: 'dcformer',
  dim: 32,
  nHead: 4,
  nLayer: 2,
  vocabSize: 40,
  blockSize: 12,
  windowSize: 4,
  windowType: 'LG',
  useQkNorm: true,
  qChunkSize: 4,
  intermediateSize: 64,
});
let model: DcformerModel;

beforeAll(async () => {
  await tf.setBackend('cpu');
  model = initModel(config, 3);
});
afterAll(() => model.dispose());

/** The same crop rule with one full forward per token and no cache: the oracle of the cached loop. */
function uncachedGreedy(prompt: number[], n: number): number[] {
  let context = [...prompt];
  const out = [...prompt];
  for (let i = 0; i < n; i++) {
    const last = tf.tidy(() => {
      const logits_BTV = model.forward([context]);
      return tf.slice(logits_BTV, [0, context.length - 1, 0], [1, 1, config.vocabSize]).dataSync() as Float32Array;
    });
    const id = argmax(last);
    out.push(id);
    context.push(id);
    if (context.length > config.blockSize) context = context.slice(-Math.floor(config.blockSize / 2));
  }
  return out;
}

describe('generation past block_size', () => {
  it('greedy ids of 3 × block_size new tokens equal the uncached crop loop; each crop is reported', async () => {
    const prompts = [
      [1, 2, 3, 4, 5],
      [7, 8],
    ];
    const crops: number[] = [];
    const got = generate(model, prompts, { maxNewTokens: 36, onCrop: (kept) => crops.push(kept) });
    expect(got.ids.map((r) => r.length)).toEqual([41, 38]);
    // Rows are cropped together (one padded cache), so each row's crop points follow the longest row.
    expect(got.ids[0]).toEqual(uncachedGreedy(prompts[0], 36));
    expect(crops.length).toBeGreaterThan(3);
    expect(new Set(crops)).toEqual(new Set([6]));
    const again = await generateAsync(model, [prompts[0]], { maxNewTokens: 36 });
    expect(again.ids[0]).toEqual(got.ids[0]);
  });

  it('a prompt longer than block_size is still an error naming both numbers', () => {
    expect(() => generate(model, [new Array(13).fill(1)], { maxNewTokens: 1 })).toThrow(
      /longest prompt \(13 tokens\) exceeds block_size 12/,
    );
  });
});

describe('stop conditions and argmax', () => {
  it('stopWhen ends a row after the token it accepts, other rows go on', () => {
    const got = generate(model, [[1, 2], [3]], {
      maxNewTokens: 8,
      stopWhen: (row, ids) => row === 0 && ids.length === 3,
    });
    expect(got.newIds.map((r) => r.length)).toEqual([3, 8]);
  });

  it('a seed alone and temperature 0 (with top-k) are argmax, as no option at all', () => {
    const plain = generate(model, [[4, 5, 6]], { maxNewTokens: 10 }).ids;
    expect(generate(model, [[4, 5, 6]], { maxNewTokens: 10, seed: 9 }).ids).toEqual(plain);
    expect(generate(model, [[4, 5, 6]], { maxNewTokens: 10, temperature: 0, topK: 5, seed: 2 }).ids).toEqual(plain);
    // and a sampling run with that seed is not argmax (40-token vocabulary, 10 draws at t = 5)
    expect(generate(model, [[4, 5, 6]], { maxNewTokens: 10, temperature: 5, seed: 9 }).ids).not.toEqual(plain);
  });
});
