import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-core/dist/register_all_gradients';
import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { ShapeError } from '../src/errors.js';
import { assertClose, flattenNested } from '../src/testing/expect-close.js';
import { runComposeBandConformance, runComposeConformance } from '../src/testing/compose-conformance.js';
import { dcmhaCompose } from '../src/compose/compose-op.js';
import type { ComposeInputs } from '../src/compose/compose-spec.js';

const composeJson = JSON.parse(readFileSync(new URL('../../../fixtures/oracle/compose.json', import.meta.url), 'utf8'));

function t(value: unknown): tf.Tensor {
  const { data, shape } = flattenNested(value);
  return tf.tensor(data, shape);
}

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe('DcmhaCompose vs the official _cross_head_proj (compose.json)', () => {
  for (const entry of composeJson.cross_head_proj as Record<string, unknown>[]) {
    it(`${entry.tag as string}: out within 1e-5`, () => {
      const expected = flattenNested(entry.out);
      const out = tf.tidy(() =>
        dcmhaCompose({
          x: t(entry.inputs),
          qw1: t(entry.qw1),
          qw2: t(entry.qw2),
          qdd: t(entry.qdd),
          kw1: t(entry.kw1),
          kw2: t(entry.kw2),
          kdd: t(entry.kdd),
        }).dataSync(),
      );
      assertClose(out, expected.data, expected.shape, { atol: 1e-5, label: `${entry.tag} out` });
    });
  }

  it('decode form: x·(I + qW + kW(s)) equals the factored Compose with T = 1', () => {
    const p = composeJson.proj_w_form;
    const expected = flattenNested(p.out);
    const out = tf.tidy(() =>
      dcmhaCompose({
        x: t(p.inputs),
        qw1: t(p.qw1),
        qw2: t(p.qw2),
        qdd: t(p.qdd),
        kw1: t(p.kw1),
        kw2: t(p.kw2),
        kdd: t(p.kdd),
      }).dataSync(),
    );
    assertClose(out, expected.data, expected.shape, { atol: 1e-5, label: 'proj_w form' });
  });
});

describe('DcmhaCompose conformance on cpu (forward and gradients vs loops over the N×N matrix)', () => {
  const results = runComposeConformance();
  for (const r of results) {
    it(r.name, () => {
      expect(r.ok, r.message).toBe(true);
    });
  }
});

describe('DcmhaCompose band hint on cpu (the reference ignores it: full values everywhere)', () => {
  for (const r of runComposeBandConformance()) it(r.name, () => expect(r.ok, r.message).toBe(true));
});

describe('dcmhaCompose input checks', () => {
  const good = () => ({
    x: tf.zeros([2, 4, 5, 7]),
    qw1: tf.zeros([2, 5, 2, 4]),
    qw2: tf.zeros([2, 5, 2, 4]),
    qdd: tf.zeros([2, 5, 4]),
    kw1: tf.zeros([2, 7, 2, 4]),
    kw2: tf.zeros([2, 7, 2, 4]),
    kdd: tf.zeros([2, 7, 4]),
  });

  it('names the argument and both shapes when a weight is transposed', () => {
    tf.tidy(() => {
      const inputs = { ...good(), qw1: tf.zeros([2, 5, 4, 2]) };
      expect(() => dcmhaCompose(inputs)).toThrow(ShapeError);
      expect(() => dcmhaCompose(inputs)).toThrow(/'qw1' must be \[B,T,I,N\] = \[2,5,2,4\].*got \[2,5,4,2\]/);
    });
  });

  it('rejects a key-side weight when keyWise is off, and a missing one when on', () => {
    tf.tidy(() => {
      expect(() => dcmhaCompose(good(), { queryWise: true, keyWise: false })).toThrow(
        /'kw1' was given but keyWise is off/,
      );
      const { kdd: _dropped, ...rest } = good();
      expect(() => dcmhaCompose(rest as ComposeInputs)).toThrow(/'kdd' is required/);
    });
  });

  it('keeps the tensor count flat through forward and backward', () => {
    const inputs = good();
    const before = tf.memory().numTensors;
    const grads = tf.grads((x: tf.Tensor, qw1: tf.Tensor) => tf.sum(dcmhaCompose({ ...inputs, x, qw1 })))([
      inputs.x,
      inputs.qw1,
    ]);
    tf.dispose(grads);
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose(Object.values(inputs));
  });
});
