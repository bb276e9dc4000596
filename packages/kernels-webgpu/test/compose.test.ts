import * as tf from '@tensorflow/tfjs-core';
import type { Tensor } from '@tensorflow/tfjs-core';
import { readFileSync } from 'node:fs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  DcmhaCompose,
  composeGradConfig,
  composeInputNames,
  dcmhaCompose,
  runKernelWithList,
  type ComposeAttrs,
} from '@dcformer/kernels';
import {
  assertClose,
  composeByLoops,
  flattenNested,
  runComposeBandConformanceAsync,
  runComposeConformanceAsync,
  type ComposeCase,
} from '@dcformer/kernels/testing';
import { ComposeGateGradProgram, ComposeProgram, ComposeWeightGradProgram } from '../src/compose/compose-program.js';
import { DcmhaComposeBackward, composeWebGPU } from '../src/compose/compose-kernels.js';
import { gpuErrors, useWebGPU } from './webgpu-env.js';

const gpu = await useWebGPU();

const composeJson = JSON.parse(readFileSync(new URL('../../../fixtures/oracle/compose.json', import.meta.url), 'utf8'));

/** Runs f in a tidy scope and reads its result without dataSync (unavailable on webgpu in Node). */
async function read(f: () => Tensor): Promise<Float32Array> {
  const out = tf.tidy(f);
  try {
    return (await out.data()) as Float32Array;
  } finally {
    out.dispose();
  }
}

function t(value: unknown): Tensor {
  const { data, shape } = flattenNested(value);
  return tf.tensor(data, shape);
}

/** The gradient as @dcformer/kernels would register it once DcmhaComposeBackward is declared there. */
const fusedGradConfig = {
  kernelName: DcmhaCompose,
  saveAllInputs: true,
  gradFunc: (dy: Tensor | Tensor[], saved: Tensor[], attrMap: tf.NamedAttrMap) => {
    const attrs = { queryWise: Boolean(attrMap.queryWise), keyWise: Boolean(attrMap.keyWise) };
    const grads = runKernelWithList(DcmhaComposeBackward, [...saved, dy as Tensor], { ...attrs }) as Tensor[];
    const out: Record<string, () => Tensor> = {};
    composeInputNames(attrs).forEach((_, i) => (out[i] = () => grads[i]));
    return out;
  },
};

