import { copyFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { CheckpointError } from '../src/errors.js';
import { SINK_SLICE_BYTES, readCheckpointWeights, readSafetensorsWeights } from '../src/files.js';
import { serializeSafetensors, toFloat32, type RawTensor } from '../src/safetensors.js';
import { openTorchCheckpoint, readTorchStateDict } from '../src/torch-bin.js';
import { buildStoredZip } from '../src/zip.js';

// ---- building torch.save-shaped checkpoints by hand ----

function pickle(...parts: Array<number | string | Uint8Array>): Uint8Array {
  const out: number[] = [];
  for (const p of parts) {
    if (typeof p === 'number') out.push(p);
    else if (typeof p === 'string') for (const c of p) out.push(c.charCodeAt(0));
    else out.push(...p);
  }
  return new Uint8Array(out);
}
const str = (s: string): Uint8Array => pickle(0x58, new Uint8Array(new Uint32Array([s.length]).buffer), s);
const int = (n: number): Uint8Array => pickle(0x4a, new Uint8Array(new Int32Array([n]).buffer));
const global = (module: string, name: string): Uint8Array => pickle(0x63, `${module}\n${name}\n`);
const [MARK, TUPLE, REDUCE, STOP, BINPERSID, SETITEMS, EMPTY_TUPLE, NEWFALSE] = [
  0x28, 0x74, 0x52, 0x2e, 0x51, 0x75, 0x29, 0x89,
];
const ORDERED_DICT = pickle(global('collections', 'OrderedDict'), EMPTY_TUPLE, REDUCE);

interface Spec {
  cls: string;
  key: string;
  numel: number;
  shape: number[];
  offset?: number;
  stride?: number[];
  /** Wrap in torch._utils._rebuild_parameter, as nn.Parameter values are saved. */
  param?: boolean;
}

function contiguousStride(shape: number[]): number[] {
  return shape.map((_, i) => shape.slice(i + 1).reduce((a, b) => a * b, 1));
}

/** The pickle torch.save writes for an OrderedDict of tensors (protocol 2, without memoization). */
function statePickle(specs: Record<string, Spec>): Uint8Array {
  const items = Object.entries(specs).map(([name, s]) => {
    const rebuild = pickle(
      global('torch._utils', '_rebuild_tensor_v2'),
      MARK,
      MARK,
      str('storage'),
      global('torch', s.cls),
      str(s.key),
      str('cpu'),
      int(s.numel),
      TUPLE,
      BINPERSID,
      int(s.offset ?? 0),
      MARK,
      ...s.shape.map(int),
      TUPLE,
      MARK,
      ...(s.stride ?? contiguousStride(s.shape)).map(int),
      TUPLE,
      NEWFALSE,
      ORDERED_DICT,
      TUPLE,
      REDUCE,
    );
    const value = s.param
      ? pickle(global('torch._utils', '_rebuild_parameter'), MARK, rebuild, NEWFALSE, ORDERED_DICT, TUPLE, REDUCE)
      : rebuild;
    return pickle(str(name), value);
  });
  return pickle(0x80, 2, ORDERED_DICT, MARK, ...items, SETITEMS, STOP);
}

function torchZip(
  pkl: Uint8Array,
  storages: Record<string, Uint8Array>,
  options: { folder?: string; zip64?: boolean } = {},
): Uint8Array {
  const folder = options.folder ?? 'archive';
  return buildStoredZip(
    [
      [`${folder}/data.pkl`, pkl],
      ...Object.entries(storages).map(([k, b]): [string, Uint8Array] => [`${folder}/data/${k}`, b]),
      [`${folder}/version`, pickle('3\n')],
    ],
    { zip64: options.zip64 },
  );
}

const f32 = (values: number[]): Uint8Array => new Uint8Array(new Float32Array(values).buffer);
const u16 = (values: number[]): Uint8Array => new Uint8Array(new Uint16Array(values).buffer);
const i64 = (values: number[]): Uint8Array => new Uint8Array(new BigInt64Array(values.map(BigInt)).buffer);
const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i);
const floats = (t: RawTensor): number[] => Array.from(toFloat32(t, 'test'));

