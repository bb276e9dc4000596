// The JS side of the `cuda` backend skeleton, with the host build standing in for the device (the
// same entry points): storage and its accounting, the registered kernels against the cpu backend,
// and clear errors for what is not implemented.
import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import { NotImplementedError, dcmhaCompose, gelu, rmsNorm } from '@dcformer/kernels';
import { compareClose } from '@dcformer/kernels/testing';
import { afterAll, describe, expect, it } from 'vitest';
import { registerCudaBackend, type CudaBackend } from '../src/backend.js';
import { hostAddon } from './host-build.js';

const addon = hostAddon('the cuda-backend skeleton tests');
const NAME = 'cuda-host-test';

/** Runs f on the cpu backend and on the skeleton, returning both results' values. */
async function both(f: () => tf.Tensor): Promise<[Float32Array, Float32Array, number[]]> {
  await tf.setBackend('cpu');
  const want = f();
  const wantData = want.dataSync() as Float32Array;
  const seeds = want.shape;
  await tf.setBackend(NAME);
  const got = f();
  const gotData = (await got.data()) as Float32Array;
  tf.dispose([want, got]);
  return [gotData, wantData, seeds];
}

describe.skipIf(addon === null)('the cuda backend skeleton over the host build', () => {
  afterAll(async () => {
    await tf.setBackend('cpu');
    tf.removeBackend(NAME);
  });

  it('registers (it would not without a device: the reason is returned instead)', () => {
    expect(registerCudaBackend({ addon: addon!, name: NAME })).toMatchObject({ registered: true });
  });

  it('stores tensors and accounts for their bytes', async () => {
    await tf.setBackend(NAME);
    const before = (tf.backend() as CudaBackend).memory().numBytesInHost;
    const t = tf.tensor2d([1, 2, 3, 4, 5, 6], [2, 3]);
    expect((tf.backend() as CudaBackend).memory().numBytesInHost).toBe(before + 24);
    expect(Array.from(await t.data())).toEqual([1, 2, 3, 4, 5, 6]);
    t.dispose();
    expect((tf.backend() as CudaBackend).memory().numBytesInHost).toBe(before);
  });

  it('runs DcmhaCompose, DcRmsNorm, DcGelu and BatchMatMul like the cpu backend', async () => {
    const r = (shape: number[], seed: number) =>
      tf.tensor(
        Array.from({ length: shape.reduce((a, b) => a * b) }, (_, i) => Math.sin(seed * 100 + i)),
        shape,
      );
    const cases: [string, () => tf.Tensor][] = [
      [
        'compose',
        () =>
          dcmhaCompose(
            { x: r([1, 4, 3, 5], 1), qw1: r([1, 3, 2, 4], 2), qw2: r([1, 3, 2, 4], 3), qdd: r([1, 3, 4], 4) },
            { queryWise: true, keyWise: false },
          ),
      ],
      ['rmsNorm', () => rmsNorm(r([3, 16], 5), r([16], 6), 1e-6)],
      ['gelu', () => gelu(r([100], 7))],
      ['matMul', () => tf.matMul(r([2, 5, 7], 8), r([3, 7], 9), false, true)],
      ['matMul broadcast a', () => tf.matMul(r([5, 7], 10), r([4, 7, 3], 11))],
    ];
    for (const [label, f] of cases) {
      const [got, want, shape] = await both(f);
      const rep = compareClose(got, want, shape, { atol: 1e-5, rtol: 1e-5, label });
      expect(rep.ok, rep.message).toBe(true);
    }
  });

  it('says what is not implemented', async () => {
    await tf.setBackend(NAME);
    const a = tf.tensor1d([1, 2]);
    expect(() => tf.add(a, a)).toThrow(/Kernel 'Add' not registered for backend 'cuda-host-test'/);
    expect(() => (tf.backend() as CudaBackend).time()).toThrow(NotImplementedError);
    expect(() => tf.matMul(tf.ones([2, 2, 3]), tf.ones([3, 3, 2]))).toThrow(/only equal batches or a batch of 1/);
    a.dispose();
  });
});
