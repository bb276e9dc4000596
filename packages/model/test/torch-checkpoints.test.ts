import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-core/dist/register_all_gradients';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CheckpointError } from '@dcformer/kernels';
import { compareClose } from '@dcformer/kernels/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configToJson } from '../src/config.js';
import { modelWeights } from '../src/checkpoint.js';
import { cachedLogits } from '../src/generate.js';
import { loadModel, saveModel } from '../src/node.js';
import { presetConfig } from '../src/presets.js';
import { caseDir, golden, goldenArray } from './oracle.js';

const quiet = { onWarning: () => {} };
let scratch: string;
beforeAll(async () => {
  await tf.setBackend('cpu');
  scratch = await mkdtemp(join(tmpdir(), 'dcf-torch-'));
});
afterAll(async () => {
  await rm(scratch, { recursive: true, force: true });
});

describe('official PyTorch .bin checkpoints', () => {
  it('case 1 float16 pytorch_model.bin: cached logits within 1e-4 of golden_fp16.json', async () => {
    const dir = join(caseDir('case1_dcformer_lgll'), 'torch_fp16');
    const g = JSON.parse(await readFile(join(dir, 'golden_fp16.json'), 'utf8'));
    const model = await loadModel(dir, quiet);
    try {
      const expected = goldenArray(g.logits);
      const rep = compareClose(await cachedLogits(model, g.input_ids, g.prefill_len), expected.data, expected.shape, {
        atol: 1e-4,
        label: 'fp16 cached logits',
      });
      expect(rep.ok, rep.message).toBe(true);
    } finally {
      model.dispose();
    }
  });

  it('case 4 sharded .bin + index: tensors identical to model.safetensors', async () => {
    const a = await loadModel(join(caseDir('case4_dcpythia'), 'torch_sharded'), quiet);
    const b = await loadModel(caseDir('case4_dcpythia'), quiet);
    try {
      const wa = modelWeights(a);
      for (const [name, t] of modelWeights(b))
        expect(Buffer.from(wa.get(name)!.data.buffer).equals(Buffer.from(t.data.buffer)), name).toBe(true);
    } finally {
      a.dispose();
      b.dispose();
    }
  });

  it('convert: .bin → safetensors gives identical logits', async () => {
    const src = join(caseDir('case4_dcpythia'), 'torch_sharded');
    const out = join(scratch, 'converted');
    const a = await loadModel(src, quiet);
    await saveModel(a, out);
    const b = await loadModel(out, quiet);
    try {
      const ids = golden('case4_dcpythia').input_ids;
      const la = tf.tidy(() => a.forward(ids).dataSync());
      const lb = tf.tidy(() => b.forward(ids).dataSync());
      expect(Buffer.from(lb.buffer).equals(Buffer.from(la.buffer))).toBe(true);
    } finally {
      a.dispose();
      b.dispose();
    }
  });

  it('a model whose float32 weights exceed the memory limit is refused before reading, with sizes', async () => {
    const dir = join(scratch, 'big');
    await rm(dir, { recursive: true, force: true });
    await import('node:fs/promises').then((fs) => fs.mkdir(dir));
    await writeFile(join(dir, 'config.json'), JSON.stringify(configToJson(presetConfig('dcpythia-6.9b'))));
    const attempt = loadModel(dir, { ...quiet, memoryLimitBytes: 0.85 * 24e9 });
    await expect(attempt).rejects.toThrow(CheckpointError);
    await expect(loadModel(dir, { ...quiet, memoryLimitBytes: 0.85 * 24e9 })).rejects.toThrow(
      /needs 2\d\.\d GB for its float32 weights, more than the 20\.4 GB available/,
    );
  });
});