describe.skipIf(!gpu.ok)('DcmhaCompose on webgpu', () => {
  beforeAll(() => {
    if (gpu.ok) console.log(`[kernels-webgpu] adapter: ${gpu.adapter}`);
  });
  afterEach(async () => {
    await tf.ready();
    expect(gpuErrors.splice(0)).toEqual([]);
  });

  it('sums more tensors with AddN than a shader may bind (tfjs alone drops the command buffer)', async () => {
    const parts = Array.from({ length: 53 }, (_, i) => tf.fill([3], i + 1));
    const sum = tf.addN(parts);
    expect(Array.from(await sum.data())).toEqual([1431, 1431, 1431]); // 53·54/2
    tf.dispose([...parts, sum]);
  });

  it('runs the WGSL kernel, not the reference', () => {
    expect(tf.getBackend()).toBe('webgpu');
    expect(tf.getKernel(DcmhaCompose, 'webgpu')?.kernelFunc).toBe(composeWebGPU);
  });

  it('matches the official _cross_head_proj (compose.json) within 1e-5', async () => {
    for (const entry of [...composeJson.cross_head_proj, { tag: 'proj_w_form', ...composeJson.proj_w_form }] as Record<
      string,
      unknown
    >[]) {
      const expected = flattenNested(entry.out);
      const out = await read(() =>
        dcmhaCompose({
          x: t(entry.inputs),
          qw1: t(entry.qw1),
          qw2: t(entry.qw2),
          qdd: t(entry.qdd),
          kw1: t(entry.kw1),
          kw2: t(entry.kw2),
          kdd: t(entry.kdd),
        }),
      );
      assertClose(out, expected.data, expected.shape, { atol: 1e-5, label: `${entry.tag as string} out` });
    }
  });

  it('passes the conformance suite (forward; gradient through the registered reference)', async () => {
    const failures = (await runComposeConformanceAsync()).filter((r) => !r.ok);
    expect(failures.map((f) => f.message)).toEqual([]);
  });

  it('passes the band-hint suite (the WGSL kernel computes every position: a valid reading of the hint)', async () => {
    const failures = (await runComposeBandConformanceAsync()).filter((r) => !r.ok);
    expect(failures.map((f) => f.message)).toEqual([]);
  });

  describe('with the fused backward kernel as the gradient', () => {
    beforeAll(() => tf.registerGradient(fusedGradConfig));
    afterAll(() => tf.registerGradient(composeGradConfig));

    it('passes the conformance suite, forward and backward', async () => {
      const failures = (await runComposeConformanceAsync()).filter((r) => !r.ok);
      expect(failures.map((f) => f.message)).toEqual([]);
    });

    it('keeps the tensor count flat through forward and backward', () => {
      const x = tf.randomNormal([1, 4, 3, 5]);
      const w = () => tf.randomNormal([1, 3, 2, 4]);
      const kw = () => tf.randomNormal([1, 5, 2, 4]);
      const inputs = {
        x,
        qw1: w(),
        qw2: w(),
        qdd: tf.randomNormal([1, 3, 4]),
        kw1: kw(),
        kw2: kw(),
        kdd: tf.randomNormal([1, 5, 4]),
      };
      const before = tf.memory().numTensors;
      const grads = tf.grads((a: Tensor, b: Tensor) => tf.sum(dcmhaCompose({ ...inputs, x: a, kw2: b })))([
        inputs.x,
        inputs.kw2,
      ]);
      tf.dispose(grads);
      expect(tf.memory().numTensors).toBe(before);
      tf.dispose(Object.values(inputs));
    });
  });

  it('backward kernel equals the loops over the N×N matrix on shapes with T ≠ S and B > 1', async () => {
    const c: ComposeCase = { B: 2, N: 6, T: 3, S: 70, I: 2, attrs: { queryWise: true, keyWise: true }, seed: 11 };
    const shapes: Record<string, number[]> = {
      x: [c.B, c.N, c.T, c.S],
      qw1: [c.B, c.T, c.I, c.N],
      qw2: [c.B, c.T, c.I, c.N],
      qdd: [c.B, c.T, c.N],
      kw1: [c.B, c.S, c.I, c.N],
      kw2: [c.B, c.S, c.I, c.N],
      kdd: [c.B, c.S, c.N],
    };
    let seed = 3;
    const rand = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648) * 2 - 1;
    const arrays: Record<string, Float32Array> = {};
    for (const [name, shape] of Object.entries(shapes))
      arrays[name] = Float32Array.from({ length: shape.reduce((p, q) => p * q) }, rand);
    const r = Float32Array.from({ length: arrays.x.length }, rand);
    const expected = composeByLoops(c, arrays, r);
    const names = composeInputNames(c.attrs);
    const outs = tf.tidy(() => {
      const list = [...names.map((n) => tf.tensor(arrays[n], shapes[n])), tf.tensor(r, shapes.x)];
      return runKernelWithList(DcmhaComposeBackward, list, {
        queryWise: c.attrs.queryWise,
        keyWise: c.attrs.keyWise,
      }) as Tensor[];
    });
    const got = await Promise.all(outs.map((g) => g.data()));
    tf.dispose(outs);
    names.forEach((n, i) =>
      assertClose(got[i], expected.grads[n], shapes[n], { atol: 5e-5, rtol: 1e-5, label: `d${n}` }),
    );
  });

  it('compiles N, I and the switches into the shader key; B, T, S are uniforms (one pipeline per layout)', async () => {
    const attrs: ComposeAttrs = { queryWise: true, keyWise: true };
    const keys = new Set([
      new ComposeProgram([1, 4, 3, 3], 2, attrs).shaderKey,
      new ComposeProgram([1, 8, 3, 3], 2, attrs).shaderKey,
      new ComposeProgram([1, 4, 3, 3], 1, attrs).shaderKey,
      new ComposeProgram([1, 4, 3, 3], 2, { queryWise: true, keyWise: false }).shaderKey,
      new ComposeProgram([1, 4, 3, 3], 2, { queryWise: false, keyWise: true }).shaderKey,
      new ComposeWeightGradProgram([1, 4, 3, 3], 2, 'query').shaderKey,
      new ComposeWeightGradProgram([1, 4, 3, 3], 2, 'key').shaderKey,
      new ComposeWeightGradProgram([1, 4, 3, 3], 1, 'key').shaderKey,
      new ComposeGateGradProgram([1, 4, 3, 3], 'query').shaderKey,
      new ComposeGateGradProgram([1, 2, 3, 3], 'query').shaderKey,
    ]);
    expect(keys.size).toBe(10);
    expect(new ComposeProgram([2, 4, 1, 9], 2, attrs).shaderKey).toBe(
      new ComposeProgram([1, 4, 5, 3], 2, attrs).shaderKey,
    );

    // private in WebGPUBackend: read by name, as a test of which pipelines were compiled may
    const cache: Record<string, unknown> = Reflect.get(tf.backend(), 'pipelineCache');
    const run = (T: number, S: number) =>
      read(() => {
        const q = (n: number) => tf.fill([1, T, 3, 5], n);
        const k = (n: number) => tf.fill([1, S, 3, 5], n);
        return dcmhaCompose({
          x: tf.ones([1, 5, T, S]),
          qw1: q(0.1),
          qw2: q(0.2),
          qdd: tf.zeros([1, T, 5]),
          kw1: k(0.3),
          kw2: k(0.4),
          kdd: tf.zeros([1, S, 5]),
        });
      });
    // tfjs adds the inputs' broadcast pattern to the key (a T = 1 query-side weight reads as
    // broadcast), so prefill-shaped and decode-shaped calls each compile once, then reuse.
    const composePipelines = () => Object.keys(cache).filter((k) => k.startsWith('dcmhaCompose_')).length;
    await run(2, 7);
    await run(1, 8);
    const size = composePipelines();
    await run(3, 9);
    const out = await run(1, 12);
    expect(composePipelines()).toBe(size);
    // every entry: 1 + Σ_i (Σ_n 1·0.1)·0.2 + Σ_i (Σ_n 1·0.3)·0.4 = 1 + 3·0.5·0.2 + 3·1.5·0.4 = 3.1
    for (const v of out) expect(v).toBeCloseTo(3.1, 5);
  });
});
