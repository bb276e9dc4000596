/**
 * float32 → F16 / BF16 for `dcformer convert --dtype`: every value rounds to the nearest
 * representable one, ties to even (torch's .half() / .bfloat16()), checked against a brute-force
 * nearest-value search over all 65536 codes; files written that way read back as those values.
 */
import { describe, expect, it } from 'vitest';
import {
  f16BitsToNumber,
  numberToBf16Bits,
  numberToF16Bits,
  parseSafetensors,
  serializeSafetensors,
  toFloat32,
} from '@dcformer/checkpoint';

const BF16_VALUES = new Float32Array(Uint32Array.from({ length: 0x10000 }, (_, b) => b << 16).buffer);
const bf16ToNumber = (b: number) => BF16_VALUES[b];
const F16_VALUES = Float64Array.from({ length: 0x10000 }, (_, h) => f16BitsToNumber(h));

/**
 * The code whose value is nearest to x (ties: the even code), by trying every non-negative code up
 * to Inf; Inf stands for the next power of two past the largest finite value, as rounding sees it.
 */
function nearestCode(x: number, decode: (bits: number) => number, infCode: number, infAs: number): number {
  const f = Math.fround(x);
  const sign = f < 0 || Object.is(f, -0) ? 0x8000 : 0;
  const a = Math.abs(f);
  let best = 0;
  let bestDistance = Infinity;
  for (let code = 0; code <= infCode; code++) {
    const d = Math.abs((code === infCode ? infAs : decode(code)) - a);
    if (d < bestDistance || (d === bestDistance && (code & 1) === 0)) {
      best = code;
      bestDistance = d;
    }
  }
  return sign | best;
}

function samples(): number[] {
  const out = [
    0,
    -0,
    1,
    -1,
    0.1,
    1 / 3,
    65504,
    65519,
    65520,
    -65520,
    6.1e-5,
    5.96e-8,
    2.98e-8,
    2.99e-8,
    1e-10,
    3.4e38,
    1e30,
    3.3961e38,
    3.4e38,
    1.0009765625,
    1.00048828125,
    1.00146484375,
  ];
  let seed = 7;
  const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  for (let i = 0; i < 300; i++) out.push((random() - 0.5) * 10 ** (random() * 12 - 8));
  return out;
}

describe('float32 → half precision codes', () => {
  it('F16: nearest, ties to even, overflow to Inf, subnormals, NaN', () => {
    for (const x of samples())
      expect(numberToF16Bits(x), String(x)).toBe(nearestCode(x, (h) => F16_VALUES[h], 0x7c00, 65536));
    for (let code = 0; code < 0x10000; code++) {
      const v = f16BitsToNumber(code);
      if (!Number.isNaN(v)) expect(numberToF16Bits(v)).toBe(code);
    }
    expect(Number.isNaN(f16BitsToNumber(numberToF16Bits(NaN)))).toBe(true);
    expect(f16BitsToNumber(numberToF16Bits(-Infinity))).toBe(-Infinity);
  });

  it('BF16: nearest, ties to even, NaN stays NaN', () => {
    for (const x of samples())
      expect(numberToBf16Bits(x), String(x)).toBe(nearestCode(x, bf16ToNumber, 0x7f80, 2 ** 128));
    for (let code = 0; code < 0x10000; code += 7) {
      const v = bf16ToNumber(code);
      if (!Number.isNaN(v)) expect(numberToBf16Bits(v)).toBe(code);
    }
    expect(Number.isNaN(bf16ToNumber(numberToBf16Bits(NaN)))).toBe(true);
  });

  it('serializeSafetensors({dtype}) writes those codes and the reader gives the rounded values back', () => {
    const data = Float32Array.from([1 / 3, -2.5, 70000, 1e-6]);
    for (const dtype of ['F16', 'BF16'] as const) {
      const bytes = serializeSafetensors({ w: { shape: [2, 2], data } }, undefined, { dtype });
      const parsed = parseSafetensors(bytes);
      const t = parsed.tensors.get('w')!;
      expect(t.dtype).toBe(dtype);
      const back = toFloat32(t, 'w');
      const decode = dtype === 'F16' ? f16BitsToNumber : bf16ToNumber;
      const encode = dtype === 'F16' ? numberToF16Bits : numberToBf16Bits;
      expect([...back]).toEqual([...data].map((x) => decode(encode(x))));
    }
    expect(() =>
      serializeSafetensors({ w: { shape: [1], data: Float32Array.of(1) } }, undefined, { dtype: 'F8' as never }),
    ).toThrow(/dtype must be F32, F16 or BF16; got "F8"/);
  });
});
