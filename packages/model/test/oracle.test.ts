import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-core/dist/register_all_gradients';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadModel } from '../src/node.js';
import { CASES, caseDir, gradFailures, logitsLossFailures } from './oracle.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe.each(CASES)('%s vs the official code (train_as_infer)', (name) => {
  it('full-sequence logits within 1e-4 and loss within 1e-5', async () => {
    const model = await loadModel(caseDir(name), { onWarning: () => {} });
    try {
      expect(logitsLossFailures(model, name)).toEqual([]);
    } finally {
      model.dispose();
    }
  });

  it('gradients of every parameter within 1e-3 of the stored max |value|, tensor count flat', async () => {
    const model = await loadModel(caseDir(name), { onWarning: () => {} });
    try {
      expect(gradFailures(model, name)).toEqual([]);
    } finally {
      model.dispose();
    }
  });
});
