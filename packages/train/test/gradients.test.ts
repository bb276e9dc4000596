/**
 * Acceptance: gradients through the training path (Trainer.gradients, with and without gradient
 * accumulation) equal the reference's train_as_infer gradients within DESIGN.md's tolerance.
 */
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadModel } from '@dcformer/model/node';
import { Trainer } from '../src/trainer.js';
import { CASES, caseDir, inputIds, oracleGrads } from './oracle.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const schedule = { lr: 1e-3, warmupSteps: 0, totalSteps: 10, finalFraction: 0.1 };

describe('training-path gradients match the official code', () => {
  for (const name of CASES) {
    it(`${name}: one batch and two accumulated halves`, async () => {
      const model = await loadModel(caseDir(name), { onWarning: () => {} });
      const trainer = new Trainer(model, { schedule });
      const ids = inputIds(name);
      const refs = oracleGrads(name, model.config.dim, model.config.nHead);
      const whole = tf.tensor2d(ids, undefined, 'int32');
      const halves = ids.map((row) => tf.tensor2d([row], undefined, 'int32'));
      for (const micro of [[whole], halves]) {
        const { loss, grads } = trainer.gradients(micro);
        expect([...grads.keys()].sort()).toEqual([...refs.keys()].sort());
        for (const [param, g] of grads) {
          const ref = refs.get(param) as { data: Float32Array; scale: number };
          const ours = g.dataSync();
          let worst = 0;
          for (let i = 0; i < ours.length; i++) worst = Math.max(worst, Math.abs(ours[i] - ref.data[i]));
          expect(worst / ref.scale, param).toBeLessThanOrEqual(1e-3);
        }
        tf.dispose([loss, ...grads.values()]);
      }
      tf.dispose([whole, ...halves]);
      trainer.dispose();
      model.dispose();
    });
  }
});
