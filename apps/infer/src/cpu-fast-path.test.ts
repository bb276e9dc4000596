/**
 * The cpu fast path (@dcformer/kernels-cpu: native GEMM/Compose when the addon is built, TS copy
 * kernels otherwise) through the cached path: prefill of infer.prefill_len tokens, then one-token
 * decode steps, against the official inference path's logits (infer.logits) at every position of
 * every matched case, within DESIGN.md's 1e-4. Not against this project's own full forward: that
 * would only show that two paths of the code under test agree.
 *
 * Lives here, not in packages/kernels-cpu, because this app already depends on kernels-cpu and the
 * model; packages/kernels-cpu/test/oracle.test.ts can use the model helper cachedLogitsFailures for
 * the same check.
 */
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { fastPathInfo, registerCpuKernels } from '@dcformer/kernels-cpu';
import { cachedLogits } from '@dcformer/model';
import { loadModel } from '@dcformer/model/node';
import { GOLDEN_CASES, ORACLE_DIR, maxAbsDiff, readGolden } from './test-support.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
  registerCpuKernels('cpu');
});

describe.each(GOLDEN_CASES)('%s: cpu fast path, cached prefill + decode vs infer.logits', (name) => {
  it('every position within 1e-4', async () => {
    const info = fastPathInfo();
    expect(info, 'registerCpuKernels ran').not.toBeNull();
    const golden = await readGolden(name);
    const model = await loadModel(`${ORACLE_DIR}${name}`, { onWarning: () => {} });
    try {
      const got = await cachedLogits(model, golden.input_ids, golden.infer.prefill_len);
      const want = golden.infer.logits.flat(2);
      expect(got.length).toBe(want.length);
      const diff = maxAbsDiff(got, want);
      console.log(`[cpu fast path ${info!.path}] ${name} cached logits max |diff| ${diff.toExponential(2)} over ${want.length} values`);
      expect(diff).toBeLessThanOrEqual(1e-4);
    } finally {
      model.dispose();
    }
  });
});
