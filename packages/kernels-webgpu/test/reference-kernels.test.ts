// The kernels of @dcformer/kernels that this package has no WGSL version of run their reference
// (tfjs ops) on webgpu: their conformance suites, read asynchronously.
import { describe, expect, it } from 'vitest';
import {
  runAdamWConformanceAsync,
  runCrossEntropyConformanceAsync,
  runGeluConformanceAsync,
  runRmsNormConformanceAsync,
  runRopeConformanceAsync,
  type ConformanceResult,
} from '@dcformer/kernels/testing';
import { gpuErrors, useWebGPU } from './webgpu-env.js';

const gpu = await useWebGPU();

const suites: [string, () => Promise<ConformanceResult[]>][] = [
  // float32 GPU exp/log: the loss of a 4099-way row to 2e-5
  ['DcSoftmaxCrossEntropy', () => runCrossEntropyConformanceAsync(undefined, 2e-5)],
  ['DcRmsNorm', () => runRmsNormConformanceAsync()],
  ['DcRope', () => runRopeConformanceAsync(undefined, 2e-6)],
  ['DcGelu', () => runGeluConformanceAsync(4099, 5e-6)],
  ['DcAdamWUpdate', () => runAdamWConformanceAsync(undefined, 1e-5)],
];

describe.skipIf(!gpu.ok)('reference kernels on webgpu', () => {
  for (const [name, run] of suites) {
    it(`${name} conformance`, async () => {
      const failures = (await run()).filter((r) => !r.ok);
      expect(failures.map((f) => f.message)).toEqual([]);
      expect(gpuErrors).toEqual([]);
    });
  }
});
