/**
 * MUDDFormer / MUDDPythia on webgpu vs the official code (fixtures/oracle-mudd, issue 21): logits,
 * loss, every gradient, cached prefill + decode, greedy ids through generateAsync.
 */
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { compareClose, flattenNested } from '@dcformer/kernels/testing';
import { loadModel } from '@dcformer/model/node';
import { cachedLogits, generateAsync, type DcformerModel } from '@dcformer/model';
import { MUDD_CASES, MUDD_TOL as TOL, muddCaseDir, muddGolden, muddOracleGrads } from '../../model/test/mudd-oracle.js';
import { lossAndGradsAsync } from './oracle.js';
import { gpuErrors, useWebGPU } from './webgpu-env.js';

const gpu = await useWebGPU();

describe.skipIf(!gpu.ok).each(MUDD_CASES)('%s on webgpu vs the official MUDD code', (name) => {
  const g = muddGolden(name);
  let model: DcformerModel;
  beforeAll(async () => {
    model = await loadModel(muddCaseDir(name), { onWarning: () => {} });
  });
  afterAll(() => model?.dispose());
  afterEach(() => expect(gpuErrors.splice(0)).toEqual([]));

  it('full-sequence logits and loss', async () => {
    const expected = flattenNested(g.train.logits);
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
    console.log(`${name} loss |diff| ${Math.abs(loss - g.train.loss)}`);
    expect(Math.abs(loss - g.train.loss)).toBeLessThanOrEqual(TOL.loss);
    const refs = muddOracleGrads(name);
    expect([...grads.keys()].sort()).toEqual([...refs.keys()].sort());
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

  it('greedy ids identical to the official generate, through generateAsync', async () => {
    const { prompt_len: P, n_gen: n, ids } = g.generate as { prompt_len: number; n_gen: number; ids: number[][] };
    const result = await generateAsync(
      model,
      ids.map((row) => row.slice(0, P)),
      { maxNewTokens: n },
    );
    expect(result.ids).toEqual(ids);
  });
});
