import * as tf from '@tensorflow/tfjs-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { compareClose, flattenNested } from '@dcformer/kernels/testing';
import { loadModel } from '@dcformer/model/node';
import { cachedLogits, generateAsync, type DcformerModel } from '@dcformer/model';
import { CASES, ORACLE_DIR, golden, lossAndGradsAsync, oracleGrads } from './oracle.js';
import { gpuErrors, useWebGPU } from './webgpu-env.js';

const gpu = await useWebGPU();

const TOL = { logits: 1e-4, loss: 1e-5, grad: 1e-3 };

// All four matched cases (DESIGN.md "Golden data"): LGLL windows + QK-norm + mgate, 8 heads with W = 16,
// Transformer++ (no Compose), DCPythia.
describe.skipIf(!gpu.ok).each(CASES)('%s on webgpu vs the official code', (name) => {
  const g = golden(name);
  let model: DcformerModel;
  beforeAll(async () => {
    model = await loadModel(`${ORACLE_DIR}${name}`, { onWarning: () => {} });
  });
  afterAll(() => model?.dispose());
  afterEach(() => expect(gpuErrors.splice(0)).toEqual([]));

  it('full-sequence logits and loss', async () => {
    const expected = flattenNested(g.train_as_infer.logits);
    const logitsT = model.forward(g.input_ids);
    const logits = (await logitsT.data()) as Float32Array;
    logitsT.dispose();
    const rep = compareClose(logits, expected.data, expected.shape, { atol: TOL.logits, label: `${name} logits` });
    console.log(rep.message);
    expect(rep.ok, rep.message).toBe(true);
  });

  it('loss and gradients of every parameter', async () => {
    const before = tf.memory().numTensors;
    const { loss, grads } = await lossAndGradsAsync(model, g.input_ids);
    expect(tf.memory().numTensors).toBe(before);
    console.log(`${name} loss |diff| ${Math.abs(loss - g.train_as_infer.loss)}`);
    expect(Math.abs(loss - g.train_as_infer.loss)).toBeLessThanOrEqual(TOL.loss);
    const refs = oracleGrads(name, model.config.dim, model.config.nHead);
    let worst = 0;
    const failures: string[] = [];
    for (const [param, grad] of grads) {
      const ref = refs.get(param)!;
      const rep = compareClose(grad, ref.data, ref.shape, { atol: TOL.grad * ref.scale, label: param });
      worst = Math.max(worst, rep.maxAbs / ref.scale);
      if (!rep.ok) failures.push(rep.message);
    }
    console.log(`${name} grads worst max|diff|/max|g| ${worst}`);
    expect(failures, failures.join('\n')).toEqual([]);
  });

  it('cached prefill + teacher-forced decode logits', async () => {
    const expected = flattenNested(g.infer.logits);
    const got = await cachedLogits(model, g.input_ids, g.infer.prefill_len);
    const rep = compareClose(got, expected.data, expected.shape, { atol: TOL.logits, label: `${name} cached logits` });
    console.log(rep.message);
    expect(rep.ok, rep.message).toBe(true);
  });

  it("greedy ids identical to the official generate, through the product's generateAsync", async () => {
    const {
      prompt_len: P,
      n_gen: n,
      ids,
      step_logits: stepLogits,
    } = g.generate as { prompt_len: number; n_gen: number; ids: number[][]; step_logits: number[][][] };
    // How far the official choices are from a tie (top-1 minus top-2 of its step logits), for the log.
    const margins = stepLogits.flat().map((row) => {
      const [a, b] = [...row].sort((x, y) => y - x);
      return a - b;
    });
    console.log(`${name} min top-2 margin of the official steps ${Math.min(...margins)}`);
    const result = await generateAsync(
      model,
      ids.map((row) => row.slice(0, P)),
      { maxNewTokens: n },
    );
    expect(result.ids).toEqual(ids);
  });
});
