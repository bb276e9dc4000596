// The backend switch: flag validation, and the default without the native addon (DCFORMER_NATIVE=0,
// read when @dcformer/kernels-cpu first loads it): wasm, named in one label with the reason and the
// way to the native kernels.
import { describe, expect, it } from 'vitest';
import { resolveBackend, startBackend, WASM_WEIGHT_LIMIT } from '../src/backend.js';

process.env.DCFORMER_NATIVE = '0';

describe('resolveBackend', () => {
  it('leaves the default to startBackend, knows wasm, webgpu and cuda, and refuses an unknown name', () => {
    expect(resolveBackend(undefined)).toBe('default');
    expect(resolveBackend('wasm')).toBe('wasm');
    expect(resolveBackend('webgpu')).toBe('webgpu');
    expect(resolveBackend('cuda')).toBe('cuda');
    expect(() => resolveBackend('gpu')).toThrow(/^--backend must be one of cpu, wasm, webgpu, cuda; got 'gpu'$/);
  });

  it('starting cuda without a usable device (here: DCFORMER_NATIVE=0) fails in one line naming why', async () => {
    await expect(startBackend('cuda')).rejects.toThrow(
      /^backend 'cuda' has no usable device here: disabled by DCFORMER_NATIVE=0$/,
    );
  });
});

describe('startBackend without the native addon', () => {
  it('keeps a model too large for wasm on cpu, and says why', async () => {
    const started = await startBackend('default', { weightBytes: WASM_WEIGHT_LIMIT + 1 });
    expect(started.name).toBe('cpu');
    expect(started.label).toMatch(
      /^cpu \(stock tfjs kernels, slow: 0\.8 GiB of weights is too much for wasm's 4 GiB heap; disabled by DCFORMER_NATIVE=0; unset DCFORMER_NATIVE for the native cpu kernels\)$/,
    );
  });

  it('defaults to wasm in one line with the reason, and trains there', async () => {
    const started = await startBackend('default');
    expect(started).toEqual({
      name: 'wasm',
      label: 'wasm (SIMD, one thread; disabled by DCFORMER_NATIVE=0; unset DCFORMER_NATIVE for the native cpu kernels)',
    });
    const tf = await import('@tensorflow/tfjs');
    expect(tf.getBackend()).toBe('wasm');
    // gradients run there too (training itself: apps/train/test/wasm.test.ts)
    const w = tf.variable(
      tf.tensor2d([
        [1, 2],
        [3, 4],
      ]),
    );
    const x = tf.tensor2d([
      [1, 0],
      [0, 2],
    ]);
    const { grads } = tf.variableGrads(() => tf.sum(tf.matMul(x, w)) as import('@tensorflow/tfjs').Scalar);
    expect(Array.from(grads[w.name].dataSync())).toEqual([1, 1, 2, 2]);
    tf.dispose([w, x, ...Object.values(grads)]);
  });
});
