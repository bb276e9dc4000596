// The model's oracle checks with the fast path registered: logits, loss and every gradient of each
// official case (DCFormer++ local/global, Transformer++, DCPythia) against the PyTorch golden data at
// the tolerances of DESIGN.md, and cached decode against the official inference path's logits. Reuses the model package's
// fixture helpers.
import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-core/dist/register_all_gradients';
import { compareClose } from '@dcformer/kernels/testing';
// The model from its sources, like the oracle helpers below (a dist DcformerModel is another class to tsc).
import { cachedLogits } from '../../model/src/index.js';
import { loadModel } from '../../model/src/node.js';
import { describe, expect, it } from 'vitest';
import { CASES, caseDir, golden, goldenArray, gradFailures, logitsLossFailures } from '../../model/test/oracle.js';
import { fastPathInfo, registerCpuKernels } from '../src/index.js';

process.env.DCFORMER_QUIET = '1';
await tf.setBackend('cpu');
registerCpuKernels('cpu');

describe.each(CASES)(`%s with @dcformer/kernels-cpu (${fastPathInfo()?.path})`, (name) => {
  it('logits within 1e-4, loss within 1e-5, gradients within 1e-3 of max |value|', async () => {
    const model = await loadModel(caseDir(name), { onWarning: () => {} });
    try {
      expect([...logitsLossFailures(model, name), ...gradFailures(model, name)]).toEqual([]);
    } finally {
      model.dispose();
    }
  });

  it("cached prefill + decode matches the official inference path's logits at every position within 1e-4", async () => {
    const model = await loadModel(caseDir(name), { onWarning: () => {} });
    try {
      const g = golden(name);
      const ids = g.input_ids as number[][];
      const T = ids[0].length;
      const got = await cachedLogits(model, ids, g.infer.prefill_len);
      const official = goldenArray(g.infer.logits);
      expect(official.shape).toEqual([ids.length, T, model.config.vocabSize]);
      const rep = compareClose(got, official.data, official.shape, {
        atol: 1e-4,
        label: 'cached vs official infer.logits',
      });
      expect(rep.ok, rep.message).toBe(true);
    } finally {
      model.dispose();
    }
  });
});
