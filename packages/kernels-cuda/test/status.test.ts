// The device build: optional, and harmless without a GPU. Without nvcc these tests skip with the
// reason (CI has no CUDA toolkit); with nvcc and no driver (this kind of machine) the addon must
// load, report CUDA error 35 as a reason, and refuse kernel calls with an error instead of crashing.
// GPU-only checks skip with the reason wherever no GPU answers (everywhere, so far).
import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cudaStatus } from '../src/status.js';
import { InputError, KernelError, ShapeError } from '@dcformer/kernels';
import { registerCudaBackend } from '../src/backend.js';
import { loadAddon, type CudaAddon } from '../src/native.js';
import { hostAddon, packageRoot } from './host-build.js';

const nvcc = process.env.NVCC ?? 'nvcc';
const noNvcc = spawnSync(nvcc, ['--version']).status === 0 ? null : `no CUDA compiler '${nvcc}' on PATH`;
if (noNvcc) console.warn(`[the device-build tests] skipping: ${noNvcc}`);

describe.skipIf(noNvcc !== null)('the device build (nvcc)', () => {
  // The build in build/dcformer_cuda.node when it is up to date, otherwise one now, for sm_90 only
  // (the install script skips the device build on machines without an NVIDIA driver, such as CI's).
  let device: CudaAddon | null = null;

  it('builds and loads', () => {
    const r = spawnSync(process.execPath, [join(packageRoot, 'scripts', 'build-native.mjs'), '--archs', 'sm_90'], {
      encoding: 'utf8',
    });
    expect(r.status, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).not.toMatch(/not built/);
    device = createRequire(import.meta.url)(join(packageRoot, 'build', 'dcformer_cuda.node')) as CudaAddon;
    expect(device.status().variant).toBe('device');
  }, 300_000);

  it('without a GPU: says why, and kernel calls throw instead of crashing', () => {
    const s = device!.status();
    if (s.available) {
      console.warn('[the no-GPU test] skipping: a GPU answered');
      return;
    }
    expect(s.reason).toMatch(/CUDA error \d+/);
    expect(() => device!.geluForward(new Float32Array(4), new Float32Array(4), 4)).toThrow(/no usable CUDA device/);
    // through loadAddon: the typed error of @dcformer/kernels
    expect(() => loadAddon('device').addon!.geluForward(new Float32Array(4), new Float32Array(4), 4)).toThrow(
      KernelError,
    );
    // the device buffers and the backend: refused with the reason, no crash
    expect(() => device!.bufferAlloc(16)).toThrow(/no usable CUDA device/);
    const registered = registerCudaBackend({ addon: loadAddon('device').addon!, name: 'cuda-no-gpu-test' });
    expect(registered.registered).toBe(false);
    expect(registered.reason).toMatch(/CUDA error \d+/);
  });

  it('on a GPU: GELU and a GEMM equal the host build (skips without a GPU)', () => {
    const s = device!.status();
    if (!s.available) {
      console.warn(`[the GPU tests] skipping: ${s.reason}`);
      return;
    }
    const host = hostAddon('the GPU-vs-host comparison')!;
    const x = Float32Array.from({ length: 10_007 }, (_, i) => Math.sin(i) * 4);
    const [a, b] = [new Float32Array(x.length), new Float32Array(x.length)];
    device!.geluForward(x, a, x.length);
    host.geluForward(x, b, x.length);
    for (let i = 0; i < x.length; i++) expect(Math.abs(a[i] - b[i])).toBeLessThan(1e-6);
  });

  it('on a GPU: the cuda backend holds tensors in device buffers and its kernels equal the cpu backend (skips without a GPU)', async () => {
    const s = device!.status();
    if (!s.available) {
      console.warn(`[the GPU backend test] skipping: ${s.reason}`);
      return;
    }
    const name = 'cuda-gpu-test';
    expect(registerCudaBackend({ addon: loadAddon('device').addon!, name })).toMatchObject({ registered: true });
    const f = () =>
      tf.tidy(() => {
        const x = tf.tensor2d(
          Array.from({ length: 96 }, (_, i) => Math.sin(i)),
          [8, 12],
        );
        return tf.concat([tf.softmax(tf.matMul(x, x, false, true)), tf.sum(tf.transpose(x), 1, true)], 1).dataSync();
      });
    await tf.setBackend('cpu');
    const want = f();
    await tf.setBackend(name);
    const got = f();
    await tf.setBackend('cpu');
    tf.removeBackend(name);
    for (let i = 0; i < want.length; i++) expect(Math.abs(got[i] - want[i])).toBeLessThan(1e-4);
  });
});

describe('the host addon refuses bad arguments with errors that name them', () => {
  const host = hostAddon('the host-build argument tests');
  it.skipIf(host === null)('a short array, a wrong type, a negative size', () => {
    const f = new Float32Array(3);
    expect(() => host!.geluForward(f, f, 5)).toThrow(/geluForward: 'x' must hold 5 elements; got 3/);
    // @ts-expect-error a Float64Array where the addon takes a Float32Array: it must say so
    expect(() => host!.geluForward(new Float64Array(3), f, 3)).toThrow(/'x' must be a Float32Array/);
    expect(() => host!.rmsNormForward(f, f, f, -1, 3, 1e-6)).toThrow(/'rows' must be ≥ 0/);
    expect(() => host!.composeForward(f, null, null, null, null, null, null, f, 1, 65, 1, 1, 1, 0, 0, -1)).toThrow(
      /N ≤ 64/,
    );
    expect(() => host!.geluForward(f, f, 5)).toThrow(ShapeError);
    expect(() => host!.rmsNormForward(f, f, f, -1, 3, 1e-6)).toThrow(ShapeError);
    expect(() =>
      host!.decodeAttention(
        f,
        f,
        f,
        null,
        null,
        null,
        null,
        null,
        null,
        null,
        null,
        null,
        null,
        null,
        null,
        Int32Array.from([5]),
        f,
        1,
        1,
        1,
        1,
        1,
        1,
      ),
    ).toThrow(InputError);
  });
});

// Last: the device addon is then the one built above (a module, once required, stays loaded).
describe('cudaStatus', () => {
  it('answers without throwing, with a reason when unavailable', () => {
    const s = cudaStatus();
    if (s.available) expect(s.device).not.toBe('');
    else expect(s.reason.length).toBeGreaterThan(10);
  });
});
