/**
 * One parameter tree: for each of the five families (DCFormer, DCPythia, Transformer++ plain,
 * MUDDFormer, MUDDPythia) every variable of the model sits in exactly one field of `params`, and
 * the tree holds nothing else; the official names stay in `variables` (data, not tree paths).
 */
import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { resolveConfig, type ModelConfig } from '../src/config.js';
import { initModel } from '../src/init.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

function leaves(node: unknown, out: tf.Tensor[] = []): tf.Tensor[] {
  if (node instanceof tf.Tensor) out.push(node);
  else if (Array.isArray(node)) for (const n of node) leaves(n, out);
  else if (node !== null && typeof node === 'object') for (const n of Object.values(node)) leaves(n, out);
  return out;
}

const small = { dim: 64, nHead: 4, nLayer: 3, vocabSize: 50, blockSize: 16 };
const families: [string, Partial<ModelConfig>][] = [
  ['dcformer (mgate, qk-norm)', { family: 'dcformer', mgate: true, mgateDim: 4, useQkNorm: true }],
  ['dcpythia (biases)', { family: 'dcpythia', useLinearBias: true }],
  ['transformer++ (use_dcmha false)', { family: 'dcformer', useDcmha: false }],
  ['muddformer', { family: 'muddformer', useDcmha: false }],
  ['muddpythia', { family: 'muddpythia', useDcmha: false }],
];

describe('params: one typed tree over the variables', () => {
  for (const [name, overrides] of families) {
    it(`${name}: each variable in exactly one field, nothing else`, () => {
      const model = initModel(resolveConfig({ ...small, ...overrides } as Partial<ModelConfig>), 1);
      const inTree = leaves(model.params);
      const vars = [...model.variables.values()];
      expect(inTree.length).toBe(vars.length);
      expect(new Set(inTree)).toEqual(new Set(vars));
      expect(model.specs.map((s) => s.official)).toEqual([...model.variables.keys()]);
      model.dispose();
    });
  }
});
