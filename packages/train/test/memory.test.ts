/** Acceptance: tf.memory().numTensors stays flat over 50 training steps (with evaluations). */
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initModel } from '@dcformer/model';
import { evalBatches, sampleBatch, splitTokens } from '../src/data.js';
import { Rng } from '../src/rng.js';
import { Trainer } from '../src/trainer.js';
import { MICRO, microTokens } from './micro.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe('memory', () => {
  it('numTensors is the same after step 1 and step 50 (accumulation and evaluation included)', () => {
    const before = tf.memory().numTensors;
    const model = initModel(MICRO, 1);
    const trainer = new Trainer(model, { schedule: { lr: 1e-3, warmupSteps: 5, totalSteps: 50, finalFraction: 0.1 } });
    const split = splitTokens(microTokens(), 0.2, 16, 'micro');
    const evalSet = evalBatches(split.val, 2, 16, 1);
    const rng = new Rng(3);
    const counts: number[] = [];
    for (let step = 1; step <= 50; step++) {
      // every fifth step accumulates two micro-batches (the accumulation path has its own temporaries)
      const micro = Array.from({ length: step % 5 === 0 ? 2 : 1 }, () => sampleBatch(split.train, 2, 16, rng));
      trainer.trainStep(micro);
      tf.dispose(micro);
      if (step % 10 === 0) trainer.evaluate(evalSet);
      counts.push(tf.memory().numTensors);
    }
    expect(counts[49]).toBe(counts[0]);
    expect(new Set(counts.slice(9)).size).toBe(1);
    tf.dispose(evalSet);
    trainer.dispose();
    model.dispose();
    // nothing left behind: the optimizer's moment buffers once leaked their initial zeros
    expect(tf.memory().numTensors).toBe(before);
  });
});
