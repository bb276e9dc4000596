import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-core/dist/register_all_gradients';
import { readFileSync } from 'node:fs';
import { assertClose, flattenNested } from '@dcformer/kernels/testing';
import { ShapeError, compactWeight, disposeCompactWeight, packWeight, packedOf, unpackRows } from '@dcformer/kernels';
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

  // A compact model holds dw1 [D,1,4,K] and dd [D,1,4N] as compact weights of their transposes
  // [M, D]: the projections must equal the float32 ones computed with the dequantised values.
  for (const format of ['bf16', 'int8', 'int4'] as const) {
    it(`compact dw1/dd (${format}, transposed [M, D]) = float32 with the dequantised weights (≤ 1e-5)`, () => {
      const before = tf.memory().numTensors;
      const transposed = (v: unknown) => {
        const { data, shape } = flattenNested(v);
        const D = shape[0];
        const M = data.length / D;
        const out = new Float32Array(M * D);
        for (let d = 0; d < D; d++) for (let m = 0; m < M; m++) out[m * D + d] = data[d * M + m];
        return { data: out, M, D, shape };
      };
      const pack = (v: unknown) => {
        const w = transposed(v);
        const packed = packWeight(w.data, w.M, w.D, format, format === 'bf16' ? undefined : 32);
        // the float32 twin: dequantised rows, back to the official [D, …] layout
        const deq = unpackRows(packed);
        const back = new Float32Array(w.M * w.D);
        for (let d = 0; d < w.D; d++) for (let m = 0; m < w.M; m++) back[d * w.M + m] = deq[m * w.D + d];
        return { compact: compactWeight(packed), float: tf.tensor(back, w.shape) };
      };
      const dw1 = pack(fixture.dw1);
      const dd = pack(fixture.dd);
      const x = t(fixture.x);
      const qkw = t(fixture.qkw);
      // the same two compact weights stacked, [4K + 4N, D]: one matmul, the same values
      const stacked = (() => {
        const [p1, p2] = [packedOf(dw1.compact), packedOf(dd.compact)];
        const cat = <T extends Int32Array | Float32Array>(u: T, v: T, make: (n: number) => T) => {
          const out = make(u.length + v.length);
          out.set(u);
          out.set(v, u.length);
          return out;
        };
        return compactWeight({
          ...p1,
          N: p1.N + p2.N,
          data: cat(p1.data, p2.data, (n) => new Int32Array(n)),
          scales: p1.scales && p2.scales && cat(p1.scales, p2.scales, (n) => new Float32Array(n)),
        });
      })();
      const a = dynamicWeights(x, { dw1: dw1.compact, qkw, dd: dd.compact, dwdd: stacked });
      const a1 = dynamicWeights(x, { dw1: dw1.compact, qkw, dd: dd.compact });
      const b = dynamicWeights(x, { dw1: dw1.float, qkw, dd: dd.float });
      for (const side of ['query', 'key'] as const)
        for (const call of ['pre', 'post'] as const)
          for (const n of ['w1', 'w2', 'dd'] as const) {
            const want = b[side][call][n];
            assertClose(a[side][call][n].dataSync(), want.dataSync(), want.shape, {
              atol: 1e-5,
              label: `${side}.${call}.${n}`,
            });
            assertClose(a1[side][call][n].dataSync(), want.dataSync(), want.shape, {
              atol: 1e-5,
              label: `${side}.${call}.${n} (separate)`,
            });
          }
      expect(() => dynamicWeights(x, { dw1: dd.compact, qkw, dd: dd.compact })).toThrow(
        /'dw1' must be compact \[M,D\] = \[\d+,32\].*got \[16,32\]/,
      );
      expect(() => dynamicWeights(x, { dw1: dw1.compact, qkw, dd: dd.compact, dwdd: dw1.compact })).toThrow(
        /'dwdd' must be compact \[4K\+4N, D\] = \[\d+,32\]/,
      );
      disposeCompactWeight(stacked);
      for (const w of [a, a1, b])
        for (const side of [w.query, w.key])
          tf.dispose([side.pre.w1, side.pre.w2, side.pre.dd, side.post.w1, side.post.w2, side.post.dd]);
      disposeCompactWeight(dw1.compact);
      disposeCompactWeight(dd.compact);
      tf.dispose([dw1.float, dd.float, x, qkw]);
      expect(tf.memory().numTensors).toBe(before);
    });
  }

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
