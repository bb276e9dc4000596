// The whole model on the fast path against the stock tfjs kernels + reference ops, on a shape where
// attention runs in several query chunks with windows (the Compose band hint, kept chunk slices,
// gradients assembled from per-chunk pieces), in training and in cached generation with left padding.
import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-core/dist/register_all_gradients';
import { compareClose } from '@dcformer/kernels/testing';
import { generate, initModel, resolveConfig } from '@dcformer/model';
import { describe, expect, it } from 'vitest';
import { registerCpuKernels, unregisterCpuKernels } from '../src/index.js';

process.env.DCFORMER_QUIET = '1';
await tf.setBackend('cpu');

const config = resolveConfig({
  family: 'dcformer',
  vocabSize: 97,
  dim: 32,
  nHead: 4,
  nLayer: 4,
  intermediateSize: 48,
  blockSize: 64,
  windowSize: 8,
  windowType: null,
  qChunkSize: 16,
  useQkNorm: true,
});
const T = 40;
const ids = Array.from({ length: 3 }, (_, b) => Array.from({ length: T }, (_, t) => (t * 31 + b * 7 + 5) % 97));

function lossAndGrads(): { loss: number; grads: Map<string, Float32Array> } {
  const model = initModel(config, 3);
  try {
    const { loss, grads } = model.lossAndGrads(ids);
    const out = new Map([...grads].map(([k, g]) => [k, g.dataSync().slice() as Float32Array]));
    tf.dispose([...grads.values()]);
    return { loss, grads: out };
  } finally {
    model.dispose();
  }
}

describe('fast path = stock kernels on a multi-chunk windowed model', () => {
  it('loss within 1e-5 and every gradient within 1e-4 of its max |value|', () => {
    unregisterCpuKernels();
    const slow = lossAndGrads();
    registerCpuKernels();
    const fast = lossAndGrads();
    expect(Math.abs(fast.loss - slow.loss)).toBeLessThanOrEqual(1e-5);
    const failures: string[] = [];
    for (const [name, g] of slow.grads) {
      const scale = g.reduce((m, v) => Math.max(m, Math.abs(v)), 0) || 1;
      const rep = compareClose(fast.grads.get(name) as Float32Array, g, [g.length], {
        atol: 1e-4 * scale,
        label: name,
      });
      if (!rep.ok) failures.push(rep.message);
    }
    expect(failures, failures.join('\n')).toEqual([]);
  });

  it('greedy generation from left-padded prompts of different lengths gives the same ids', () => {
    const run = () => {
      const model = initModel(config, 4);
      try {
        return generate(model, [ids[0].slice(0, 21), ids[1].slice(0, 9), ids[2].slice(0, 30)], { maxNewTokens: 12 })
          .ids;
      } finally {
        model.dispose();
      }
    };
    unregisterCpuKernels();
    const slow = run();
    registerCpuKernels();
    expect(run()).toEqual(slow);
  });
});
