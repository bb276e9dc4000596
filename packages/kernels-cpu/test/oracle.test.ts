// The model's oracle check with the fast path registered: logits, loss and every gradient of one
// official case (DCFormer++, local/global layers, QK-norm) against the PyTorch golden data, at the
// tolerances of DESIGN.md. Reuses the model package's fixture helpers.
import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-core/dist/register_all_gradients';
import { compareClose } from '@dcformer/kernels/testing';
import { loadModel } from '@dcformer/model/node';
import { describe, expect, it } from 'vitest';
import { caseDir, golden, goldenArray, oracleGrads } from '../../model/test/oracle.js';
import { fastPathInfo, registerCpuKernels } from '../src/index.js';

process.env.DCFORMER_QUIET = '1';
await tf.setBackend('cpu');
registerCpuKernels('cpu');

const name = 'case1_dcformer_lgll';

describe(`${name} with @dcformer/kernels-cpu (${fastPathInfo()?.path})`, () => {
  const g = golden(name);

  it('logits within 1e-4, loss within 1e-5, gradients within 1e-3 of max |value|', async () => {
    const model = await loadModel(caseDir(name), { onWarning: () => {} });
    try {
      const expected = goldenArray(g.train_as_infer.logits);
      const logits = tf.tidy(() => model.forward(g.input_ids).dataSync());
      const rep = compareClose(logits, expected.data, expected.shape, { atol: 1e-4, label: `${name} logits` });
      expect(rep.ok, rep.message).toBe(true);
      const refs = oracleGrads(name, model.config.dim, model.config.nHead);
      const before = tf.memory().numTensors;
      const { loss, grads } = model.lossAndGrads(g.input_ids);
      expect(Math.abs(loss - g.train_as_infer.loss)).toBeLessThanOrEqual(1e-5);
      const failures: string[] = [];
      for (const [param, grad] of grads) {
        const ref = refs.get(param)!;
        const r = compareClose(grad.dataSync(), ref.data, ref.shape, { atol: 1e-3 * ref.scale, label: param });
        if (!r.ok) failures.push(r.message);
      }
      tf.dispose([...grads.values()]);
      expect(tf.memory().numTensors).toBe(before);
      expect(failures, failures.join('\n')).toEqual([]);
    } finally {
      model.dispose();
    }
  });

  it('cached prefill + decode agrees with the full forward within 1e-4', async () => {
    const model = await loadModel(caseDir(name), { onWarning: () => {} });
    try {
      const ids = g.input_ids as number[][];
      const full = tf.tidy(() => model.forward(ids).dataSync());
      const V = model.config.vocabSize;
      const T = ids[0].length;
      const P = Math.max(1, T - 4);
      const cache = model.createCache(ids.length);
      const steps: Float32Array[] = [];
      steps.push(tf.tidy(() => model.forwardCached(ids.map((r) => r.slice(0, P)), cache).dataSync() as Float32Array));
      for (let t = P; t < T; t++) steps.push(tf.tidy(() => model.forwardCached(ids.map((r) => [r[t]]), cache).dataSync() as Float32Array));
      cache.dispose();
      // reassemble [B,T,V] from the prefill block and the one-token steps
      const B = ids.length;
      const got = new Float32Array(B * T * V);
      for (let b = 0; b < B; b++) {
        got.set(steps[0].subarray(b * P * V, (b + 1) * P * V), b * T * V);
        for (let t = P; t < T; t++) got.set(steps[t - P + 1].subarray(b * V, (b + 1) * V), (b * T + t) * V);
      }
      const rep = compareClose(got, full, [B, T, V], { atol: 1e-4, label: 'cached vs full' });
      expect(rep.ok, rep.message).toBe(true);
    } finally {
      model.dispose();
    }
  });
});
