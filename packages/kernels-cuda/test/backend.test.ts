// The `cuda` backend's storage and fallback, with the host build standing in for the device (the
// same entry points): tensors in device buffers with their bytes accounted, reshapes that share a
// buffer, reads and writes of every dtype, the counted and logged per-kernel fallback to the cpu
// backend, and errors that name a bad buffer handle.
import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import { InputError, ShapeError } from '@dcformer/kernels';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerCudaBackend, type CudaBackend } from '../src/backend.js';
import { hostAddon } from './host-build.js';

const addon = hostAddon('the cuda backend tests');
const NAME = 'cuda-backend-test';
const logged: string[] = [];
const backend = () => tf.backend() as CudaBackend;

describe.skipIf(addon === null)('the cuda backend over the host build: storage and fallback', () => {
  beforeAll(async () => {
    expect(registerCudaBackend({ addon: addon!, name: NAME, log: (l) => logged.push(l) })).toMatchObject({
      registered: true,
    });
    await tf.setBackend(NAME);
  });
  afterAll(async () => {
    await tf.setBackend('cpu');
    tf.removeBackend(NAME);
  });

  it('keeps tensors in device buffers and accounts for their bytes', async () => {
    const before = backend().memory();
    const buffers = addon!.bufferStats();
    expect(before.numBytesInHost).toBe(0);
    const t = tf.tensor2d([1, 2, 3, 4, 5, 6], [2, 3]);
    const b = tf.tensor1d([true, false, true], 'bool');
    expect(backend().memory().numBytesInDevice).toBe(before.numBytesInDevice + 24 + 3);
    expect(addon!.bufferStats()).toEqual({ bytes: buffers.bytes + 27, count: buffers.count + 2 });
    expect(Array.from(await t.data())).toEqual([1, 2, 3, 4, 5, 6]);
    expect(Array.from(await b.data())).toEqual([1, 0, 1]);
    expect(b.dataSync()).toBeInstanceOf(Uint8Array);
    tf.dispose([t, b]);
    expect(backend().memory().numBytesInDevice).toBe(before.numBytesInDevice);
    expect(addon!.bufferStats()).toEqual(buffers);
  });

  it('refuses values of the wrong size without keeping a buffer, and zero-fills a write without values', () => {
    const be = backend();
    const before = addon!.bufferStats();
    expect(() => be.write(new Float32Array(3), [2, 2], 'float32')).toThrow(InputError);
    expect(addon!.bufferStats()).toEqual(before);
    // @ts-expect-error: tfjs's types have no null values, but a write without values must still be safe
    const id = be.write(null, [3], 'int32');
    expect(Array.from(be.readSync(id) as Int32Array)).toEqual([0, 0, 0]);
    be.disposeData(id);
    expect(addon!.bufferStats()).toEqual(before);
  });

  it('reshapes without a copy: the new tensor shares the buffer until both are gone', () => {
    const x = tf.tensor2d([1, 2, 3, 4], [2, 2], 'int32');
    const bytes = backend().memory().numBytesInDevice;
    const y = tf.reshape(x, [4]);
    const z = tf.expandDims(x, 0);
    expect(backend().memory().numBytesInDevice).toBe(bytes);
    x.dispose();
    expect(Array.from(y.dataSync())).toEqual([1, 2, 3, 4]);
    expect(z.shape).toEqual([1, 2, 2]);
    tf.dispose([y, z]);
    expect(backend().memory().numBytesInDevice).toBe(bytes - 16);
  });

  it('runs a kernel without a device implementation on the cpu backend: counted, logged once, same values', async () => {
    // Cumsum has no device kernel here; the cpu backend's result is what the fallback must return
    const x = [3, 1, 4, 1, 5, 9];
    await tf.setBackend('cpu');
    const want = tf.tidy(() => tf.cumsum(tf.tensor2d(x, [2, 3]), 1).dataSync());
    await tf.setBackend(NAME);
    const before = backend().fallbacks().get('Cumsum') ?? 0;
    const linesBefore = logged.length;
    const numTensors = tf.memory().numTensors;
    const cpuIds = tf.findBackend('cpu')!.numDataIds();
    const got = tf.tidy(() => [
      tf.cumsum(tf.tensor2d(x, [2, 3]), 1).dataSync(),
      tf.cumsum(tf.tensor1d(x), 0).dataSync(),
    ]);
    expect(Array.from(got[0])).toEqual(Array.from(want));
    expect(backend().fallbacks().get('Cumsum')).toBe(before + 2);
    expect(logged.slice(linesBefore).filter((l) => l.includes("'Cumsum'"))).toHaveLength(before === 0 ? 1 : 0);
    // the cpu copies are freed, and so is everything the two calls made here
    expect(tf.findBackend('cpu')!.numDataIds()).toBe(cpuIds);
    expect(tf.memory().numTensors).toBe(numTensors);
  });

  it('refuses a bad buffer handle or size with a typed error naming it', () => {
    const h = addon!.bufferAlloc(8);
    expect(() => addon!.unary(0, h, 987654, 2, 0, 0)).toThrow(InputError);
    expect(() => addon!.unary(0, h, 987654, 2, 0, 0)).toThrow(/'y' is not a live device buffer \(handle 987654\)/);
    expect(() => addon!.unary(0, h, h, 3, 0, 0)).toThrow(ShapeError);
    expect(() => addon!.bufferUpload(h, new Float32Array(3))).toThrow(/holds 8 bytes; needs 12/);
    expect(() => addon!.stridedCopy(4, h, 0, h, 0, [2], [-1], [1], null)).toThrow(
      /'src' would be read before its start/,
    );
    addon!.bufferFree(h);
    expect(() => addon!.bufferFree(h)).toThrow(/is not a live device buffer/);
  });

  it('times a function (host wall time; every launch waits for the device)', async () => {
    const info = await tf.time(() => tf.tidy(() => tf.add(tf.ones([64]), tf.ones([64]))));
    expect(info.kernelMs).toBeGreaterThanOrEqual(0);
  });
});
