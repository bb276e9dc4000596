import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-core/dist/register_all_gradients';
import { readFileSync } from 'node:fs';
import { assertClose, flattenNested } from '@dcformer/kernels/testing';
import { ShapeError } from '@dcformer/kernels';
import { beforeAll, describe, expect, it } from 'vitest';
import { dynamicWeights } from '../src/dynamic-weights.js';

const fixture = JSON.parse(
  readFileSync(new URL('../../../fixtures/oracle/compose.json', import.meta.url), 'utf8'),
).dynamic_weight_projection;

const t = (v: unknown) => {
  const { data, shape } = flattenNested(v);
  return tf.tensor(data, shape);
};

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe('dynamicWeights vs the official DynamicWeightProjection.forward (compose.json)', () => {
  const names = ['qw1', 'qw2', 'kw1', 'kw2', 'qdd', 'kdd'] as const;
  for (const side of ['pre', 'post'] as const) {
    for (const name of names) {
      it(`${side}_${name} within 1e-5`, () => {
        // The fixture keeps the group axis G = 1: [B,T,1,I,N] and [B,T,1,N].
        const expected = flattenNested(fixture.outputs[`${side}_${name}`]);
        const got = tf.tidy(() => {
          const w = dynamicWeights(t(fixture.x), { dw1: t(fixture.dw1), qkw: t(fixture.qkw), dd: t(fixture.dd) });
          // the fixture's qw1 is the query side's w1, kdd the key side's dd, …
          const fromSide = name.startsWith('q') ? w.query : w.key;
          return fromSide[side][name.slice(1) as 'w1' | 'w2' | 'dd'].dataSync();
        });
        assertClose(got, expected.data, expected.shape, { atol: 1e-5, label: `${side}_${name}` });
      });
    }
  }

  it('rejects a dd of the wrong width, naming both shapes', () => {
    tf.tidy(() => {
      const call = () =>
        dynamicWeights(t(fixture.x), { dw1: t(fixture.dw1), qkw: t(fixture.qkw), dd: tf.zeros([32, 1, 12]) });
      expect(call).toThrow(ShapeError);
      expect(call).toThrow(/'dd' must be \[D,G,M\] = \[32,1,16\].*got \[32,1,12\]/);
    });
  });

  it('leaves no tensors behind', () => {
    const before = tf.memory().numTensors;
    const x = t(fixture.x);
    const params = { dw1: t(fixture.dw1), qkw: t(fixture.qkw), dd: t(fixture.dd) };
    const g = tf.grads((xx: tf.Tensor) => {
      const w = dynamicWeights(xx, params);
      return tf.add(tf.sum(w.query.pre.w1), tf.sum(w.key.post.dd));
    })([x]);
    tf.dispose([g, x, params.dw1, params.qkw, params.dd]);
    expect(tf.memory().numTensors).toBe(before);
  });
});
