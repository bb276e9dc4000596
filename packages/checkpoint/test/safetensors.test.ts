import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it, expect } from 'vitest';
import { CheckpointError } from '../src/errors.js';
import {
  f16BitsToNumber,
  parseSafetensors,
  serializeSafetensors,
  toFloat32,
  type RawTensor,
} from '../src/safetensors.js';

interface RawEntry {
  dtype: unknown;
  shape: unknown;
  data_offsets: unknown;
}

/** Builds a file from a header object and raw data bytes, exactly as given (no validation). */
function buildFile(
  header: Record<string, RawEntry | Record<string, unknown>> | unknown,
  data: Uint8Array,
  pad = 0,
): Uint8Array {
  const json = new TextEncoder().encode(JSON.stringify(header) + ' '.repeat(pad));
  return buildRaw(json, data);
}

function buildRaw(headerBytes: Uint8Array, data: Uint8Array, declaredLength = headerBytes.length): Uint8Array {
  const out = new Uint8Array(8 + headerBytes.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(declaredLength), true);
  out.set(headerBytes, 8);
  out.set(data, 8 + headerBytes.length);
  return out;
}

function u16le(values: number[]): Uint8Array {
  const out = new Uint8Array(values.length * 2);
  const view = new DataView(out.buffer);
  values.forEach((v, i) => view.setUint16(2 * i, v, true));
  return out;
}

function catchError(fn: () => unknown): CheckpointError {
  try {
    fn();
  } catch (e) {
    expect(CheckpointError.isInstance(e)).toBe(true);
    return e as CheckpointError;
  }
  throw new Error('expected a CheckpointError');
}

describe('serializeSafetensors / parseSafetensors', () => {
  it('round-trips float32 tensors with sorted names, aligned header and contiguous offsets', () => {
    const a = { shape: [2, 3], data: new Float32Array([1, -2, 3.5, 0, -0, 1e-30]) };
    const b = { shape: [], data: new Float32Array([42]) };
    const empty = { shape: [0, 4], data: new Float32Array(0) };
    const bytes = serializeSafetensors({ 'z.w': a, 'a.b': b, 'm.empty': empty }, { format: 'pt' });

    const headerLength = Number(new DataView(bytes.buffer).getBigUint64(0, true));
    expect((8 + headerLength) % 8).toBe(0);
    const headerText = new TextDecoder().decode(bytes.subarray(8, 8 + headerLength));
    expect(headerText.indexOf('"a.b"')).toBeLessThan(headerText.indexOf('"z.w"'));
    const header = JSON.parse(headerText);
    expect(header['a.b'].data_offsets).toEqual([0, 4]);
    expect(header['m.empty'].data_offsets).toEqual([4, 4]);
    expect(header['z.w'].data_offsets).toEqual([4, 28]);

    const parsed = parseSafetensors(bytes, 'rt.safetensors');
    expect(parsed.metadata).toEqual({ format: 'pt' });
    expect([...parsed.tensors.keys()].sort()).toEqual(['a.b', 'm.empty', 'z.w']);
    const z = parsed.tensors.get('z.w')!;
    expect(z.dtype).toBe('F32');
    expect(z.shape).toEqual([2, 3]);
    expect(Object.is(toFloat32(z, 'z.w')[4], -0)).toBe(true);
    expect(Array.from(toFloat32(z, 'z.w'))).toEqual(Array.from(a.data));
    expect(Array.from(toFloat32(parsed.tensors.get('a.b')!, 'a.b'))).toEqual([42]);
    expect(toFloat32(parsed.tensors.get('m.empty')!, 'm.empty').length).toBe(0);

    // Serializing the parsed values again gives identical bytes.
    const again = serializeSafetensors(
      new Map([...parsed.tensors].map(([n, t]) => [n, { shape: t.shape, data: toFloat32(t, n) }])),
      parsed.metadata,
    );
    expect(again).toEqual(bytes);
  });

  it('refuses to serialize data that does not match its shape, naming the tensor', () => {
    const e = catchError(() => serializeSafetensors({ bad: { shape: [2, 2], data: new Float32Array(3) } }));
    expect(e.message).toContain("'bad'");
    expect(e.tensorName).toBe('bad');
  });
});

