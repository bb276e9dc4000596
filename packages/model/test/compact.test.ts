// Compact weights in a model (src/compact.ts): logits of a model whose linear weights and embedding
// are bf16 / f16 / int8 / int4 against the float32 model holding the same weights dequantised
// (≤ 1e-4), cached decode equal to the full forward, bytes accounted, nothing leaked.
import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { type CompactWeight, ConfigError, packedOf } from '@dcformer/kernels';
import { resolveConfig } from '../src/config.js';
import { initModel } from '../src/init.js';
import { compactModel, compactWeightsOf, dequantisedOfficial, weightBytes, weightBytesOf } from '../src/compact.js';
import { assignDequantised } from './dequantised.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const config = resolveConfig({
  family: 'dcformer',
  dim: 64,
  nHead: 4,
  nLayer: 2,
  vocabSize: 96,
  blockSize: 32,
  windowSize: 8,
  useQkNorm: true,
});
const ids = [[3, 17, 42, 5, 88, 1, 9, 60]];

function maxDiff(a: Float32Array, b: Float32Array): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

describe('compactModel', () => {
  for (const [dtype, groupSize] of [
    ['bf16', undefined],
    ['f16', undefined],
    ['int8', 32],
    ['int8', 64],
    ['int4', 32],
    ['int4', 64],
  ] as const) {
    it(`${dtype}${groupSize ? ` G${groupSize}` : ''}: logits = the dequantised float32 model's (≤ 1e-4)`, () => {
      const before = tf.memory().numTensors;
      const model = compactModel(initModel(config, 3), dtype, { groupSize });
      const twin = initModel(config, 3);
      expect(compactWeightsOf(model).size).toBe(2 * 7 + 2); // wqkv, wo, w1, w3, w2, dw1, dd per layer; output, embedding
      for (const [name, w] of compactWeightsOf(model)) {
        const v = twin.variables.get(name) as tf.Variable;
        assignDequantised(v, name, w);
      }
      const a = model.forward(ids);
      const b = twin.forward(ids);
      expect(maxDiff(a.dataSync() as Float32Array, b.dataSync() as Float32Array)).toBeLessThanOrEqual(1e-4);
      // cached decode: prefill 7, then one token, equals the full forward's last position
      const cache = model.createCache(1);
      tf.dispose(model.forwardCached([ids[0].slice(0, 7)], cache));
      const last = model.forwardCached([ids[0].slice(7)], cache);
      const full = tf.slice(a, [0, 7, 0], [1, 1, config.vocabSize]);
      expect(maxDiff(last.dataSync() as Float32Array, full.dataSync() as Float32Array)).toBeLessThanOrEqual(1e-4);
      tf.dispose([a, b, last, full]);
      cache.dispose();
      const bytes = weightBytes(model);
      expect(bytes.total).toBe(weightBytesOf(config, dtype, groupSize ?? 64));
      expect(bytes.total).toBeLessThan(weightBytes(twin).total / (dtype === 'int4' ? 3 : 1.8));
      model.dispose();
      twin.dispose();
      expect(tf.memory().numTensors).toBe(before);
    });
  }
  it('w1|w3 and dw1|dd are fused into one compact weight each; the parts are views of its arrays', () => {
    const before = tf.memory().numTensors;
    const model = compactModel(initModel(config, 3), 'int4', { groupSize: 32 });
    const ffn = model.params.layers[1].feedForward;
    const att = model.params.layers[1].attention;
    const parts = (w: unknown) => packedOf(w as CompactWeight);
    const w13 = parts(ffn.w13);
    const [w1, w3] = [parts(ffn.w1), parts(ffn.w3)];
    expect(w13.N).toBe(w1.N + w3.N);
    expect([...w13.data]).toEqual([...w1.data, ...w3.data]);
    expect([...(w13.scales as Float32Array)]).toEqual([...(w1.scales as Float32Array), ...(w3.scales as Float32Array)]);
    // one copy of the bytes: w1 and w3 read the fused arrays
    expect(w1.data.buffer).toBe(w13.data.buffer);
    expect(w3.scales?.buffer).toBe(w13.scales?.buffer);
    const dwdd = parts(att.dwdd);
    expect(dwdd.N).toBe(parts(att.dw1).N + parts(att.dd).N);
    expect(parts(att.dd).data.buffer).toBe(dwdd.data.buffer);
    // dequantisedOfficial: dw1's values back in its official [D,1,4,K] layout (as the twins above)
    const name = 'layers.1.attention.dyn_w_proj.dw1';
    const zeros = tf.zeros(model.specs.find((s) => s.official === name)!.shape);
    const v = tf.variable(zeros);
    zeros.dispose();
    assignDequantised(v, name, compactWeightsOf(model).get(name)!);
    expect([...dequantisedOfficial(name, compactWeightsOf(model).get(name)!)]).toEqual([...v.dataSync()]);
    v.dispose();
    model.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('a group size that does not divide the input dimension is a ConfigError naming the tensor', () => {
    const model = initModel(config, 1);
    expect(() => compactModel(model, 'int4', { groupSize: 96 })).toThrow(ConfigError);
    expect(() => compactModel(model, 'int8', { groupSize: 96 })).toThrow(
      /tok_embeddings.weight: .*group size 96 must divide K = 64/,
    );
    model.dispose();
  });
});

describe('MUDD models', () => {
  // MUDDFormer: separate wq/wk/wv, per-layer FFN widths, and the dynamic-dense network (kept float32:
  // its proj1/proj2 are not block linears). Same contract as the DCFormer model above.
  const mudd = resolveConfig({ family: 'muddformer', dim: 64, nHead: 2, nLayer: 3, vocabSize: 96, blockSize: 32 });
  for (const [dtype, groupSize] of [
    ['bf16', undefined],
    ['int8', 32],
    ['int4', 32],
  ] as const) {
    it(`${dtype}: logits and cached decode = the dequantised float32 model's (≤ 1e-4); the dense network stays float32`, () => {
      const before = tf.memory().numTensors;
      const model = compactModel(initModel(mudd, 4), dtype, { groupSize });
      const twin = initModel(mudd, 4);
      const names = [...compactWeightsOf(model).keys()];
      expect(names).toContain('layers.0.attention.wq.weight');
      expect(names.some((n) => n.startsWith('dynamic_dense'))).toBe(false);
      expect(model.variables.has('dynamic_dense.0.w1.weight')).toBe(true);
      for (const [name, w] of compactWeightsOf(model)) {
        const v = twin.variables.get(name) as tf.Variable;
        assignDequantised(v, name, w);
      }
      const a = model.forward(ids);
      const b = twin.forward(ids);
      expect(maxDiff(a.dataSync() as Float32Array, b.dataSync() as Float32Array)).toBeLessThanOrEqual(1e-4);
      const cache = model.createCache(1);
      tf.dispose(model.forwardCached([ids[0].slice(0, 7)], cache));
      const last = model.forwardCached([ids[0].slice(7)], cache);
      const full = tf.slice(a, [0, 7, 0], [1, 1, mudd.vocabSize]);
      expect(maxDiff(last.dataSync() as Float32Array, full.dataSync() as Float32Array)).toBeLessThanOrEqual(1e-4);
      tf.dispose([a, b, last, full]);
      cache.dispose();
      model.dispose();
      twin.dispose();
      expect(tf.memory().numTensors).toBe(before);
    });
  }
});
