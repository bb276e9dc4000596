import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, ShapeError } from '../src/errors.js';
import { runCompactMatMulConformance } from '../src/testing/compact-matmul-conformance.js';
import {
  bf16BitsToFloat,
  checkGroup,
  f16BitsToFloat,
  packWeight,
  parseWeightDtype,
  toBf16Bits,
  toF16Bits,
  unpackRows,
} from '../src/compact-matmul/compact-format.js';
import {
  compactMatMul,
  compactWeight,
  disposeCompactWeight,
  isReferenceCompactMatMul,
} from '../src/compact-matmul/compact-matmul-op.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe('16-bit conversions (round to nearest even)', () => {
  it('bfloat16 bits of known values', () => {
    expect(toBf16Bits(1)).toBe(0x3f80);
    expect(toBf16Bits(1 / 3)).toBe(0x3eab);
    expect(toBf16Bits(-2.5)).toBe(0xc020);
    // 1 + 2^-8 is halfway between 1 and 1 + 2^-7: ties to even (1); 1 + 3·2^-8 ties up
    expect(toBf16Bits(1 + 2 ** -8)).toBe(0x3f80);
    expect(toBf16Bits(1 + 3 * 2 ** -8)).toBe(0x3f82);
    expect(Number.isNaN(bf16BitsToFloat(toBf16Bits(Number.NaN)))).toBe(true);
    expect(bf16BitsToFloat(toBf16Bits(Number.POSITIVE_INFINITY))).toBe(Number.POSITIVE_INFINITY);
  });
  it('IEEE half bits of known values', () => {
    expect(toF16Bits(1)).toBe(0x3c00);
    expect(toF16Bits(1 / 3)).toBe(0x3555);
    expect(toF16Bits(65504)).toBe(0x7bff);
    expect(toF16Bits(65520)).toBe(0x7c00); // rounds up past the largest finite half
    expect(toF16Bits(2 ** -24)).toBe(0x0001); // smallest subnormal
    expect(toF16Bits(2 ** -25)).toBe(0x0000); // tie to even: 0
    expect(toF16Bits(3 * 2 ** -25)).toBe(0x0002); // 1.5 ulp ties to 2
    expect(toF16Bits(-0)).toBe(0x8000);
    expect(f16BitsToFloat(0x3555)).toBe(0.333251953125);
    expect(f16BitsToFloat(0x0001)).toBe(2 ** -24);
  });
});

describe('quantisation error bounds', () => {
  const N = 4;
  const K = 128;
  const w = Float32Array.from({ length: N * K }, (_, i) => Math.sin(i * 0.37) * (1 + (i % 7)));
  for (const [format, G] of [
    ['int8', 64],
    ['int8', 128],
    ['int4', 32],
    ['int4', 64],
  ] as const) {
    it(`${format} G${G}: every weight within half a step of its group's scale`, () => {
      const p = packWeight(w, N, K, format, G);
      const back = unpackRows(p);
      for (let n = 0; n < N; n++)
        for (let k = 0; k < K; k++) {
          const s = Math.abs((p.scales as Float32Array)[n * (K / G) + Math.floor(k / G)]);
          // int4: the largest positive weight may clamp at +7 (one step)
          const bound = format === 'int4' ? s * 1.0001 : s * 0.5001;
          expect(Math.abs(back[n * K + k] - w[n * K + k])).toBeLessThanOrEqual(bound);
        }
    });
  }
});

describe('typed errors', () => {
  it('bad group sizes, odd K, unknown dtypes, mismatched scales', () => {
    expect(() => checkGroup('t', 'int4', 128, 48)).toThrow(ConfigError);
    expect(() => checkGroup('t', 'int8', 96, 64)).toThrow(/must divide K = 96/);
    expect(() => checkGroup('t', 'bf16', 7)).toThrow(ShapeError);
    expect(() => parseWeightDtype('t', 'int3')).toThrow(/unknown dtype 'int3'/);
    expect(() => packWeight(new Float32Array(10), 2, 4, 'int8')).toThrow(ShapeError);
    const p = packWeight(new Float32Array(2 * 64), 2, 64, 'int8', 32);
    expect(() => compactWeight({ ...p, scales: new Float32Array(3) })).toThrow(/scales must be \[N, K\/G\] = \[2,2\]/);
    const cw = compactWeight(p);
    expect(() => compactMatMul(tf.zeros([1, 32]), cw)).toThrow(/'x' must be \[..., K\] = \[..., 64\]/);
    disposeCompactWeight(cw);
  });
});

describe('DcCompactMatMul reference kernel (tfjs cpu, no fused kernel registered)', () => {
  it('passes the conformance suite without leaking tensors', () => {
    const before = tf.memory().numTensors;
    const results = runCompactMatMulConformance();
    for (const r of results) expect(r.ok, r.message).toBe(true);
    expect(results.length).toBe(24);
    expect(isReferenceCompactMatMul('cpu')).toBe(true);
    expect(tf.memory().numTensors).toBe(before);
  });
  it('keeps leading dimensions', () => {
    const p = packWeight(new Float32Array(3 * 32).fill(0.5), 3, 32, 'bf16');
    const cw = compactWeight(p);
    const y = compactMatMul(tf.ones([2, 4, 32]), cw);
    expect(y.shape).toEqual([2, 4, 3]);
    expect(Array.from(y.dataSync().slice(0, 3))).toEqual([16, 16, 16]);
    y.dispose();
    disposeCompactWeight(cw);
  });
});
