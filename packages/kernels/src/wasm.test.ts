// Every conformance suite on tfjs-backend-wasm (the reference kernels register themselves there:
// no package ships fused wasm kernels). Synchronous reads work on wasm.
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-wasm';
import '@tensorflow/tfjs-core/dist/register_all_gradients';
import { describe, expect, it } from 'vitest';
import {
  runComposeBandConformance,
  runComposeConformance,
  runCrossEntropyConformance,
  runGeluConformance,
  runRmsNormConformance,
  runRopeConformance,
} from './testing/index.js';
import { adamWUpdate } from './optimizer/adamw-op.js';

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
  };
  for (const [name, run] of Object.entries(suites)) {
    it(`${name}`, () => {
      const failures = run().filter((r) => !r.ok);
      expect(failures.map((f) => f.message)).toEqual([]);
    });
  }
  it('DcAdamWUpdate runs and moves a parameter against its gradient', () => {
    const [p1] = tf.tidy(() =>
      adamWUpdate(tf.tensor([1, -1]), tf.tensor([0.5, -0.5]), tf.zeros([2]), tf.zeros([2]), { gradScale: 1, decay: 1, beta1: 0.9, beta2: 0.95, eps: 1e-8, stepSize: 0.1 / 0.1, bc2Sqrt: Math.sqrt(0.05) }).map((t) => t.dataSync()),
    );
    expect(p1[0]).toBeLessThan(1);
    expect(p1[1]).toBeGreaterThan(-1);
  });
});
