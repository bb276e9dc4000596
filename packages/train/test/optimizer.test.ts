/**
 * Acceptance: an AdamW + clipping step of the Trainer equals the step computed here, independently,
 * in float64 from the documented formulas (torch.optim.AdamW, torch.nn.utils.clip_grad_norm_):
 *
 *   c = min(1, max_norm / (‖g‖₂ + 1e-6));  g ← c·g
 *   p ← p·(1 − lr·wd)  [rank ≥ 2 only];  m ← β1·m + (1−β1)·g;  v ← β2·v + (1−β2)·g²
 *   p ← p − lr/(1 − β1ᵗ) · m / (√v / √(1 − β2ᵗ) + ε)
 */
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadModel } from '@dcformer/model/node';
import { learningRate } from '../src/schedule.js';
import { clipCoefficient, Trainer } from '../src/trainer.js';
import { caseDir, inputIds } from './oracle.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

function snapshot(vars: Map<string, tf.Variable>): Map<string, { shape: number[]; data: Float64Array }> {
  return new Map([...vars].map(([n, v]) => [n, { shape: v.shape as number[], data: Float64Array.from(v.dataSync()) }]));
}

describe('AdamW + clipping', () => {
  it('two steps of the Trainer match the formulas (clipping active, decay on matrices only)', async () => {
    const model = await loadModel(caseDir('case1_dcformer_lgll'), { onWarning: () => {} });
    const [beta1, beta2, eps, wd, clip] = [0.9, 0.95, 1e-8, 0.1, 0.05];
    const schedule = { lr: 2e-3, warmupSteps: 1, totalSteps: 4, finalFraction: 0.1 };
    const trainer = new Trainer(model, { schedule, clip, adamw: { beta1, beta2, eps, weightDecay: wd } });
    const ids = tf.tensor2d(inputIds('case1_dcformer_lgll'), undefined, 'int32');
    const p = snapshot(model.variables);
    const m = new Map([...p].map(([n, x]) => [n, new Float64Array(x.data.length)]));
    const v = new Map([...p].map(([n, x]) => [n, new Float64Array(x.data.length)]));
    let clipped = false;

    for (let t = 1; t <= 2; t++) {
      // The gradients the step will use (deterministic: trainStep recomputes the same values).
      const { loss, grads } = trainer.gradients([ids]);
      const g = new Map([...grads].map(([n, x]) => [n, Float64Array.from(x.dataSync())]));
      tf.dispose([loss, ...grads.values()]);
      let sq = 0;
      for (const x of g.values()) for (const e of x) sq += e * e;
      const norm = Math.sqrt(sq);
      const c = Math.min(1, clip / (norm + 1e-6));
      clipped ||= c < 1;
      const lr = learningRate(schedule, t - 1);
      for (const [name, pv] of p) {
        const decay = pv.shape.length >= 2;
        const gm = g.get(name) as Float64Array;
        const mm = m.get(name) as Float64Array;
        const vv = v.get(name) as Float64Array;
        for (let i = 0; i < pv.data.length; i++) {
          const gi = gm[i] * c;
          if (decay) pv.data[i] *= 1 - lr * wd;
          mm[i] = beta1 * mm[i] + (1 - beta1) * gi;
          vv[i] = beta2 * vv[i] + (1 - beta2) * gi * gi;
          pv.data[i] -= (lr / (1 - beta1 ** t)) * (mm[i] / (Math.sqrt(vv[i]) / Math.sqrt(1 - beta2 ** t) + eps));
        }
      }
      const result = trainer.trainStep([ids]);
      expect(result.skipped).toBe(false);
      expect(result.lr).toBe(lr);
      expect(Math.abs(result.gradNorm - norm) / norm).toBeLessThan(1e-5);
      expect(Math.abs(clipCoefficient(result.gradNorm, clip) - c) / c).toBeLessThan(1e-5);
    }
    expect(clipped).toBe(true);
    expect(trainer.optimizer.step).toBe(2);
    const decayed = new Set(trainer.optimizer.decayedNames);
    for (const [name, v0] of model.variables) {
      expect(decayed.has(name), name).toBe(v0.shape.length >= 2);
      const want = (p.get(name) as { data: Float64Array }).data;
      const got = v0.dataSync();
      let worst = 0;
      for (let i = 0; i < got.length; i++)
        worst = Math.max(worst, Math.abs(got[i] - want[i]) / (Math.abs(want[i]) + 1e-3));
      // float32 arithmetic against float64: a few ulps of the parameter, relative.
      expect(worst, name).toBeLessThan(1e-5);
    }
    ids.dispose();
    trainer.dispose();
    model.dispose();
  });

  it('skips a non-finite step without touching weights or moments, and stops after k in a row', async () => {
    const model = await loadModel(caseDir('case3_dcformer_mha'), { onWarning: () => {} });
    const trainer = new Trainer(model, {
      schedule: { lr: 1e-3, warmupSteps: 0, totalSteps: 10, finalFraction: 0.1 },
      maxConsecutiveSkips: 2,
    });
    const ids = tf.tensor2d(inputIds('case3_dcformer_mha'), undefined, 'int32');
    const before = snapshot(model.variables);
    const emb = model.variables.get('tok_embeddings.weight') as tf.Variable;
    const saved = emb.clone();
    emb.assign(tf.fill(emb.shape, NaN)); // poisons the loss and every gradient
    const r = trainer.trainStep([ids]);
    expect(r.skipped).toBe(true);
    expect(trainer.step).toBe(1);
    expect(trainer.optimizer.step).toBe(0);
    expect(() => trainer.trainStep([ids])).toThrow(/2 steps in a row had a non-finite loss or gradient/);
    emb.assign(saved);
    for (const [name, v0] of model.variables)
      expect(Float64Array.from(v0.dataSync()), name).toEqual((before.get(name) as { data: Float64Array }).data);
    tf.dispose([saved, ids]);
    trainer.dispose();
    model.dispose();
  });
});