describe('toFloat32', () => {
  it('decodes hand-encoded F16 exactly: normals, subnormals, signed zero, inf, nan', () => {
    const bits = [0x3c00, 0xc000, 0x7c00, 0xfc00, 0x0001, 0x03ff, 0x0400, 0x7bff, 0x8000, 0x3555, 0x7e00];
    const file = buildFile(
      { h: { dtype: 'F16', shape: [bits.length], data_offsets: [0, bits.length * 2] } },
      u16le(bits),
    );
    const out = toFloat32(parseSafetensors(file).tensors.get('h')!, 'h');
    expect(Array.from(out.slice(0, 8))).toEqual([
      1,
      -2,
      Infinity,
      -Infinity,
      2 ** -24,
      1023 * 2 ** -24,
      2 ** -14,
      65504,
    ]);
    expect(Object.is(out[8], -0)).toBe(true);
    expect(out[9]).toBe(Math.fround(0.333251953125));
    expect(Number.isNaN(out[10])).toBe(true);
  });

  it('decodes all positive finite F16 values as a strictly increasing sequence, negatives as mirrors', () => {
    const bits = Array.from({ length: 0x10000 }, (_, h) => h);
    const out = toFloat32({ dtype: 'F16', shape: [0x10000], bytes: u16le(bits) }, 'all');
    for (let h = 1; h <= 0x7bff; h++) expect(out[h] > out[h - 1]).toBe(true);
    for (let h = 0; h <= 0x7bff; h++) expect(out[h | 0x8000]).toBe(-out[h]);
    for (let h = 0x7c01; h <= 0x7fff; h++) expect(Number.isNaN(out[h]) && Number.isNaN(out[h | 0x8000])).toBe(true);
    expect(f16BitsToNumber(0x7bff)).toBe(out[0x7bff]);
  });

  it('decodes hand-encoded BF16 exactly', () => {
    const bits = [0x3f80, 0xc000, 0x7f80, 0x0001, 0x3eaa, 0x7fc0];
    const file = buildFile({ b: { dtype: 'BF16', shape: [2, 3], data_offsets: [0, 12] } }, u16le(bits));
    const out = toFloat32(parseSafetensors(file).tensors.get('b')!, 'b');
    expect(Array.from(out.slice(0, 5))).toEqual([1, -2, Infinity, 2 ** -133, 0.33203125]);
    expect(Number.isNaN(out[5])).toBe(true);
  });

  it('rounds F64 to float32 and handles unaligned offsets', () => {
    const data = new Uint8Array(1 + 16 + 8);
    const view = new DataView(data.buffer);
    view.setFloat64(1, 0.1, true);
    view.setFloat64(9, -1e300, true);
    view.setFloat32(17, 2.5, true);
    view.setFloat32(21, -7, true);
    const header = {
      pad: { dtype: 'U8', shape: [1], data_offsets: [0, 1] },
      d: { dtype: 'F64', shape: [2], data_offsets: [1, 17] },
      f: { dtype: 'F32', shape: [2], data_offsets: [17, 25] },
    };
    const parsed = parseSafetensors(buildFile(header, data));
    expect(Array.from(toFloat32(parsed.tensors.get('d')!, 'd'))).toEqual([Math.fround(0.1), -Infinity]);
    expect(Array.from(toFloat32(parsed.tensors.get('f')!, 'f'))).toEqual([2.5, -7]);
  });

  it('refuses non-float dtypes, naming tensor and dtype', () => {
    const t: RawTensor = { dtype: 'I64', shape: [1], bytes: new Uint8Array(8) };
    const e = catchError(() => toFloat32(t, 'layers.0.buf', 'x.safetensors'));
    expect(e.message).toContain("'layers.0.buf'");
    expect(e.message).toContain('I64');
    expect(e.message).toContain('x.safetensors');
  });
});

