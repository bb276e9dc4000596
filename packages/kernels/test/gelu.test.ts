import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-core/dist/register_all_gradients';
import { beforeAll, describe, expect, it } from 'vitest';
import { runGeluConformance } from '../src/testing/gelu-conformance.js';
import { gelu } from '../src/activation/gelu-op.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe('DcGelu conformance on cpu (reference kernel vs float64 formulas)', () => {
  // tfjs' own erf (Abramowitz–Stegun) is good to ~1.5e-7 absolute; 2e-6 covers it with the ×x factor
  for (const r of runGeluConformance()) it(r.name, () => expect(r.ok, r.message).toBe(true));
  it('rejects int32 input by name', () => {
    const ints = tf.zeros([2], 'int32');
    expect(() => gelu(ints)).toThrow(/gelu: 'x' must be float32; got int32/);
    ints.dispose();
  });
});
