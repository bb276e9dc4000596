// The CUDA kernels' arithmetic against the contract of @dcformer/kernels: the host build of native/
// (the same .cu sources, bodies run by OpenMP loops) registered as tfjs kernels on the `cpu`
// backend, then every conformance suite of @dcformer/kernels/testing, as kernels-cpu does with its
// own addon. Cases beyond the suites' defaults cover rows longer than the 256 lanes of a row block,
// S and D not multiples of anything, and the largest N and I the compose bodies hold.
import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-core/dist/register_all_gradients';
import { adamWReference, adamWUpdate } from '@dcformer/kernels';
import {
  compareClose,
  runAdamWConformance,
  runComposeBandConformance,
  runComposeConformance,
  runCrossEntropyConformance,
  runGeluConformance,
  runRmsNormConformance,
  runRopeConformance,
} from '@dcformer/kernels/testing';
import { describe, expect, it } from 'vitest';
import { registerAddonKernels } from '../src/addon-kernels.js';
import { hostAddon } from './host-build.js';

// At module level: the suites' results are computed while the file is collected.
await tf.setBackend('cpu');
const addon = hostAddon('the CUDA host-build conformance tests');
const registered = addon ? registerAddonKernels(addon, 'cpu') : [];
const suite = addon ? describe : describe.skip;
const run = <T>(f: () => T[]): T[] => (addon ? f() : []);

suite('host build of the CUDA sources on the cpu backend', () => {
  it('is the host variant and registered every kernel', () => {
    expect(addon!.status()).toMatchObject({ available: true, variant: 'host', gemm: 'tiled' });
    expect(registered).toHaveLength(10);
  });
});

suite('DcmhaCompose (compose.cu)', () => {
  const cases = [
    { B: 2, N: 8, T: 37, S: 53, I: 2, attrs: { queryWise: true, keyWise: true }, seed: 11 },
    { B: 1, N: 4, T: 1, S: 129, I: 2, attrs: { queryWise: true, keyWise: true }, seed: 12 },
    { B: 3, N: 6, T: 33, S: 17, I: 3, attrs: { queryWise: false, keyWise: true }, seed: 13 },
    { B: 2, N: 5, T: 40, S: 40, I: 1, attrs: { queryWise: true, keyWise: false }, seed: 14 },
    { B: 1, N: 64, T: 3, S: 5, I: 16, attrs: { queryWise: true, keyWise: true }, seed: 15 }, // the register arrays' limits
  ];
  for (const r of run(() => [...runComposeConformance(), ...runComposeConformance(cases, 1e-4)]))
    it(r.name, () => expect(r.ok, r.message).toBe(true));
});

suite('DcmhaCompose band hint (compose.cu)', () => {
  for (const r of run(() => runComposeBandConformance())) it(r.name, () => expect(r.ok, r.message).toBe(true));
});

suite('DcSoftmaxCrossEntropy (cross-entropy.cu)', () => {
  const cases = [
    { R: 3, V: 50304, scale: 6, offset: 0, seed: 21 }, // a vocabulary row: 197 elements per lane
    { R: 300, V: 17, scale: 3, offset: 5, seed: 22 }, // fewer elements than lanes
  ];
  for (const r of run(() => [...runCrossEntropyConformance(), ...runCrossEntropyConformance(cases)]))
    it(r.name, () => expect(r.ok, r.message).toBe(true));
});

suite('DcRmsNorm (rms-norm.cu)', () => {
  const cases = [
    { shape: [64, 1000], eps: 1e-6, scale: 1, seed: 31 }, // D past the 256 lanes, not a multiple of them
    { shape: [2, 9, 8, 32], eps: 1e-6, scale: 3, seed: 32 },
    { shape: [5, 19], eps: 0, scale: 1, seed: 33 },
  ];
  for (const r of run(() => [...runRmsNormConformance(), ...runRmsNormConformance(cases)]))
    it(r.name, () => expect(r.ok, r.message).toBe(true));
});

suite('DcRope (rope.cu)', () => {
  const cases = [{ B: 2, T: 33, N: 4, E: 32, H: 16, perRow: true, seed: 41 }];
  for (const r of run(() => [...runRopeConformance(), ...runRopeConformance(cases)]))
    it(r.name, () => expect(r.ok, r.message).toBe(true));
});

suite('DcGelu (gelu.cu)', () => {
  for (const r of run(() => [...runGeluConformance(), ...runGeluConformance(100_003)]))
    it(r.name, () => expect(r.ok, r.message).toBe(true));
});

suite('DcAdamWUpdate (adamw.cu)', () => {
  for (const r of run(() => runAdamWConformance())) it(r.name, () => expect(r.ok, r.message).toBe(true));
  it('matches the reference ops on a parameter-sized update', () => {
    tf.tidy(() => {
      const n = 100_003;
      const attrs = {
        gradScale: 0.37,
        decay: 1 - 3e-4 * 0.1,
        beta1: 0.8,
        beta2: 0.999,
        eps: 1e-6,
        stepSize: 3e-4,
        bc2Sqrt: 0.3,
      };
      const [p, g] = [tf.randomUniform([n], -1, 1, 'float32', 1), tf.randomUniform([n], -1, 1, 'float32', 2)];
      const m = tf.mul(tf.randomUniform([n], -1, 1, 'float32', 3), 0.1);
      const v = tf.square(tf.randomUniform([n], -1, 1, 'float32', 4));
      const fused = adamWUpdate(p, g, m, v, attrs).map((t) => t.dataSync());
      const ref = adamWReference(p, g, m, v, attrs).map((t) => t.dataSync());
      for (let k = 0; k < 3; k++) {
        const rep = compareClose(fused[k], ref[k], [n], { atol: 0, rtol: 4e-7, label: ['param', 'm', 'v'][k] });
        expect(rep.ok, rep.message).toBe(true);
      }
    });
  });
});