/** Storage '0': 0..23 as float32, viewed many ways; '1' half, '2' bfloat16, '3' int64, '4' bool. */
const SPECS: Record<string, Spec> = {
  plain: { cls: 'FloatStorage', key: '0', numel: 24, shape: [2, 3] },
  transposed: { cls: 'FloatStorage', key: '0', numel: 24, shape: [3, 2], stride: [1, 3] },
  permuted: { cls: 'FloatStorage', key: '0', numel: 24, offset: 1, shape: [2, 2, 3], stride: [1, 12, 4] },
  everyOther: { cls: 'FloatStorage', key: '0', numel: 24, offset: 10, shape: [2, 3], stride: [6, 2] },
  tail: { cls: 'FloatStorage', key: '0', numel: 24, offset: 20, shape: [2, 2], param: true },
  scalar: { cls: 'FloatStorage', key: '0', numel: 24, offset: 7, shape: [], stride: [] },
  empty: { cls: 'FloatStorage', key: '0', numel: 24, offset: 24, shape: [0, 5] },
  half: { cls: 'HalfStorage', key: '1', numel: 3, shape: [3] },
  bf16: { cls: 'BFloat16Storage', key: '2', numel: 2, shape: [1, 2], param: true },
  step: { cls: 'LongStorage', key: '3', numel: 1, shape: [] },
  mask: { cls: 'BoolStorage', key: '4', numel: 3, shape: [3] },
};
const STORAGES = {
  '0': f32(range(24)),
  '1': u16([0x3c00, 0xc000, 0x3800]),
  '2': u16([0x3f80, 0xc040]),
  '3': i64([12345]),
  '4': new Uint8Array([1, 0, 1]),
};
const EXPECTED: Record<string, number[]> = {
  plain: [0, 1, 2, 3, 4, 5],
  transposed: [0, 3, 1, 4, 2, 5],
  permuted: [1, 5, 9, 13, 17, 21, 2, 6, 10, 14, 18, 22],
  everyOther: [10, 12, 14, 16, 18, 20],
  tail: [20, 21, 22, 23],
  scalar: [7],
  empty: [],
  half: [1, -2, 0.5],
  bf16: [1, -3],
};

// ---- helpers ----

