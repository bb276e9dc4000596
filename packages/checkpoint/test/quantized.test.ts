// Raw (integer) safetensors for quantised checkpoints: written, read back byte for byte, refused on a
// dtype or shape other than expected; the float reader leaves the integer tensors out and reads the rest.
// Also the streaming writer, reads into caller buffers, and sliced float reads (sinks) for packing loads.
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { CheckpointError } from '../src/errors.js';
import { SINK_SLICE_BYTES, readCheckpointWeights } from '../src/files.js';
import {
  readRawTensors,
  serializeRawSafetensors,
  writeRawSafetensors,
  writeRawSafetensorsStreaming,
} from '../src/quantized.js';

const dir = await mkdtemp(join(tmpdir(), 'dcf-quantized-'));
afterAll(() => rm(dir, { recursive: true, force: true }));

it('I8 / U8 / F32 tensors round-trip; the float reader skips the integer ones', async () => {
  const q = Uint8Array.from({ length: 12 }, (_, i) => (i * 37) & 0xff);
  const scales = Float32Array.from([0.5, -0.25]);
  await writeRawSafetensors(
    dir,
    new Map([
      ['a.qweight', { dtype: 'I8' as const, shape: [2, 6], bytes: q }],
      ['b.qweight', { dtype: 'U8' as const, shape: [3, 4], bytes: q }],
      ['a.scales', { dtype: 'F32' as const, shape: [2, 1], bytes: new Uint8Array(scales.buffer) }],
    ]),
  );
  const raw = await readRawTensors(
    join(dir, 'model.safetensors'),
    new Map([
      ['a.qweight', { dtype: 'I8' as const, shape: [2, 6] }],
      ['b.qweight', { dtype: 'U8' as const, shape: [3, 4] }],
    ]),
  );
  expect([...(raw.get('a.qweight') as Uint8Array)]).toEqual([...q]);
  expect([...(raw.get('b.qweight') as Uint8Array)]).toEqual([...q]);
  const floats = await readCheckpointWeights(dir);
  expect([...floats.keys()]).toEqual(['a.scales']);
  expect([...(floats.get('a.scales')?.data ?? [])]).toEqual([0.5, -0.25]);
  expect(floats.skipped.map((s) => s.name).sort()).toEqual(['a.qweight', 'b.qweight']);
  await expect(
    readRawTensors(join(dir, 'model.safetensors'), new Map([['a.qweight', { dtype: 'U8' as const, shape: [2, 6] }]])),
  ).rejects.toThrow(CheckpointError);
  await expect(
    readRawTensors(join(dir, 'model.safetensors'), new Map([['b.qweight', { dtype: 'U8' as const, shape: [4, 3] }]])),
  ).rejects.toThrow(/must be U8 \[4,3\]; found U8 \[3,4\]/);
  await expect(
    readRawTensors(join(dir, 'model.safetensors'), new Map([['c.qweight', { dtype: 'U8' as const, shape: [1] }]])),
  ).rejects.toThrow(/missing tensor 'c.qweight'/);
});

it('a byte count that does not match the shape is refused when writing', async () => {
  await expect(
    writeRawSafetensors(dir, new Map([['x', { dtype: 'I8' as const, shape: [3], bytes: new Uint8Array(2) }]])),
  ).rejects.toThrow(/must have 3 bytes; got 2/);
});

it('the streaming writer writes the same file as the in-memory one, from pieces; a short tensor leaves no file', async () => {
  const q = Uint8Array.from({ length: 12 }, (_, i) => (i * 37) & 0xff);
  const scales = new Uint8Array(Float32Array.from([0.5, -0.25]).buffer);
  const tensors = new Map([
    ['b.qweight', { dtype: 'U8' as const, shape: [3, 4], bytes: q }],
    ['a.qweight', { dtype: 'I8' as const, shape: [2, 6], bytes: q }],
    ['a.scales', { dtype: 'F32' as const, shape: [2, 1], bytes: scales }],
  ]);
  const streamed = join(dir, 'streamed');
  const asked: string[] = [];
  await writeRawSafetensorsStreaming(streamed, tensors, function* (name) {
    asked.push(name);
    const bytes = tensors.get(name)!.bytes;
    yield bytes.subarray(0, 5); // in two pieces
    yield bytes.subarray(5);
  });
  expect(asked).toEqual(['a.qweight', 'a.scales', 'b.qweight']); // file order: names sorted
  const whole = serializeRawSafetensors(tensors, { format: 'pt' });
  expect(new Uint8Array(await readFile(join(streamed, 'model.safetensors')))).toEqual(whole);

  const bad = join(dir, 'bad');
  await expect(
    writeRawSafetensorsStreaming(bad, tensors, function* (name) {
      yield tensors.get(name)!.bytes.subarray(1);
    }),
  ).rejects.toThrow(/tensor 'a.qweight' \(I8 \[2,6\]\) must have 12 bytes; got 11/);
  await expect(
    writeRawSafetensorsStreaming(bad, tensors, function* (name) {
      yield tensors.get(name)!.bytes;
      yield new Uint8Array(1);
    }),
  ).rejects.toThrow(/must have 12 bytes; got more than 12/);
  expect(await readdir(bad)).toEqual([]);
});

