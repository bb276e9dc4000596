// Loading with compact weights (src/compact-load.ts): a float32 checkpoint packed while it is read,
// and the round trip quantize → save → loadModel, against the float32 forward of the dequantised
// weights (≤ 1e-4); typed errors for a mismatched --dtype, bad group sizes, mismatched scale shapes.
import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CheckpointError,
  type CompactWeight,
  ConfigError,
  compactWeight,
  packWeight,
  packedOf,
} from '@dcformer/kernels';
import { resolveConfig } from '../src/config.js';
import { initModel } from '../src/init.js';
import {
  compactModel,
  compactSpecs,
  compactWeightsOf,
  fusedPairCopies,
  installCompact,
  packSpec,
  weightBytesOf,
} from '../src/compact.js';
import type { DcformerModel } from '../src/model.js';
import { loadModel, saveModel, saveQuantized } from '../src/node.js';
import { packingSink } from '../src/compact-load.js';
import { weightSpecs } from '../src/weights.js';
import { assignDequantised } from './dequantised.js';

const work = await mkdtemp(join(tmpdir(), 'dcf-compact-load-'));
afterAll(() => rm(work, { recursive: true, force: true }));
beforeAll(async () => {
  await tf.setBackend('cpu');
});

const config = resolveConfig({
  family: 'dcformer',
  dim: 64,
  nHead: 4,
  nLayer: 2,
  vocabSize: 96,
  blockSize: 32,
  windowSize: 8,
  useQkNorm: true,
});
const ids = [[3, 17, 42, 5, 88, 1, 9, 60]];

function logits(model: DcformerModel): Float32Array {
  const y = model.forward(ids);
  const out = y.dataSync() as Float32Array;
  y.dispose();
  return out;
}

/** The JSON header of a safetensors file (8-byte little-endian length, then the header). */
async function safetensorsHeader(path: string): Promise<Record<string, { dtype: string; shape: number[] }>> {
  const bytes = await readFile(path);
  const n = Number(bytes.readBigUInt64LE(0));
  return JSON.parse(bytes.subarray(8, 8 + n).toString('utf8'));
}

function maxDiff(a: Float32Array, b: Float32Array): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

/**
 * Every layer's fused pairs (w13 = w1|w3, dwdd = dw1|dd) and their halves lie in one ArrayBuffer, the
 * halves one after the other (data and scales). With `loadModel`'s `fusedPairCopies()` unchanged this
 * says they were packed there, not copied together afterwards (which held each pair twice while loading).
 */
function expectFusedInPlace(model: DcformerModel): void {
  const at = (path: string) =>
    path
      .split('.')
      .reduce((node: unknown, key) => (node as Record<string, unknown>)[key], model.params) as CompactWeight;
  for (let i = 0; i < config.nLayer; i++) {
    for (const [fused, first, second] of [
      ['feedForward.w13', 'feedForward.w1', 'feedForward.w3'],
      ['attention.dwdd', 'attention.dw1', 'attention.dd'],
    ]) {
      const [f, a, b] = [fused, first, second].map((p) => packedOf(at(`layers.${i}.${p}`)));
      expect(a.data.buffer).toBe(f.data.buffer);
      expect(b.data.buffer).toBe(f.data.buffer);
      expect([a.data.byteOffset, b.data.byteOffset]).toEqual([
        f.data.byteOffset,
        f.data.byteOffset + a.data.byteLength,
      ]);
      expect(f.data.length).toBe(a.data.length + b.data.length);
      if (f.scales !== null) {
        expect(a.scales?.buffer).toBe(f.scales.buffer);
        expect(b.scales?.buffer).toBe(f.scales.buffer);
        expect(b.scales?.byteOffset).toBe(f.scales.byteOffset + (a.scales as Float32Array).byteLength);
      }
    }
  }
}

/** The float32 model with `compact`'s weights dequantised (the reference forward). */
async function dequantisedTwin(dir: string, compact: DcformerModel): Promise<DcformerModel> {
  const twin = await loadModel(dir);
  for (const [name, w] of compactWeightsOf(compact)) {
    const v = twin.variables.get(name) as tf.Variable;
    assignDequantised(v, name, w);
  }
  return twin;
}

const f32Dir = join(work, 'f32');
beforeAll(async () => {
  const m = initModel(config, 5);
  await saveModel(m, f32Dir);
  m.dispose();
});

