/**
 * The page's loader (src/model-source.ts) on the Node cpu backend: the memory each weight format
 * needs is stated from config.json before any weight is read, the formats that fit are offered
 * where float32 does not, and a folder loads as bf16 / int8 / int4 from the float checkpoint and
 * from a quantised one (`dcformer quantize`'s files) with the logits of @dcformer/model/node's
 * loadModel on the same files.
 */
import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compactWeightsOf, fusedPairCopies, presetConfig, weightSpecs, type DcformerModel } from '@dcformer/model';
import { loadModel, saveQuantized } from '@dcformer/model/node';
import type { BackendChoice } from '../src/backend.js';
import { loadFolder, memoryOpener, memoryReader, planFormats, type FormatPlan } from '../src/model-source.js';

const MODEL = fileURLToPath(new URL('../public/models/tiny', import.meta.url));
const GiB = 2 ** 30;
const cpu: BackendChoice = {
  name: 'cpu',
  notice: null,
  label: 'cpu',
  maxTensorBytes: 2 * GiB,
  maxWeightBytes: 1.5 * GiB,
};
const work = await mkdtemp(join(tmpdir(), 'dcf-web-formats-'));
afterAll(() => rm(work, { recursive: true, force: true }));
beforeAll(async () => {
  await tf.setBackend('cpu');
});

async function folder(dir: string): Promise<Map<string, Uint8Array>> {
  const files = new Map<string, Uint8Array>();
  for (const name of await readdir(dir)) files.set(name, new Uint8Array(await readFile(join(dir, name))));
  return files;
}

function logits(model: DcformerModel): Float32Array {
  const y = model.forward([[72, 105, 44, 32, 116, 111]]);
  const out = y.dataSync() as Float32Array;
  y.dispose();
  return out;
}

describe('planFormats', () => {
  it('DCFormer-2.8B under a 2 GiB limit: float32 needs 4 bytes per parameter and does not fit; int4 is chosen', () => {
    const config = presetConfig('dcformer-2.8b');
    const params = weightSpecs(config).reduce((n, s) => n + s.shape.reduce((a, b) => a * b, 1), 0);
    const plan = planFormats(config, null, 2 * GiB);
    expect(plan.needs.f32).toBe(4 * params);
    expect(plan.needs.bf16).toBeLessThan(plan.needs.f32 / 1.9);
    expect(plan.fits).toEqual(['int4']);
    expect(plan.choice).toBe('int4');
    expect(plan.summary).toMatch(
      /f32 10\.\d GiB \(too large\).*int4 1\.\d GiB; .*Loading as int4 \(f32 does not fit\)/,
    );
    expect(planFormats(config, null, 2 * GiB, 'int8')).toMatchObject({ choice: null });
    expect(planFormats(config, null, 2 * GiB, 'int8').summary).toMatch(/int8 does not fit; formats that fit: int4/);
    expect(planFormats(config, null, 1 * GiB).summary).toMatch(/No format fits/);
  });

  it('a quantised checkpoint is offered in its own format only', () => {
    const config = presetConfig('tiny');
    const block = { format: 'int8' as const, group_size: 64, modules: [], scales_dtype: 'F32' as const, layout: '' };
    expect(planFormats(config, block, GiB)).toMatchObject({ fits: ['int8'], choice: 'int8', stored: 'int8' });
    expect(planFormats(config, block, GiB, 'bf16')).toMatchObject({ choice: null });
    expect(planFormats(config, block, GiB, 'bf16').summary).toMatch(/quantised to int8; it loads only as int8/);
  });
});

describe('loadFolder', () => {
  for (const dtype of ['bf16', 'int8', 'int4'] as const) {
    it(`the bundled F16 tiny model as ${dtype}: logits equal loadModel's with the same dtype`, async () => {
      const files = await folder(MODEL);
      const readOrder: string[] = [];
      let readBeforePlan: string[] = [];
      let plan: FormatPlan | null = null;
      const read = memoryReader(files);
      const copies = fusedPairCopies();
      const loaded = await loadFolder(
        async (name) => {
          readOrder.push(name);
          return read(name);
        },
        'tiny',
        cpu,
        {
          dtype,
          sliceValues: 1000, // several slices per weight: rows packed slice by slice and joined
          onPlan: (p) => {
            plan = p;
            readBeforePlan = [...readOrder];
          },
        },
      );
      expect(fusedPairCopies()).toBe(copies); // w1|w3 and dw1|dd packed into one buffer per pair, not copied together
      expect(readBeforePlan).toEqual(['config.json']);
      expect(plan!.choice).toBe(dtype);
      expect(loaded.dtype).toBe(dtype);
      expect(loaded.weightBytes).toBe(plan!.needs[dtype]);
      const reference = await loadModel(MODEL, { dtype });
      expect([...compactWeightsOf(loaded.model).keys()].sort()).toEqual([...compactWeightsOf(reference).keys()].sort());
      expect(logits(loaded.model)).toEqual(logits(reference));
      loaded.model.dispose();
      reference.dispose();
    });
  }

  it('a quantised checkpoint (dcformer quantize) loads as int4 with the logits of loadModel', async () => {
    const source = await loadModel(MODEL, { dtype: 'int4', groupSize: 32 });
    const dir = join(work, 'int4');
    await saveQuantized(source, dir);
    source.dispose();
    const files = await folder(dir);
    files.set('tokenizer.json', new Uint8Array(await readFile(join(MODEL, 'tokenizer.json'))));
    const copies = fusedPairCopies();
    const loaded = await loadFolder(memoryReader(files), 'int4', cpu);
    expect(fusedPairCopies()).toBe(copies);
    expect(loaded.dtype).toBe('int4');
    const reference = await loadModel(dir);
    expect(logits(loaded.model)).toEqual(logits(reference));
    const before = tf.memory().numTensors;
    loaded.model.dispose();
    expect(tf.memory().numTensors).toBeLessThan(before);
    reference.dispose();
    await expect(loadFolder(memoryReader(files), 'int4', cpu, { dtype: 'bf16' })).rejects.toThrow(
      /quantised to int4; it loads only as int4/,
    );
  });

  it('picked files are read by ranges, tensor by tensor, never as a whole safetensors file', async () => {
    const files = await folder(MODEL);
    const whole = memoryReader(files);
    const ranges: Array<[number, number]> = [];
    const opener = memoryOpener(files);
    const loaded = await loadFolder(
      async (name) => {
        if (name.endsWith('.safetensors')) throw new Error(`read ${name} whole`);
        return whole(name);
      },
      'tiny',
      cpu,
      {
        dtype: 'int4',
        open: async (name) => {
          const f = await opener(name);
          if (f === null) return null;
          return {
            size: f.size,
            read: (a, b) => {
              ranges.push([a, b]);
              return f.read(a, b);
            },
          };
        },
      },
    );
    const size = (files.get('model.safetensors') as Uint8Array).length;
    expect(Math.max(...ranges.map(([a, b]) => b - a))).toBeLessThan(size / 4);
    const reference = await loadModel(MODEL, { dtype: 'int4' });
    expect(logits(loaded.model)).toEqual(logits(reference));
    loaded.model.dispose();
    reference.dispose();
  });
});