const scratch: string[] = [];
async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'dcformer-torch-'));
  scratch.push(dir);
  return dir;
}
afterEach(async () => {
  await Promise.all(scratch.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});

async function expectCheckpointError(promise: Promise<unknown>, pattern: RegExp): Promise<CheckpointError> {
  const e = await promise.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(CheckpointError.isInstance(e)).toBe(true);
  expect((e as Error).message).toMatch(pattern);
  return e as CheckpointError;
}

/** Round-to-nearest-even to IEEE binary16 (no overflow handling: weights are small). */
function roundToF16(x: number): number {
  if (x === 0 || !Number.isFinite(x)) return x;
  const a = Math.abs(x);
  let e = Math.floor(Math.log2(a));
  if (2 ** e > a) e--;
  if (2 ** (e + 1) <= a) e++;
  const quantum = 2 ** (Math.max(e, -14) - 10);
  const q = a / quantum;
  let r = Math.floor(q);
  if (q - r > 0.5 || (q - r === 0.5 && r % 2 === 1)) r++;
  return Math.sign(x) * r * quantum;
}

// ---- tests ----

describe('readTorchStateDict on hand-made checkpoints', () => {
  const bytes = torchZip(statePickle(SPECS), STORAGES);

  it('materialises shared, offset, strided, scalar and empty views of one storage', async () => {
    const tensors = await readTorchStateDict(bytes);
    expect([...tensors.keys()]).toEqual(Object.keys(SPECS));
    for (const [name, values] of Object.entries(EXPECTED)) {
      const t = tensors.get(name)!;
      expect(t.shape, name).toEqual(SPECS[name].shape);
      expect(floats(t), name).toEqual(values);
    }
    expect(tensors.get('half')!.dtype).toBe('F16');
    expect(tensors.get('bf16')!.dtype).toBe('BF16');
    expect(tensors.get('step')).toEqual({ dtype: 'I64', shape: [], bytes: i64([12345]) });
    expect(tensors.get('mask')).toEqual({ dtype: 'BOOL', shape: [3], bytes: new Uint8Array([1, 0, 1]) });
  });

  it('describes tensors before reading them, and reads the same from a file path', async () => {
    const dir = await tempDir();
    const path = join(dir, 'pytorch_model.bin');
    await writeFile(path, bytes);
    const checkpoint = await openTorchCheckpoint(path);
    expect(checkpoint.tensors.get('transposed')).toEqual({
      dtype: 'F32',
      shape: [3, 2],
      stride: [1, 3],
      storageOffset: 0,
      storageKey: '0',
    });
    expect(floats(await checkpoint.read('permuted'))).toEqual(EXPECTED.permuted);
    await expectCheckpointError(checkpoint.read('absent'), /tensor 'absent': no such tensor/);
    await checkpoint.close();
    const fromFile = await readTorchStateDict(path);
    const fromMemory = await readTorchStateDict(bytes);
    for (const [name, t] of fromMemory) expect(fromFile.get(name), name).toEqual(t);
  });

  it('accepts any archive folder name and ZIP64 records', async () => {
    const other = await readTorchStateDict(torchZip(statePickle(SPECS), STORAGES, { folder: 'my model', zip64: true }));
    expect(floats(other.get('transposed')!)).toEqual(EXPECTED.transposed);
  });

  it('refuses a malicious pickle inside the archive, naming the global', async () => {
    const evil = pickle(0x80, 2, global('os', 'system'), str('echo pwned'), 0x85, REDUCE, STOP);
    await expectCheckpointError(
      readTorchStateDict(torchZip(evil, {}), { label: 'evil.bin' }),
      /evil\.bin: refused global os\.system/,
    );
  });

  it('refuses the legacy formats with a re-save hint, and non-checkpoints', async () => {
    const legacyPickle = new Uint8Array([
      0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19, 0x2e,
    ]);
    await expectCheckpointError(
      readTorchStateDict(legacyPickle),
      /legacy torch\.save format; re-save with torch>=1\.6/,
    );
    const tar = new Uint8Array(1024);
    tar.set(new TextEncoder().encode('ustar'), 257);
    await expectCheckpointError(readTorchStateDict(tar), /legacy torch\.save format/);
    await expectCheckpointError(
      readTorchStateDict(serializeSafetensors({})),
      /not a PyTorch checkpoint: expected a zip archive, file starts with/,
    );
  });

  it('checks storages against their archive entries, naming the tensor', async () => {
    const { '1': _dropped, ...missingHalf } = STORAGES;
    let e = await expectCheckpointError(
      readTorchStateDict(torchZip(statePickle(SPECS), missingHalf)),
      /tensor 'half': its storage '1' has no archive entry 'archive\/data\/1'/,
    );
    expect(e.tensorName).toBe('half');
    e = await expectCheckpointError(
      readTorchStateDict(torchZip(statePickle(SPECS), { ...STORAGES, '0': f32(range(23)) })),
      /tensor 'plain': storage '0' holds 24 F32 elements \(96 bytes\) but 'archive\/data\/0' has 92 bytes/,
    );
    expect(e.tensorName).toBe('plain');
  });

  it('refuses archives that are not a flat state dict', async () => {
    const twoPickles = buildStoredZip([
      ['a/data.pkl', statePickle({})],
      ['b/data.pkl', statePickle({})],
    ]);
    await expectCheckpointError(
      readTorchStateDict(twoPickles),
      /expected exactly one '<archive>\/data\.pkl' entry.*found 2/,
    );
    const nested = pickle(0x80, 2, 0x7d, str('model'), ORDERED_DICT, 0x73, STOP);
    await expectCheckpointError(
      readTorchStateDict(torchZip(nested, {})),
      /entry 'model' is a nested dict.*training checkpoint/,
    );
    const deflated = torchZip(statePickle(SPECS), STORAGES);
    const view = new DataView(deflated.buffer);
    for (let i = deflated.length - 22; i >= 0; i--) {
      if (view.getUint32(i, true) === 0x02014b50) view.setUint16(i + 10, 8, true); // every entry: deflate
    }
    await expectCheckpointError(
      readTorchStateDict(deflated),
      /entry 'archive\/data\.pkl' uses compression method 8 \(deflate\)/,
    );
  });
});

describe('readCheckpointWeights with PyTorch files', () => {
  it('reads pytorch_model.bin as float32, listing non-float buffers as skipped', async () => {
    const dir = await tempDir();
    await writeFile(join(dir, 'pytorch_model.bin'), torchZip(statePickle(SPECS), STORAGES));
    const weights = await readCheckpointWeights(dir);
    expect(weights.format).toBe('pytorch');
    expect([...weights.keys()]).toEqual(Object.keys(EXPECTED));
    for (const [name, values] of Object.entries(EXPECTED))
      expect(Array.from(weights.get(name)!.data), name).toEqual(values);
    expect(weights.get('half')).toMatchObject({ dtype: 'F16', shape: [3], file: join(dir, 'pytorch_model.bin') });
    expect(weights.skipped).toEqual([
      { name: 'step', dtype: 'I64', shape: [], file: join(dir, 'pytorch_model.bin') },
      { name: 'mask', dtype: 'BOOL', shape: [3], file: join(dir, 'pytorch_model.bin') },
    ]);
  });

  it('a sink gets every float tensor in slices of whole rows, strided views included, equal to the float32 read', async () => {
    const dir = await tempDir();
    // 2049 rows of 2048 bf16: more than one sink slice (SINK_SLICE_BYTES / 4 / 2048 = 2048 rows)
    const [R, C] = [2049, 2048];
    const bits = new Uint16Array(R * C);
    for (let i = 0; i < bits.length; i++) bits[i] = 0x3c00 + ((i * 2654435761) >>> 20); // positive normals
    const expectedBig = new Float32Array(new Uint32Array(Array.from(bits, (b) => b << 16)).buffer);
    const specs = { ...SPECS, big: { cls: 'BFloat16Storage', key: '5', numel: R * C, shape: [R, C] } };
    await writeFile(
      join(dir, 'pytorch_model.bin'),
      torchZip(statePickle(specs), { ...STORAGES, '5': new Uint8Array(bits.buffer) }),
    );
    const got = new Map<string, { offsets: number[]; lengths: number[]; values: number[] }>();
    let bigValues: Float32Array | null = null;
    const weights = await readCheckpointWeights(dir, {
      sink: (name, shape, dtype, file) => {
        const seen = { offsets: [] as number[], lengths: [] as number[], values: [] as number[] };
        got.set(name, seen);
        const whole = name === 'big' ? new Float32Array(R * C) : null;
        return {
          write(offset, slice) {
            seen.offsets.push(offset);
            seen.lengths.push(slice.length);
            if (whole !== null) whole.set(slice, offset);
            else seen.values.push(...slice);
          },
          finish: () => {
            if (whole !== null) bigValues = whole;
            return { shape: [...shape], data: new Float32Array(0), dtype, file };
          },
        };
      },
      transform: () => {
        throw new Error('transform must not see a tensor a sink took');
      },
    });
    for (const [name, values] of Object.entries(EXPECTED)) {
      expect(got.get(name)?.values, name).toEqual(values);
      expect(weights.get(name)?.data.length, name).toBe(0);
    }
    const big = got.get('big')!;
    expect(big.offsets).toEqual([0, SINK_SLICE_BYTES / 4]);
    expect(big.lengths).toEqual([SINK_SLICE_BYTES / 4, C]);
    expect(bigValues!.every((v, i) => v === expectedBig[i])).toBe(true);
    expect(weights.get('big')).toMatchObject({ dtype: 'BF16', shape: [R, C] });
  });

  it('prefers safetensors when both formats are present, and lists all four names when neither is', async () => {
    const dir = await tempDir();
    await writeFile(join(dir, 'pytorch_model.bin'), torchZip(statePickle(SPECS), STORAGES));
    await writeFile(
      join(dir, 'model.safetensors'),
      serializeSafetensors({ only: { shape: [1], data: new Float32Array([9]) } }),
    );
    const weights = await readCheckpointWeights(dir);
    expect(weights.format).toBe('safetensors');
    expect([...weights.keys()]).toEqual(['only']);
    const empty = await tempDir();
    await expectCheckpointError(
      readCheckpointWeights(empty),
      /no checkpoint weights in .*: expected model\.safetensors, model\.safetensors\.index\.json, pytorch_model\.bin or pytorch_model\.bin\.index\.json; found nothing/,
    );
  });

  /** Shard 1 holds a.w (float) and a.step (int64), shard 2 holds b.w. */
  async function writeShards(
    dir: string,
    weightMap: Record<string, string>,
    extraInShard2: Record<string, Spec> = {},
  ): Promise<void> {
    const a = {
      'a.w': { cls: 'FloatStorage', key: '0', numel: 2, shape: [2] },
      'a.step': { cls: 'LongStorage', key: '1', numel: 1, shape: [] },
    };
    await writeFile(
      join(dir, 'pytorch_model-00001-of-00002.bin'),
      torchZip(statePickle(a), { '0': f32([1, 2]), '1': i64([7]) }),
    );
    const b = { 'b.w': { cls: 'HalfStorage', key: '0', numel: 1, shape: [1, 1] }, ...extraInShard2 };
    await writeFile(
      join(dir, 'pytorch_model-00002-of-00002.bin'),
      torchZip(statePickle(b), { '0': u16([0x3c00]), '1': f32([1, 2]) }),
    );
    await writeFile(
      join(dir, 'pytorch_model.bin.index.json'),
      JSON.stringify({ metadata: { total_size: 18 }, weight_map: weightMap }),
    );
  }
  const MAP = {
    'a.w': 'pytorch_model-00001-of-00002.bin',
    'a.step': 'pytorch_model-00001-of-00002.bin',
    'b.w': 'pytorch_model-00002-of-00002.bin',
  };

  it('reads sharded .bin files through pytorch_model.bin.index.json', async () => {
    const dir = await tempDir();
    await writeShards(dir, MAP);
    const weights = await readCheckpointWeights(dir);
    expect([...weights.keys()].sort()).toEqual(['a.w', 'b.w']);
    expect(Array.from(weights.get('b.w')!.data)).toEqual([1]);
    expect(weights.skipped.map((s) => s.name)).toEqual(['a.step']);
  });

  it('applies the same index checks as for safetensors', async () => {
    const dir = await tempDir();
    await writeShards(dir, { ...MAP, 'b.w': '../pytorch_model-00002-of-00002.bin' });
    await expectCheckpointError(readCheckpointWeights(dir), /plain file name/);
    await writeShards(dir, { ...MAP, 'b.w': 'pytorch_model-00003-of-00003.bin' });
    await expectCheckpointError(readCheckpointWeights(dir), /pytorch_model-00003-of-00003\.bin.*does not exist/);
    await writeShards(dir, { ...MAP, 'a.step': 'pytorch_model-00002-of-00002.bin' });
    await expectCheckpointError(
      readCheckpointWeights(dir),
      /'a\.step' found in pytorch_model-00001.*places it in pytorch_model-00002/,
    );
    await writeShards(dir, { ...MAP, 'b.extra': 'pytorch_model-00002-of-00002.bin' });
    await expectCheckpointError(readCheckpointWeights(dir), /'b\.extra' in pytorch_model-00002.*does not contain it/);
    await writeShards(dir, MAP, { 'a.w': { cls: 'FloatStorage', key: '1', numel: 2, shape: [2] } });
    await expectCheckpointError(readCheckpointWeights(dir), /'a\.w'.*(appears in both|places it in)/);
  });
});

// The oracle fixtures are committed at <repo>/fixtures/oracle, so resolve them from this file (any checkout path) and
// let a missing file fail the test instead of skipping it: its absence means a broken checkout.
const ORACLE = fileURLToPath(new URL('../../../fixtures/oracle/', import.meta.url));

describe('the oracle PyTorch checkpoints', () => {
  it('case 1 torch_fp16: every tensor is the float16 rounding of model.safetensors', async () => {
    const reference = await readSafetensorsWeights(join(ORACLE, 'case1_dcformer_lgll'));
    const path = join(ORACLE, 'case1_dcformer_lgll/torch_fp16/pytorch_model.bin');
    const tensors = await readTorchStateDict(new Uint8Array(await readFile(path)), { label: path });
    expect([...tensors.keys()].sort()).toEqual([...reference.keys()].sort());
    for (const [name, t] of tensors) {
      const ref = reference.get(name)!;
      expect(t.dtype, name).toBe('F16');
      expect(t.shape, name).toEqual(ref.shape);
      const got = toFloat32(t, name);
      const mismatches = Array.from(ref.data).filter((x, i) => roundToF16(x) !== got[i]).length;
      expect(mismatches, name).toBe(0);
    }
  });

  it('case 1 torch_fp16 through readCheckpointWeights, as a model directory', async () => {
    const dir = join(ORACLE, 'case1_dcformer_lgll/torch_fp16');
    const weights = await readCheckpointWeights(dir);
    expect(weights.format).toBe('pytorch');
    expect(weights.size).toBe(71);
    expect(weights.skipped).toEqual([]);
    expect(weights.get('tok_embeddings.weight')).toMatchObject({
      shape: [128, 64],
      dtype: 'F16',
      file: join(dir, 'pytorch_model.bin'),
    });
  });

  it('case 4 torch_sharded: tensors bit-identical to model.safetensors', async () => {
    const reference = await readSafetensorsWeights(join(ORACLE, 'case4_dcpythia'));
    // Copy into a temporary directory to also check that nothing outside the index is needed.
    const dir = await tempDir();
    for (const f of [
      'pytorch_model-00001-of-00002.bin',
      'pytorch_model-00002-of-00002.bin',
      'pytorch_model.bin.index.json',
    ]) {
      await copyFile(join(ORACLE, 'case4_dcpythia/torch_sharded', f), join(dir, f));
    }
    const weights = await readCheckpointWeights(dir);
    expect([...weights.keys()].sort()).toEqual([...reference.keys()].sort());
    for (const [name, t] of weights) {
      const ref = reference.get(name)!;
      expect(t.dtype, name).toBe('F32');
      expect(t.shape, name).toEqual(ref.shape);
      expect(Buffer.from(t.data.buffer).equals(Buffer.from(ref.data.buffer)), name).toBe(true);
    }
  });
});