describe('loadModel --dtype', () => {
  for (const dtype of ['bf16', 'int8', 'int4'] as const) {
    it(`${dtype}: packed while reading; logits = dequantised float32 forward (≤ 1e-4)`, async () => {
      const warnings: string[] = [];
      const copies = fusedPairCopies();
      const model = await loadModel(f32Dir, { dtype, groupSize: 32, onWarning: (m) => warnings.push(m) });
      expect(fusedPairCopies()).toBe(copies);
      expectFusedInPlace(model);
      expect(compactWeightsOf(model).size).toBe(16); // wqkv, wo, w1, w3, w2, dw1, dd per layer; output, embedding
      // the merged dw_m copy in the file is not compared with dw1/dd packed while reading
      expect(warnings).toEqual([]);
      const twin = await dequantisedTwin(f32Dir, model);
      expect(maxDiff(logits(model), logits(twin))).toBeLessThanOrEqual(1e-4);
      model.dispose();
      twin.dispose();
    });
  }
  it('refusing a model that does not fit names the formats that do', async () => {
    await expect(loadModel(f32Dir, { memoryLimitBytes: weightBytesOf(config, 'int8', 64) + 1 })).rejects.toThrow(
      /formats that fit: --dtype int8 .*--dtype int4/,
    );
  });
});

describe('quantize → save → loadModel round trip', () => {
  for (const [dtype, groupSize] of [
    ['int8', 64],
    ['int4', 32],
  ] as const) {
    it(`${dtype} G${groupSize}: logits equal the quantised model's and the dequantised float32 forward (≤ 1e-4)`, async () => {
      const dir = join(work, `${dtype}-${groupSize}`);
      const float = await loadModel(f32Dir);
      const copies = fusedPairCopies();
      const source = compactModel(float, dtype, { groupSize });
      expectFusedInPlace(source);
      const block = await saveQuantized(source, dir);
      expect(block).toMatchObject({ format: dtype, group_size: groupSize, scales_dtype: 'F32' });
      const loaded = await loadModel(dir);
      expect(fusedPairCopies()).toBe(copies);
      expectFusedInPlace(loaded);
      expect(maxDiff(logits(loaded), logits(source))).toBe(0);
      const twin = await dequantisedTwin(f32Dir, loaded);
      expect(maxDiff(logits(loaded), logits(twin))).toBeLessThanOrEqual(1e-4);
      const json = JSON.parse(await readFile(join(dir, 'config.json'), 'utf8'));
      expect(json.quantization.modules).toContain('layers.0.attention.wqkv.weight');
      // DCMHA's dw1 [D,1,4,K] is stored as its transpose [4K, D] (K = 16 here: 4K = 64, D = 64) … and dd [D,1,4N] as [4N, D]
      expect(json.quantization.modules).toContain('layers.1.attention.dyn_w_proj.dd');
      const header = await safetensorsHeader(join(dir, 'model.safetensors'));
      expect(header['layers.1.attention.dyn_w_proj.dd.qweight'].shape).toEqual(dtype === 'int8' ? [16, 64] : [16, 32]);
      expect(header['layers.1.attention.dyn_w_proj.dd.scales'].shape).toEqual([16, 64 / groupSize]);
      expect(header['layers.1.attention.dyn_w_proj.dd']).toBeUndefined();
      const before = tf.memory().numTensors;
      loaded.dispose();
      expect(tf.memory().numTensors).toBeLessThan(before);
      source.dispose();
      twin.dispose();
    });
  }

  it('a checkpoint quantised before dw1/dd were (modules without them, float32 dw1/dd) still loads', async () => {
    // what `dcformer quantize` wrote until now: the linear weights and the embedding packed, the rest F32
    const dir = join(work, 'int4-old-layout');
    const source = await loadModel(f32Dir);
    const specs = compactSpecs(config, true);
    expect(specs.some((s) => s.official.includes('dyn_w_proj'))).toBe(false);
    for (const spec of specs) {
      const v = source.variables.get(spec.official) as tf.Variable;
      installCompact(source, spec, compactWeight(packSpec(spec, v.dataSync() as Float32Array, 'int4', 32)));
    }
    const block = await saveQuantized(source, dir);
    expect(block.modules).not.toContain('layers.0.attention.dyn_w_proj.dw1');
    const loaded = await loadModel(dir);
    expect(loaded.variables.has('layers.0.attention.dyn_w_proj.dw1')).toBe(true); // float32, as stored
    expect(compactWeightsOf(loaded).size).toBe(12);
    expect(maxDiff(logits(loaded), logits(source))).toBe(0);
    const twin = await dequantisedTwin(f32Dir, loaded);
    expect(maxDiff(logits(loaded), logits(twin))).toBeLessThanOrEqual(1e-4);
    for (const m of [source, loaded, twin]) m.dispose();
  });

  it('typed errors: another --dtype, a bad group size, an unknown format, mismatched scale shapes', async () => {
    const dir = join(work, 'int8-64');
    await expect(loadModel(dir, { dtype: 'int4' })).rejects.toThrow(ConfigError);
    const json = JSON.parse(await readFile(join(dir, 'config.json'), 'utf8'));
    const bad = join(work, 'bad');
    await rm(bad, { recursive: true, force: true });
    await saveModel(initModel(config, 1), bad); // any float checkpoint; its config is replaced below
    const tensors = await readFile(join(dir, 'model.safetensors'));
    await writeFile(join(bad, 'model.safetensors'), tensors);
    await writeFile(
      join(bad, 'config.json'),
      JSON.stringify({ ...json, quantization: { ...json.quantization, group_size: 48 } }),
    );
    await expect(loadModel(bad)).rejects.toThrow(/group size must be a positive multiple of 32/);
    await writeFile(
      join(bad, 'config.json'),
      JSON.stringify({ ...json, quantization: { ...json.quantization, format: 'int3' } }),
    );
    await expect(loadModel(bad)).rejects.toThrow(/unknown dtype 'int3'/);
    // group 32 declared, the file's scales are for 64: [N, K/64] ≠ [N, K/32]
    await writeFile(
      join(bad, 'config.json'),
      JSON.stringify({ ...json, quantization: { ...json.quantization, group_size: 32 } }),
    );
    await expect(loadModel(bad)).rejects.toThrow(CheckpointError);
    await expect(loadModel(bad)).rejects.toThrow(
      /scales' must have shape \[\d+,2\] \(group size 32\); found \[\d+,1\]/,
    );
  });
});

