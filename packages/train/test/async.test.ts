/**
 * The `await data()` forms (trainStepAsync, evaluateAsync, sampleIdsAsync) give the synchronous
 * forms' numbers bit for bit on the cpu backend, and keep the skip rule: they are what runTraining
 * uses, so that a run works on GPU backends too.
 */
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initModel } from '@dcformer/model';
import { Rng } from '../src/rng.js';
import { sampleBatch } from '../src/data.js';
import { sampleIds, sampleIdsAsync } from '../src/sample.js';
import { Trainer, type StepResult } from '../src/trainer.js';
import { MICRO, microTokens } from './micro.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const SCHEDULE = { lr: 3e-3, warmupSteps: 1, totalSteps: 4, finalFraction: 0.1 };

/** Three steps (the second with two micro-batches) and an evaluation, sync or async. */
async function trajectory(async: boolean): Promise<{ steps: StepResult[]; val: number; weights: Float32Array[] }> {
  const model = initModel(MICRO, 3);
  const trainer = new Trainer(model, { schedule: SCHEDULE, clip: 0.5 });
  const tokens = microTokens();
  const rng = new Rng(11);
  const steps: StepResult[] = [];
  try {
    for (const accumulate of [1, 2, 1]) {
      const micro = Array.from({ length: accumulate }, () => sampleBatch(tokens, 2, 16, rng));
      steps.push(async ? await trainer.trainStepAsync(micro) : trainer.trainStep(micro));
      tf.dispose(micro);
    }
    const evalSet = [sampleBatch(tokens, 2, 16, rng), sampleBatch(tokens, 2, 16, rng)];
    const val = async ? await trainer.evaluateAsync(evalSet) : trainer.evaluate(evalSet);
    tf.dispose(evalSet);
    const weights = [...model.variables.values()].map((v) => (v.dataSync() as Float32Array).slice());
    return { steps, val, weights };
  } finally {
    trainer.dispose();
    model.dispose();
  }
}

describe('async forms', () => {
  it('trainStepAsync and evaluateAsync equal trainStep and evaluate bit for bit', async () => {
    const sync = await trajectory(false);
    const async = await trajectory(true);
    expect(async.steps).toEqual(sync.steps);
    expect(async.val).toBe(sync.val);
    expect(async.weights).toEqual(sync.weights);
    expect(sync.steps.map((s) => s.step)).toEqual([0, 1, 2]);
    expect(sync.steps.every((s) => Number.isFinite(s.loss) && !s.skipped)).toBe(true);
  });

  it('trainStepAsync skips non-finite steps and stops after maxConsecutiveSkips', async () => {
    const model = initModel(MICRO, 3);
    const trainer = new Trainer(model, { schedule: SCHEDULE, maxConsecutiveSkips: 2 });
    const ids = sampleBatch(microTokens(), 2, 16, new Rng(1));
    const emb = model.variables.get('tok_embeddings.weight') as tf.Variable;
    emb.assign(tf.fill(emb.shape, NaN));
    try {
      const r = await trainer.trainStepAsync([ids]);
      expect(r).toMatchObject({ step: 0, skipped: true });
      expect(trainer.optimizer.step).toBe(0);
      await expect(trainer.trainStepAsync([ids])).rejects.toThrow(/2 steps in a row had a non-finite loss or gradient/);
      expect(trainer.skippedSteps).toBe(2);
    } finally {
      ids.dispose();
      trainer.dispose();
      model.dispose();
    }
  });

  it("sampleIdsAsync gives sampleIds' ids, across block_size rounds too", async () => {
    const model = initModel(MICRO, 5);
    try {
      const options = { temperature: 0.8, topK: 20, seed: 4 };
      const sync = sampleIds(model, [70, 105, 114], 20, options); // 20 > block_size 16: several rounds
      const async = await sampleIdsAsync(model, [70, 105, 114], 20, options);
      expect(sync).toHaveLength(20);
      expect(async).toEqual(sync);
    } finally {
      model.dispose();
    }
  });
});
