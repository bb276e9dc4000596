// DcCompactMatMul's WGSL kernel against the float64 conformance suite of @dcformer/kernels (weights
// decoded there from the documented layout), every format, decode and prefill shapes.
import { describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { DcCompactMatMul, isReferenceCompactMatMul } from '@dcformer/kernels';
import { runCompactMatMulConformanceAsync } from '@dcformer/kernels/testing';
import { compactMatMulWebGPUConfig } from '../src/compact/compact-matmul.js';
import { gpuErrors, useWebGPU } from './webgpu-env.js';

const gpu = await useWebGPU();

describe.skipIf(!gpu.ok)('DcCompactMatMul on webgpu', () => {
  it('runs the WGSL kernel, not the reference', () => {
    expect(tf.getKernel(DcCompactMatMul, 'webgpu')?.kernelFunc).toBe(compactMatMulWebGPUConfig.kernelFunc);
    expect(isReferenceCompactMatMul('webgpu')).toBe(false);
  });
  it('conformance (bf16, f16, int8, int4), no tensors leaked', async () => {
    const before = tf.memory().numTensors;
    const failures = (await runCompactMatMulConformanceAsync()).filter((r) => !r.ok);
    expect(failures.map((f) => f.message)).toEqual([]);
    expect(gpuErrors).toEqual([]);
    expect(tf.memory().numTensors).toBe(before);
  }, 120_000);
});
