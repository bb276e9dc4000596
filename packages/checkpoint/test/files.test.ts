import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { CheckpointError } from '../src/errors.js';
import { readSafetensorsWeights, writeFileAtomic, writeSafetensorsWeights } from '../src/files.js';
import { parseSafetensors, serializeSafetensors, type TensorToWrite } from '../src/safetensors.js';

const scratch: string[] = [];
async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'dcformer-ckpt-'));
  scratch.push(dir);
  return dir;
}
afterEach(async () => {
  await Promise.all(scratch.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});

function t(shape: number[], values: number[]): TensorToWrite {
  return { shape, data: new Float32Array(values) };
}

async function expectCheckpointError(promise: Promise<unknown>, pattern: RegExp): Promise<CheckpointError> {
  const e = await promise.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(CheckpointError.isInstance(e)).toBe(true);
  expect((e as Error).message).toMatch(pattern);
  return e as CheckpointError;
}

/** A two-shard checkpoint: a.* in shard 1, b.* in shard 2, with an index matching `weightMap`. */
async function writeSharded(dir: string, weightMap: Record<string, string>, skipShard2 = false): Promise<void> {
  await writeFile(
    join(dir, 'model-00001-of-00002.safetensors'),
    serializeSafetensors({ 'a.w': t([2], [1, 2]), 'a.v': t([1], [3]) }),
  );
  if (!skipShard2) {
    await writeFile(join(dir, 'model-00002-of-00002.safetensors'), serializeSafetensors({ 'b.w': t([2, 1], [4, 5]) }));
  }
  const index = { metadata: { total_size: 20 }, weight_map: weightMap };
  await writeFile(join(dir, 'model.safetensors.index.json'), JSON.stringify(index));
}

const GOOD_MAP = {
  'a.w': 'model-00001-of-00002.safetensors',
  'a.v': 'model-00001-of-00002.safetensors',
  'b.w': 'model-00002-of-00002.safetensors',
};

describe('writeSafetensorsWeights / readSafetensorsWeights', () => {
  it('round-trips a single model.safetensors, creating the directory and adding format metadata', async () => {
    const dir = join(await tempDir(), 'nested', 'ckpt');
    await writeSafetensorsWeights(dir, new Map([['x', t([2, 2], [1, 2, 3, 4])]]), { note: 'hi' });
    expect(await readdir(dir)).toEqual(['model.safetensors']);
    const parsed = parseSafetensors(new Uint8Array(await readFile(join(dir, 'model.safetensors'))));
    expect(parsed.metadata).toEqual({ format: 'pt', note: 'hi' });

    const loaded = await readSafetensorsWeights(dir);
    const x = loaded.get('x')!;
    expect(x.shape).toEqual([2, 2]);
    expect(x.dtype).toBe('F32');
    expect(x.file).toBe(join(dir, 'model.safetensors'));
    expect(Array.from(x.data)).toEqual([1, 2, 3, 4]);
  });

  it('reads a sharded checkpoint through its index', async () => {
    const dir = await tempDir();
    await writeSharded(dir, GOOD_MAP);
    const loaded = await readSafetensorsWeights(dir);
    expect([...loaded.keys()].sort()).toEqual(['a.v', 'a.w', 'b.w']);
    expect(Array.from(loaded.get('b.w')!.data)).toEqual([4, 5]);
    expect(loaded.get('b.w')!.shape).toEqual([2, 1]);
    expect(loaded.get('b.w')!.file).toBe(join(dir, 'model-00002-of-00002.safetensors'));
  });

  it('refuses an index naming a missing shard', async () => {
    const dir = await tempDir();
    await writeSharded(dir, GOOD_MAP, true);
    const e = await expectCheckpointError(
      readSafetensorsWeights(dir),
      /model-00002-of-00002\.safetensors.*does not exist/,
    );
    expect(e.tensorName).toBe('b.w');
  });

  it('refuses a tensor stored in a different shard than the index says', async () => {
    const dir = await tempDir();
    await writeSharded(dir, { ...GOOD_MAP, 'a.v': 'model-00002-of-00002.safetensors' });
    const e = await expectCheckpointError(
      readSafetensorsWeights(dir),
      /'a\.v' found in model-00001.*places it in model-00002/,
    );
    expect(e.tensorName).toBe('a.v');
  });

  it('refuses a tensor the index lists but its shard lacks, and one the index omits', async () => {
    const dir = await tempDir();
    await writeSharded(dir, { ...GOOD_MAP, 'b.extra': 'model-00002-of-00002.safetensors' });
    await expectCheckpointError(readSafetensorsWeights(dir), /'b\.extra' in model-00002.*does not contain it/);
    const { 'a.v': _omitted, ...rest } = GOOD_MAP;
    await writeSharded(dir, rest);
    await expectCheckpointError(readSafetensorsWeights(dir), /'a\.v' found in model-00001.*does not list it/);
  });

  it('refuses the same tensor name in two shards', async () => {
    const dir = await tempDir();
    await writeSharded(dir, GOOD_MAP);
    await writeFile(
      join(dir, 'model-00002-of-00002.safetensors'),
      serializeSafetensors({ 'b.w': t([2, 1], [4, 5]), 'a.w': t([2], [1, 2]) }),
    );
    // The index can map a name to one shard only, so the duplicate first shows up as "wrong shard".
    await expectCheckpointError(readSafetensorsWeights(dir), /'a\.w'.*(appears in both|places it in)/);
  });

  it('refuses shard names that leave the checkpoint directory', async () => {
    const dir = await tempDir();
    await writeSharded(dir, { ...GOOD_MAP, 'b.w': '../model-00002-of-00002.safetensors' });
    await expectCheckpointError(readSafetensorsWeights(dir), /plain file name/);
  });

  it('lists what the directory holds when there are no safetensors weights, pointing PyTorch files to readCheckpointWeights', async () => {
    const dir = await tempDir();
    await writeFile(join(dir, 'pytorch_model.bin'), 'x');
    await writeFile(join(dir, 'config.json'), '{}');
    const e = await expectCheckpointError(
      readSafetensorsWeights(dir),
      /found config\.json, pytorch_model\.bin; pytorch_model\.bin \(PyTorch format\) is read by readCheckpointWeights/,
    );
    expect(e.file).toBe(dir);
    await expectCheckpointError(readSafetensorsWeights(join(dir, 'absent')), /cannot be read/);
  });

  it('reports corruption with the file path', async () => {
    const dir = await tempDir();
    const bytes = serializeSafetensors({ w: t([4], [1, 2, 3, 4]) });
    await writeFile(join(dir, 'model.safetensors'), bytes.subarray(0, bytes.length - 4));
    const e = await expectCheckpointError(readSafetensorsWeights(dir), /model\.safetensors, tensor 'w'.*out of range/);
    expect(e.file).toBe(join(dir, 'model.safetensors'));
  });
});

describe('writeFileAtomic', () => {
  it('replaces the target and leaves no temporary files', async () => {
    const dir = await tempDir();
    const target = join(dir, 'out.bin');
    await writeFile(target, 'old contents that are longer');
    await writeFileAtomic(target, new Uint8Array([1, 2, 3]));
    expect(Array.from(await readFile(target))).toEqual([1, 2, 3]);
    await writeFileAtomic(target, 'text');
    expect(await readFile(target, 'utf8')).toBe('text');
    expect(await readdir(dir)).toEqual(['out.bin']);
  });

  it('throws and creates nothing when the directory does not exist', async () => {
    const dir = await tempDir();
    const target = join(dir, 'missing', 'out.bin');
    await expect(writeFileAtomic(target, 'x')).rejects.toThrow(/ENOENT/);
    expect(existsSync(dirname(target))).toBe(false);
    expect(await readdir(dir)).toEqual([]);
  });

  it('removes its temporary file and keeps the target intact when the rename fails', async () => {
    const dir = await tempDir();
    const target = join(dir, 'occupied');
    await mkdir(target);
    await writeFile(join(target, 'keep'), 'k');
    await expect(writeFileAtomic(target, 'new')).rejects.toThrow();
    expect((await readdir(dir)).sort()).toEqual(['occupied']);
    expect(await readFile(join(target, 'keep'), 'utf8')).toBe('k');
  });
});

// The oracle fixtures are committed at <repo>/fixtures/oracle, so resolve them from this file (any checkout path) and
// let a missing file fail the test instead of skipping it: its absence means a broken checkout.
const ORACLE_DIR = fileURLToPath(new URL('../../../fixtures/oracle/', import.meta.url));
const fixtureDir = join(ORACLE_DIR, 'case1_dcformer_lgll');

describe('real checkpoint directory', () => {
  it('loads every tensor of oracle case1 as float32, bit for bit', async () => {
    const loaded = await readSafetensorsWeights(fixtureDir);
    // The expectation is read here by hand from the file's own header and bytes (little-endian F32),
    // not by the parser under test: 8-byte header length, JSON header, then the data section.
    const file = await readFile(join(fixtureDir, 'model.safetensors'));
    const headerLength = Number(file.readBigUInt64LE(0));
    const header = JSON.parse(file.subarray(8, 8 + headerLength).toString('utf8')) as Record<
      string,
      { dtype: string; shape: number[]; data_offsets: [number, number] }
    >;
    const names = Object.keys(header).filter((n) => n !== '__metadata__');
    expect(names.length).toBe(71);
    expect([...loaded.keys()].sort()).toEqual([...names].sort());
    for (const name of names) {
      const {
        dtype,
        shape,
        data_offsets: [begin, end],
      } = header[name];
      expect(dtype, name).toBe('F32');
      const got = loaded.get(name)!;
      expect(got.shape, name).toEqual(shape);
      const bytes = file.subarray(8 + headerLength + begin, 8 + headerLength + end);
      expect(got.data.length, name).toBe(bytes.length / 4);
      let mismatches = 0;
      for (let i = 0; i < got.data.length; i++) if (!Object.is(got.data[i], bytes.readFloatLE(4 * i))) mismatches++;
      expect(mismatches, name).toBe(0);
    }
    expect(loaded.get('tok_embeddings.weight')!.shape).toEqual([128, 64]);
    expect(loaded.get('layers.0.attention.dyn_w_proj.dw1')!.shape).toEqual([64, 1, 4, 16]);
    expect(loaded.get('tok_embeddings.weight')!.data[1]).toBeCloseTo(-0.17264793813228607, 7);
  });
});
