/**
 * The README example as a test: a tiny causal LM built with the Layers API and trained with
 * model.fit on a copy task, once with plain MHA and once with DCMHA.
 */
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { DCMultiHeadAttention, RMSNorm, dcformerBlock } from '../src/index.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const [V, HALF, D, HEADS] = [8, 4, 16, 4];
const T = 2 * HALF;

/**
 * Sequences "a b c d a b c d a": a random half, repeated. The first half is noise (its best loss is
 * ln V per token); every later token is a copy from HALF positions back, which only attention can
 * fetch. Inputs are the first T tokens, targets the next T ([n, T, 1] for sparse cross-entropy).
 */
function copyTask(n: number, seed: number): { x: tf.Tensor2D; y: tf.Tensor3D } {
  let state = seed >>> 0;
  const next = () => (state = (Math.imul(state, 1664525) + 1013904223) >>> 0) / 2 ** 32;
  const xs: number[][] = [];
  const ys: number[][][] = [];
  for (let i = 0; i < n; i++) {
    const half = Array.from({ length: HALF }, () => Math.floor(next() * V));
    const seq = [...half, ...half, half[0]];
    xs.push(seq.slice(0, T));
    ys.push(seq.slice(1).map((id) => [id]));
  }
  return { x: tf.tensor2d(xs), y: tf.tensor3d(ys) };
}

/** Embedding → DCFormer block → RMSNorm → softmax over the vocabulary. */
function tinyLM(useDcmha: boolean): tf.LayersModel {
  const ids = tf.input({ shape: [T] });
  let h = tf.layers
    .embedding({
      inputDim: V,
      outputDim: D,
      embeddingsInitializer: tf.initializers.randomNormal({ stddev: 1 / Math.sqrt(D), seed: 1 }),
    })
    .apply(ids) as tf.SymbolicTensor;
  h = dcformerBlock(h, { numHeads: HEADS, useDcmha, seed: 7 });
  h = new RMSNorm().apply(h) as tf.SymbolicTensor;
  const probs = tf.layers
    .dense({ units: V, activation: 'softmax', kernelInitializer: tf.initializers.glorotUniform({ seed: 3 }) })
    .apply(h);
  return tf.model({ inputs: ids, outputs: probs as tf.SymbolicTensor });
}

/** Trains with model.fit; returns the loss per epoch and the live tensor count after each epoch. */
async function train(model: tf.LayersModel, epochs: number): Promise<{ losses: number[]; counts: number[] }> {
  const { x, y } = copyTask(64, 42);
  model.compile({ optimizer: tf.train.adam(0.02), loss: 'sparseCategoricalCrossentropy' });
  const counts: number[] = [];
  const history = await model.fit(x, y, {
    epochs,
    batchSize: 32,
    shuffle: false,
    verbose: 0,
    callbacks: { onEpochEnd: async () => void counts.push(tf.memory().numTensors) },
  });
  tf.dispose([x, y]);
  return { losses: history.history.loss as number[], counts };
}

describe('model.fit on a toy copy task', () => {
  for (const useDcmha of [false, true]) {
    it(`tf.model with a DCFormer block (${useDcmha ? 'DCMHA' : 'MHA'}): the loss falls and no tensor leaks`, async () => {
      const model = tinyLM(useDcmha);
      const { losses, counts } = await train(model, 8);
      // ln 8 ≈ 2.08 at the start; the floor is 3/8 · ln 8 ≈ 0.78 (three noise tokens of eight)
      expect(losses[losses.length - 1]).toBeLessThan(losses[0] - 0.3);
      // the optimizer's slots exist after the first batch; from then on every epoch ends where it began
      expect(new Set(counts).size).toBe(1);
      model.dispose();
    });
  }

  it('tf.sequential: embedding → DCMultiHeadAttention → dense trains too', async () => {
    const model = tf.sequential({
      layers: [
        tf.layers.embedding({
          inputDim: V,
          outputDim: D,
          inputShape: [T],
          embeddingsInitializer: tf.initializers.randomNormal({ stddev: 0.25, seed: 4 }),
        }),
        new DCMultiHeadAttention({ numHeads: HEADS, window: HALF + 1, seed: 5 }),
        tf.layers.dense({
          units: V,
          activation: 'softmax',
          kernelInitializer: tf.initializers.glorotUniform({ seed: 6 }),
        }),
      ],
    });
    const { losses, counts } = await train(model, 6);
    expect(losses[losses.length - 1]).toBeLessThan(losses[0] - 0.2);
    expect(new Set(counts).size).toBe(1);
    model.dispose();
  });
});
