import * as tf from '@tensorflow/tfjs';
import type { Tensor } from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { DCMultiHeadAttention, RMSNorm, dcformerBlock } from '../src/index.js';
import { maxAbsDiff } from './reference.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const [V, T, D] = [11, 6, 16];

/** model.save → tf.loadLayersModel through memory, with the topology through JSON text as a file would. */
async function roundTrip(model: tf.LayersModel): Promise<tf.LayersModel> {
  let saved: tf.io.ModelArtifacts | null = null;
  await model.save(
    tf.io.withSaveHandler(async (artifacts) => {
      saved = { ...artifacts, modelTopology: JSON.parse(JSON.stringify(artifacts.modelTopology)) };
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
  );
  if (saved === null) throw new Error('nothing saved');
  return tf.loadLayersModel(tf.io.fromMemory(saved));
}

/** A config as JSON sees it: a saved file writes unset values (undefined) as null. */
const plain = (config: object) => JSON.parse(JSON.stringify(config, (_key, value) => value ?? null));

const ids = () =>
  tf.tensor2d([
    [1, 5, 2, 9, 3, 3],
    [4, 4, 10, 0, 7, 1],
  ]);

describe('serialization', () => {
  it('getConfig → fromConfig gives the same layer config', () => {
    const layer = new DCMultiHeadAttention({
      numHeads: 4,
      keyDim: 8,
      window: 32,
      causal: true,
      useQkNorm: true,
      queryWise: false,
      ropeBase: 500000,
      rotaryDims: 4,
      useBias: true,
      chunkSize: 16,
      kernelInitializer: 'heNormal',
      biasInitializer: tf.initializers.constant({ value: 0.1 }),
      seed: 5,
      name: 'attn',
    });
    const copy = DCMultiHeadAttention.fromConfig(DCMultiHeadAttention, layer.getConfig()) as DCMultiHeadAttention;
    expect(copy).toBeInstanceOf(DCMultiHeadAttention);
    expect(copy.getConfig()).toEqual(layer.getConfig());
    // heNormal serializes as the VarianceScaling it is
    expect(copy.options.kernelInitializer?.getConfig()).toMatchObject({
      scale: 2,
      mode: 'fanIn',
      distribution: 'normal',
    });
  });

  it('a tf.sequential model saves and loads with identical outputs', async () => {
    const model = tf.sequential({
      layers: [
        tf.layers.embedding({ inputDim: V, outputDim: D, inputShape: [T] }),
        new DCMultiHeadAttention({
          numHeads: 4,
          window: 3,
          useQkNorm: true,
          useBias: true,
          kernelInitializer: 'heNormal',
          seed: 1,
          name: 'attn',
        }),
        new RMSNorm({ epsilon: 1e-5 }),
        tf.layers.dense({ units: V, activation: 'softmax' }),
      ],
    });
    const loaded = await roundTrip(model);
    const attn = loaded.getLayer('attn');
    expect(attn).toBeInstanceOf(DCMultiHeadAttention);
    expect(plain(attn.getConfig())).toEqual(plain(model.getLayer('attn').getConfig()));
    expect(loaded.layers[2]).toBeInstanceOf(RMSNorm);
    const x = ids();
    const [a, b] = [model.predict(x) as Tensor, loaded.predict(x) as Tensor];
    expect(maxAbsDiff(a, b)).toBe(0);
    tf.dispose([x, a, b]);
    model.dispose();
    loaded.dispose();
  });

  it('a tf.model with DCFormer blocks and a padding-mask input saves and loads with identical outputs', async () => {
    const input = tf.input({ shape: [T] });
    const mask = tf.input({ shape: [T] });
    let h = tf.layers.embedding({ inputDim: V, outputDim: D }).apply(input) as tf.SymbolicTensor;
    h = dcformerBlock(h, { numHeads: 4, window: 2, paddingMask: mask, name: 'b0', seed: 2 });
    h = dcformerBlock(h, { numHeads: 4, useDcmha: false, paddingMask: mask, name: 'b1', seed: 3 });
    const model = tf.model({ inputs: [input, mask], outputs: new RMSNorm().apply(h) as tf.SymbolicTensor });
    const loaded = await roundTrip(model);
    expect(loaded.getLayer('b0_attention')).toBeInstanceOf(DCMultiHeadAttention);
    expect(loaded.getLayer('b1_attention').getConfig().useDcmha).toBe(false);
    const x = ids();
    const m = tf.tensor2d([
      [0, 0, 1, 1, 1, 1],
      [1, 1, 1, 1, 1, 1],
    ]);
    const [a, b] = [model.predict([x, m]) as Tensor, loaded.predict([x, m]) as Tensor];
    expect(maxAbsDiff(a, b)).toBe(0);
    tf.dispose([x, m, a, b]);
    model.dispose();
    loaded.dispose();
  });
});
