/**
 * Official initialisation for new models (docs/dcmha.md "Official init"), seeded and backend-independent:
 * numbers are drawn in JS, so the same seed gives the same weights on every backend.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Tensor } from '@tensorflow/tfjs-core';
import type { ModelConfig } from './config.js';
import { DcformerModel } from './model.js';
import { weightSpecs, type WeightSpec } from './weights.js';

/** mulberry32: small, fast, well-distributed 32-bit generator. */
export function seededUniform(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Standard normal draws by Box–Muller over a seeded uniform source. */
export function seededNormal(seed: number): () => number {
  const uniform = seededUniform(seed);
  let spare: number | null = null;
  return () => {
    if (spare !== null) {
      const s = spare;
      spare = null;
      return s;
    }
    let u = 0;
    while (u === 0) u = uniform();
    const v = uniform();
    const r = Math.sqrt(-2 * Math.log(u));
    spare = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  };
}

function initArray(spec: WeightSpec, normal: () => number, uniform: () => number): Float32Array {
  const size = spec.shape.reduce((a, b) => a * b, 1);
  const out = new Float32Array(size);
  const init = spec.init;
  switch (init.kind) {
    case 'zeros':
      return out;
    case 'ones':
      return out.fill(1);
    case 'normal':
      for (let i = 0; i < size; i++) out[i] = normal() * init.std;
      return out;
    case 'lastColumn': {
      const [C, L] = spec.shape;
      for (let c = 0; c < C; c++) out[c * L + L - 1] = 1;
      return out;
    }
    case 'xavier': {
      // nn.init.xavier_uniform_ on an (out, in) weight
      const [fanOut, fanIn] = spec.shape;
      const bound = Math.sqrt(6 / (fanIn + fanOut));
      for (let i = 0; i < size; i++) out[i] = (uniform() * 2 - 1) * bound;
      return out;
    }
  }
}

/** A new model with the official initialisation; the same seed gives the same weights. */
export function initModel(config: ModelConfig, seed = 0): DcformerModel {
  const normal = seededNormal(seed * 2 + 1);
  const uniform = seededUniform(seed * 2 + 2);
  const tensors = new Map<string, Tensor>();
  for (const spec of weightSpecs(config)) {
    tensors.set(spec.official, tf.tensor(initArray(spec, normal, uniform), spec.shape, 'float32'));
  }
  return new DcformerModel(config, tensors);
}