it('readRawTensors reads into the buffers alloc gives (after the dtype and shape checks)', async () => {
  const q = Uint8Array.from({ length: 8 }, (_, i) => 200 - i);
  await writeRawSafetensors(
    join(dir, 'alloc'),
    new Map([['w.qweight', { dtype: 'I8' as const, shape: [2, 4], bytes: q }]]),
  );
  const path = join(dir, 'alloc', 'model.safetensors');
  const words = new Int32Array(2);
  const raw = await readRawTensors(
    path,
    new Map([['w.qweight', { dtype: 'I8' as const, shape: [2, 4] }]]),
    (name, n) => {
      expect([name, n]).toEqual(['w.qweight', 8]);
      return new Uint8Array(words.buffer);
    },
  );
  expect(raw.get('w.qweight')?.buffer).toBe(words.buffer);
  expect([...new Uint8Array(words.buffer)]).toEqual([...q]);
  let called = false;
  await expect(
    readRawTensors(path, new Map([['w.qweight', { dtype: 'U8' as const, shape: [2, 4] }]]), () => {
      called = true;
      return new Uint8Array(8);
    }),
  ).rejects.toThrow(/must be U8/);
  expect(called).toBe(false);
  await expect(
    readRawTensors(path, new Map([['w.qweight', { dtype: 'I8' as const, shape: [2, 4] }]]), () => {
      throw new RangeError('Array buffer allocation failed');
    }),
  ).rejects.toThrow(/cannot allocate 8 bytes for tensor 'w.qweight' \(Array buffer allocation failed\)/);
});

it('a safetensors sink sees BF16 rows as float32 slices, never the whole tensor', async () => {
  const [R, C] = [4097, 1024]; // SINK_SLICE_BYTES / 4 / 1024 = 4096 rows per slice: two slices
  const bits = new Uint16Array(R * C);
  for (let i = 0; i < bits.length; i++) bits[i] = 0xbc00 + ((i * 2654435761) >>> 21);
  const expected = new Float32Array(new Uint32Array(Array.from(bits, (b) => b << 16)).buffer);
  await writeRawSafetensors(
    join(dir, 'sink'),
    new Map([
      ['w', { dtype: 'BF16' as const, shape: [R, C], bytes: new Uint8Array(bits.buffer) }],
      ['n', { dtype: 'F32' as const, shape: [2], bytes: new Uint8Array(Float32Array.from([1, 2]).buffer) }],
    ]),
  );
  const got = new Float32Array(R * C);
  const slices: Array<[number, number]> = [];
  const weights = await readCheckpointWeights(join(dir, 'sink'), {
    sink: (name, shape, dtype, file) =>
      name !== 'w'
        ? undefined
        : {
            write: (offset, slice) => {
              slices.push([offset, slice.length]);
              got.set(slice, offset);
            },
            finish: () => ({ shape: [...shape], data: new Float32Array(0), dtype, file }),
          },
  });
  expect(slices).toEqual([
    [0, SINK_SLICE_BYTES / 4],
    [SINK_SLICE_BYTES / 4, C],
  ]);
  expect(got.every((v, i) => v === expected[i])).toBe(true);
  expect(weights.get('w')).toMatchObject({ shape: [R, C], dtype: 'BF16' });
  expect([...(weights.get('n')?.data ?? [])]).toEqual([1, 2]); // no sink: read whole as before
});
