// The official PyTorch golden data (fixtures/oracle: DCFormer++ local/global, Transformer++,
// DCPythia) on the `cuda` backend over the host build: logits, loss and every gradient at DESIGN.md's
// tolerances, cached prefill + decode against the official inference path's logits, and no kernel
// call falling back to the cpu backend. Reuses the model package's fixture helpers, as kernels-cpu's
// oracle test does.
import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-core/dist/register_all_gradients';
import { compareClose } from '@dcformer/kernels/testing';
// The model from its sources, like the oracle helpers below (a dist DcformerModel is another class to tsc).
import { cachedLogits } from '../../model/src/index.js';
import { loadModel } from '../../model/src/node.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CASES, caseDir, golden, goldenArray, gradFailures, logitsLossFailures } from '../../model/test/oracle.js';
import { registerCudaBackend, type CudaBackend } from '../src/backend.js';
import { hostAddon } from './host-build.js';

const addon = hostAddon('the oracle tests on the cuda backend');
const NAME = 'cuda-oracle-test';

describe.skipIf(addon === null)('the official golden data on the cuda backend (host build)', () => {
  beforeAll(async () => {
    expect(registerCudaBackend({ addon: addon!, name: NAME, log: () => {} })).toMatchObject({ registered: true });
    await tf.setBackend(NAME);
  });
  afterAll(async () => {
    expect([...(tf.findBackend(NAME) as CudaBackend).fallbacks()], 'fallbacks over every case').toEqual([]);
    await tf.setBackend('cpu');
    tf.removeBackend(NAME);
  });

  it.each(CASES)('%s: logits within 1e-4, loss within 1e-5, gradients within 1e-3 of max |value|', async (name) => {
    const model = await loadModel(caseDir(name), { onWarning: () => {} });
    try {
      expect([...logitsLossFailures(model, name), ...gradFailures(model, name)]).toEqual([]);
    } finally {
      model.dispose();
    }
  });

  it.each(CASES)(
    "%s: cached prefill + decode matches the official inference path's logits within 1e-4",
    async (name) => {
      const model = await loadModel(caseDir(name), { onWarning: () => {} });
      try {
        const g = golden(name);
        const ids = g.input_ids as number[][];
        const got = await cachedLogits(model, ids, g.infer.prefill_len);
        const official = goldenArray(g.infer.logits);
        const rep = compareClose(got, official.data, official.shape, {
          atol: 1e-4,
          label: 'cached vs official infer.logits',
        });
        expect(rep.ok, rep.message).toBe(true);
      } finally {
        model.dispose();
      }
    },
  );
});
