// DcCompactMatMul on the cpu backend with the native kernel registered: the conformance suite of
// @dcformer/kernels (float64 reference from the documented layout) on every path this CPU runs.
import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import { isReferenceCompactMatMul } from '@dcformer/kernels';
import { runCompactMatMulConformance } from '@dcformer/kernels/testing';
import { describe, expect, it } from 'vitest';
import { skipUnlessCI } from '../../../tools/test-env.mjs';
import { compactAddon, fastPathInfo, loadNative, registerCpuKernels } from '../src/index.js';

process.env.DCFORMER_QUIET = '1';
await tf.setBackend('cpu');
registerCpuKernels('cpu');
const compact = compactAddon(loadNative().addon);
const noNative = skipUnlessCI(
  'the native compact matmul tests',
  compact ? null : `the native addon is missing (${fastPathInfo()?.detail})`,
);

describe.skipIf(noNative)('DcCompactMatMul, native', () => {
  it('replaces the reference kernel', () => {
    expect(isReferenceCompactMatMul('cpu')).toBe(false);
  });
  for (const path of compact?.compactPaths() ?? []) {
    it(`conformance on the ${path} path, no tensors leaked`, () => {
      const before = compact?.compactPath() as string;
      compact?.setCompactPath(path);
      try {
        const n = tf.memory().numTensors;
        const results = runCompactMatMulConformance();
        for (const r of results) expect(r.ok, r.message).toBe(true);
        expect(tf.memory().numTensors).toBe(n);
      } finally {
        compact?.setCompactPath(before);
      }
    });
  }
  it('setCompactPath names the runnable paths when asked for one that is not', () => {
    expect(() => compact?.setCompactPath('sve')).toThrow(/runnable: .*portable/);
  });
});
