// Raw (integer) safetensors for quantised checkpoints: written, read back byte for byte, refused on a
// dtype or shape other than expected; the float reader leaves the integer tensors out and reads the rest.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { CheckpointError } from '../src/errors.js';
import { readCheckpointWeights } from '../src/files.js';
import { readRawTensors, writeRawSafetensors } from '../src/quantized.js';

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
