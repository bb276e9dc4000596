import { describe, expect, it } from 'vitest';
import { float32ToJson, logitsJson } from '../src/float-json.js';

describe('float32ToJson', () => {
  it('writes the shortest decimal that parses back to the same float32', () => {
    expect(float32ToJson(Math.fround(0.1))).toBe('0.1');
    expect(float32ToJson(0.5)).toBe('0.5');
    expect(float32ToJson(-0)).toBe('-0');
    expect(Object.is(JSON.parse(float32ToJson(-0)), -0)).toBe(true);
    expect(float32ToJson(Math.fround(1 / 3))).toBe('0.33333334');
    expect(float32ToJson(Math.fround(16777217))).toBe('16777216');
    expect(float32ToJson(1.401298464324817e-45)).toBe('1e-45'); // smallest subnormal
    expect(float32ToJson(3.4028234663852886e38)).toBe('3.4028235e+38');
  });

  it('round-trips random float32 bit patterns exactly', () => {
    const bits = new Uint32Array(20_000);
    let seed = 12345;
    for (let i = 0; i < bits.length; i++) {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      bits[i] = seed;
    }
    const floats = new Float32Array(bits.buffer);
    for (const x of floats) {
      if (!Number.isFinite(x)) continue;
      const text = float32ToJson(x);
      expect(Math.fround(JSON.parse(text) as number)).toBe(x);
      // At most 9 significant digits (leading and trailing zeros are not significant).
      expect(text.replace(/^-|e.*$|\./g, '').replace(/^0+|0+$/g, '').length).toBeLessThanOrEqual(9);
    }
  });

  it('refuses NaN and Infinity, which JSON cannot hold', () => {
    expect(() => float32ToJson(NaN)).toThrow(RangeError);
    expect(() => logitsJson(new Float32Array([0, Infinity]), 1, 1, 2)).toThrow(/logit \[0,0,1\] is Infinity/);
  });

  it('lays logits out as [B][T][V]', () => {
    const data = new Float32Array([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
    expect(JSON.parse(logitsJson(data, 2, 3, 2))).toEqual({
      logits: [
        [
          [1, 2],
          [3, 4],
          [5, 6],
        ],
        [
          [7, 8],
          [9, 10],
          [11, 12],
        ],
      ],
    });
  });
});