describe('parseSafetensors corruption', () => {
  const ok = { dtype: 'F32', shape: [2], data_offsets: [0, 8] };

  it('file shorter than 8 bytes', () => {
    const e = catchError(() => parseSafetensors(new Uint8Array(5), 'short.safetensors'));
    expect(e.message).toMatch(/short\.safetensors.*5 bytes.*at least 8/);
  });

  it('header length past the end of the file', () => {
    const json = new TextEncoder().encode('{}');
    const e = catchError(() => parseSafetensors(buildRaw(json, new Uint8Array(0), 1000), 'f'));
    expect(e.message).toMatch(/header length 1000 runs past the end/);
  });

  it('absurdly large header length', () => {
    const bytes = new Uint8Array(16);
    new DataView(bytes.buffer).setBigUint64(0, 2n ** 62n, true);
    expect(() => parseSafetensors(bytes)).toThrow(CheckpointError);
    expect(() => parseSafetensors(bytes)).toThrow(/at most 100000000/);
  });

  it('header that is not UTF-8, not JSON, or not an object', () => {
    expect(() => parseSafetensors(buildRaw(new Uint8Array([0x7b, 0xff, 0x7d]), new Uint8Array(0)))).toThrow(/UTF-8/);
    expect(() => parseSafetensors(buildRaw(new TextEncoder().encode('{"a":'), new Uint8Array(0)))).toThrow(
      /not valid JSON/,
    );
    expect(() => parseSafetensors(buildFile([1, 2], new Uint8Array(0)))).toThrow(/must be a JSON object/);
  });

  it('entry missing a field or with wrong types', () => {
    const noDtype = catchError(() =>
      parseSafetensors(buildFile({ w: { shape: [2], data_offsets: [0, 8] } }, new Uint8Array(8))),
    );
    expect(noDtype.message).toMatch(/'w'.*missing "dtype"/);
    expect(noDtype.tensorName).toBe('w');
    expect(() => parseSafetensors(buildFile({ w: { dtype: 'F32', data_offsets: [0, 8] } }, new Uint8Array(8)))).toThrow(
      /'w'.*"shape"/,
    );
    expect(() => parseSafetensors(buildFile({ w: { dtype: 'F32', shape: [2] } }, new Uint8Array(8)))).toThrow(
      /'w'.*"data_offsets"/,
    );
    expect(() => parseSafetensors(buildFile({ w: 3 }, new Uint8Array(8)))).toThrow(/'w'.*must be an object/);
    expect(() => parseSafetensors(buildFile({ w: { ...ok, data_offsets: '0,8' } }, new Uint8Array(8)))).toThrow(
      /'w'.*data_offsets must be/,
    );
  });

  it('unknown dtype lists the allowed ones', () => {
    const e = catchError(() => parseSafetensors(buildFile({ w: { ...ok, dtype: 'F8_E4M3' } }, new Uint8Array(8)), 'f'));
    expect(e.message).toMatch(/'w'.*unknown dtype "F8_E4M3".*F64, F32, F16, BF16/);
  });

  it('negative or non-integer shape entries', () => {
    expect(() => parseSafetensors(buildFile({ w: { ...ok, shape: [-2] } }, new Uint8Array(8)))).toThrow(
      /'w'.*non-negative integers; got \[-2\]/,
    );
    expect(() => parseSafetensors(buildFile({ w: { ...ok, shape: [1.5] } }, new Uint8Array(8)))).toThrow(
      /'w'.*non-negative integers/,
    );
  });

  it('data_offsets out of range of the data section', () => {
    const e = catchError(() =>
      parseSafetensors(buildFile({ w: { ...ok, data_offsets: [4, 12] } }, new Uint8Array(8)), 'f'),
    );
    expect(e.message).toMatch(/'w'.*\[4, 12\] out of range.*<= 8/);
    expect(() => parseSafetensors(buildFile({ w: { ...ok, data_offsets: [8, 0] } }, new Uint8Array(8)))).toThrow(
      /'w'.*out of range/,
    );
  });

  it('byte length different from product(shape) * dtype size', () => {
    const e = catchError(() =>
      parseSafetensors(buildFile({ w: { dtype: 'F16', shape: [3, 2], data_offsets: [0, 8] } }, new Uint8Array(8))),
    );
    expect(e.message).toMatch(/'w'.*F16 \[3,2\] needs 12 bytes.*give 8/);
  });

  it('overlapping tensor ranges', () => {
    const header = {
      a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] },
      b: { dtype: 'F32', shape: [2], data_offsets: [4, 12] },
    };
    const e = catchError(() => parseSafetensors(buildFile(header, new Uint8Array(12))));
    expect(e.message).toMatch(/'b'.*overlap tensor 'a'/);
    expect(e.tensorName).toBe('b');
  });

  it('__metadata__ that is not string to string', () => {
    expect(() => parseSafetensors(buildFile({ __metadata__: { n: 3 } }, new Uint8Array(0)))).toThrow(
      /__metadata__\['n'\] must be a string/,
    );
    expect(() => parseSafetensors(buildFile({ __metadata__: 'pt' }, new Uint8Array(0)))).toThrow(
      /__metadata__ must be an object/,
    );
  });

  it('accepts a header padded with spaces and an unpadded, unaligned data section', () => {
    const data = new Uint8Array(new Float32Array([1, 2]).buffer);
    expect(parseSafetensors(buildFile({ w: ok }, data, 5)).tensors.get('w')!.shape).toEqual([2]);
    expect(Array.from(toFloat32(parseSafetensors(buildFile({ w: ok }, data, 1)).tensors.get('w')!, 'w'))).toEqual([
      1, 2,
    ]);
  });
});

// The oracle fixtures are committed at <repo>/fixtures/oracle, so resolve them from this file (any checkout path) and
// let a missing file fail the test instead of skipping it: its absence means a broken checkout.
const ORACLE_DIR = fileURLToPath(new URL('../../../fixtures/oracle/', import.meta.url));
const fixture = join(ORACLE_DIR, 'case1_dcformer_lgll/model.safetensors');

describe('real checkpoint (oracle case1_dcformer_lgll)', () => {
  it('parses the official-layout file', () => {
    const parsed = parseSafetensors(new Uint8Array(readFileSync(fixture)), fixture);
    expect(parsed.metadata.format).toBe('pt');
    const emb = parsed.tensors.get('tok_embeddings.weight')!;
    expect(emb.dtype).toBe('F32');
    expect(emb.shape).toEqual([128, 64]);
    const values = toFloat32(emb, 'tok_embeddings.weight', fixture);
    expect(values[0]).toBeCloseTo(-0.008696985431015491, 7);
    expect(values[2]).toBeCloseTo(0.2638053894042969, 7);
    expect(parsed.tensors.get('layers.0.attention.dyn_w_proj.dw1')!.shape).toEqual([64, 1, 4, 16]);
  });
});
