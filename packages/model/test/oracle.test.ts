import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-core/dist/register_all_gradients';
import { compareClose } from '@dcformer/kernels/testing';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadModel } from '../src/node.js';
import { CASES, caseDir, golden, goldenArray, oracleGrads } from './oracle.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe.each(CASES)('%s vs the official code (train_as_infer)', (name) => {
  const g = golden(name);

  it('full-sequence logits within 1e-4 and loss within 1e-5', async () => {
    const model = await loadModel(caseDir(name), { onWarning: () => {} });
    try {
      const expected = goldenArray(g.train_as_infer.logits);
      const logits = tf.tidy(() => model.forward(g.input_ids).dataSync());
      const rep = compareClose(logits, expected.data, expected.shape, { atol: 1e-4, label: `${name} logits` });
      expect(rep.ok, rep.message).toBe(true);
      const loss = tf.tidy(() => model.loss(g.input_ids).dataSync()[0]);
      expect(Math.abs(loss - g.train_as_infer.loss)).toBeLessThanOrEqual(1e-5);
    } finally {
      model.dispose();
    }
  });

  it('gradients of every parameter within 1e-3 of the stored max |value|, tensor count flat', async () => {
    const model = await loadModel(caseDir(name), { onWarning: () => {} });
    try {
      const refs = oracleGrads(name, model.config.dim, model.config.nHead);
      const before = tf.memory().numTensors;
      const { loss, grads } = model.lossAndGrads(g.input_ids);
      expect(Math.abs(loss - g.train_as_infer.loss)).toBeLessThanOrEqual(1e-5);
      expect([...grads.keys()].sort()).toEqual([...refs.keys()].sort());
      const failures: string[] = [];
      for (const [param, grad] of grads) {
        const ref = refs.get(param)!;
        expect(grad.shape).toEqual(ref.shape);
        const rep = compareClose(grad.dataSync(), ref.data, ref.shape, { atol: 1e-3 * ref.scale, label: param });
        if (!rep.ok) failures.push(rep.message);
      }
      tf.dispose([...grads.values()]);
      expect(tf.memory().numTensors).toBe(before);
      expect(failures, failures.join('\n')).toEqual([]);
    } finally {
      model.dispose();
    }
  });
});