describe('packingSink', () => {
  // Rows are packed independently, so slices of whole rows packed one by one must give exactly the
  // words and scales of the whole matrix packed at once (packWeight, tested against its own references).
  const name = 'layers.0.feed_forward.w1.weight';
  const spec = weightSpecs(config).find((s) => s.official === name)!;
  const [N, K] = spec.shape;
  const w = Float32Array.from({ length: N * K }, (_, i) => Math.sin(i * 0.37) * 0.05);
  for (const [dtype, groupSize] of [
    ['bf16', undefined],
    ['f16', undefined],
    ['int8', 32],
    ['int4', undefined],
  ] as const) {
    it(`${dtype}: uneven slices of rows equal packing the whole matrix`, () => {
      const { sink, packed } = packingSink(config, dtype, groupSize);
      expect(sink('norm.weight', [config.dim], 'F32', 'f')).toBeUndefined();
      const s = sink(name, spec.shape, 'BF16', 'f')!;
      const cuts = [0, 1, 5, N - 3, N];
      for (let i = 0; i + 1 < cuts.length; i++) s.write(cuts[i] * K, w.subarray(cuts[i] * K, cuts[i + 1] * K));
      expect(s.finish()).toEqual({ shape: spec.shape, data: new Float32Array(0), dtype: 'BF16', file: 'f' });
      const whole = packWeight(w, N, K, dtype, groupSize ?? (dtype === 'int4' ? 64 : undefined));
      const got = packed.get(name)!;
      expect({ ...got, data: [...got.data], scales: got.scales && [...got.scales] }).toEqual({
        ...whole,
        data: [...whole.data],
        scales: whole.scales && [...whole.scales],
      });
    });
  }
});

describe('MUDD models', () => {
  it('MUDDFormer: float32 → int8 while loading, and quantize → save → loadModel, logits ≈ the dequantised forward', async () => {
    const mudd = resolveConfig({ family: 'muddformer', dim: 64, nHead: 2, nLayer: 3, vocabSize: 96, blockSize: 32 });
    const src = join(work, 'mudd-f32');
    await saveModel(initModel(mudd, 9), src);
    const packedOnLoad = await loadModel(src, { dtype: 'int8', groupSize: 32 });
    const dir = join(work, 'mudd-int8');
    await saveQuantized(packedOnLoad, dir);
    const loaded = await loadModel(dir);
    expect(compactWeightsOf(loaded).size).toBe(compactWeightsOf(packedOnLoad).size);
    expect(maxDiff(logits(loaded), logits(packedOnLoad))).toBe(0);
    const twin = await dequantisedTwin(src, loaded);
    expect(maxDiff(logits(loaded), logits(twin))).toBeLessThanOrEqual(1e-4);
    for (const m of [packedOnLoad, loaded, twin]) m.dispose();
  });
});
