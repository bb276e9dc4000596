// Every conformance suite on tfjs-backend-wasm (the reference kernels register themselves there:
// no package ships fused wasm kernels). Synchronous reads work on wasm.
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-wasm';
import '@tensorflow/tfjs-core/dist/register_all_gradients';
import { describe, expect, it } from 'vitest';
import {
  runAdamWConformance,
  runComposeBandConformance,
  runComposeConformance,
  runCrossEntropyConformance,
  runGeluConformance,
  runRmsNormConformance,
  runRopeConformance,
} from '../src/testing/index.js';

const ready = await tf.setBackend('wasm');

describe('conformance suites on wasm', () => {
  it('runs on the wasm backend', () => {
    expect(ready).toBe(true);
    expect(tf.getBackend()).toBe('wasm');
  });
  const suites = {
    DcmhaCompose: () => runComposeConformance(),
    'DcmhaCompose band hint': () => runComposeBandConformance(),
    DcSoftmaxCrossEntropy: () => runCrossEntropyConformance(),
    DcRmsNorm: () => runRmsNormConformance(),
    DcRope: () => runRopeConformance(),
    DcGelu: () => runGeluConformance(),
    DcAdamWUpdate: () => runAdamWConformance(),
  };
  for (const [name, run] of Object.entries(suites)) {
    it(`${name}`, () => {
      const failures = run().filter((r) => !r.ok);
      expect(failures.map((f) => f.message)).toEqual([]);
    });
  }
});
