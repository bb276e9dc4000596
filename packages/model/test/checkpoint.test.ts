import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-core/dist/register_all_gradients';
import { cp, mkdtemp, readdir, readFile, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CheckpointError, ConfigError, InputError } from '@dcformer/kernels';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseSafetensors, serializeSafetensors, toFloat32 } from '@dcformer/checkpoint';
import { modelWeights, modelWeightsAsync } from '../src/checkpoint.js';
import { loadModel, saveModel } from '../src/node.js';
import { caseDir, golden } from './oracle.js';

const quiet = { onWarning: () => {} };
let scratch: string;

beforeAll(async () => {
  await tf.setBackend('cpu');
  scratch = await mkdtemp(join(tmpdir(), 'dcf-ckpt-'));
});
afterAll(async () => {
  await rm(scratch, { recursive: true, force: true });
});

/** A copy of a fixture case whose model.safetensors was rewritten by `edit`. */
async function editedCase(name: string, edit: (tensors: Map<string, { shape: number[]; data: Float32Array }>) => void) {
  const dir = await mkdtemp(join(scratch, 'case-'));
  await cp(caseDir(name), dir, { recursive: true });
  const parsed = parseSafetensors(new Uint8Array(await readFile(join(dir, 'model.safetensors'))));
  const tensors = new Map([...parsed.tensors].map(([n, t]) => [n, { shape: t.shape, data: toFloat32(t, n) }]));
  edit(tensors);
  await writeFile(join(dir, 'model.safetensors'), serializeSafetensors(tensors));
  return dir;
}

describe('checkpoint round trip', () => {
  it.each(['case1_dcformer_lgll', 'case3_dcformer_mha', 'case4_dcpythia'])(
    '%s: load → save → load gives identical tensors and logits',
    async (name) => {
      const a = await loadModel(caseDir(name), quiet);
      const out = join(scratch, `rt-${name}`);
      await saveModel(a, out);
      const b = await loadModel(out, quiet);
      try {
        const wa = modelWeights(a);
        const wb = modelWeights(b);
        expect([...wb.keys()].sort()).toEqual([...wa.keys()].sort());
        for (const [n, t] of wa)
          expect(Buffer.from(wb.get(n)!.data.buffer).equals(Buffer.from(t.data.buffer)), n).toBe(true);
        // saveModel reads asynchronously (GPU backends): the same tensors as the synchronous read
        const wasync = await modelWeightsAsync(a);
        expect([...wasync.keys()]).toEqual([...wa.keys()]);
        for (const [n, t] of wa)
          expect(Buffer.from(wasync.get(n)!.data.buffer).equals(Buffer.from(t.data.buffer)), n).toBe(true);
        const ids = golden(name).input_ids;
        const la = tf.tidy(() => a.forward(ids).dataSync());
        const lb = tf.tidy(() => b.forward(ids).dataSync());
        expect(Buffer.from(lb.buffer).equals(Buffer.from(la.buffer))).toBe(true);
        expect((await readdir(out)).sort()).toEqual(['config.json', 'model.safetensors']);
        // the saved file carries what the official module writes too (identity buffers, merged copies)
        const saved = parseSafetensors(new Uint8Array(await readFile(join(out, 'model.safetensors'))));
        const original = parseSafetensors(new Uint8Array(await readFile(join(caseDir(name), 'model.safetensors'))));
        if (name !== 'case3_dcformer_mha')
          expect([...saved.tensors.keys()].sort()).toEqual([...original.tensors.keys()].sort());
      } finally {
        a.dispose();
        b.dispose();
      }
    },
  );

  it('Transformer++: dyn_w_proj tensors in a use_dcmha=false checkpoint are accepted and not written back', async () => {
    const original = parseSafetensors(
      new Uint8Array(await readFile(join(caseDir('case3_dcformer_mha'), 'model.safetensors'))),
    );
    expect([...original.tensors.keys()].some((n) => n.includes('dyn_w_proj.dw1'))).toBe(true);
    const m = await loadModel(caseDir('case3_dcformer_mha'), quiet);
    expect([...modelWeights(m).keys()].some((n) => n.includes('dyn_w_proj'))).toBe(false);
    m.dispose();
  });
});

describe('bad checkpoints: typed errors naming the tensor', () => {
  it('missing tensor', async () => {
    const dir = await editedCase('case2_dcformer_lg', (t) => t.delete('layers.1.attention.wo.weight'));
    await expect(loadModel(dir, quiet)).rejects.toThrow(CheckpointError);
    await expect(loadModel(dir, quiet)).rejects.toThrow(/missing tensor 'layers\.1\.attention\.wo\.weight'/);
  });

  it('unexpected tensor', async () => {
    const dir = await editedCase('case2_dcformer_lg', (t) =>
      t.set('layers.0.attention.extra.weight', { shape: [2], data: new Float32Array(2) }),
    );
    await expect(loadModel(dir, quiet)).rejects.toThrow(/unexpected tensor 'layers\.0\.attention\.extra\.weight'/);
  });

  it('wrong shape: names expected and found shapes', async () => {
    const dir = await editedCase('case2_dcformer_lg', (t) =>
      t.set('norm.weight', { shape: [63], data: new Float32Array(63) }),
    );
    await expect(loadModel(dir, quiet)).rejects.toThrow(/'norm\.weight' must have shape \[64\]; found \[63\]/);
  });

  it('a non-identity static composition matrix is refused', async () => {
    const dir = await editedCase('case2_dcformer_lg', (t) => {
      const w = t.get('layers.0.attention.dyn_w_proj.pre_proj.w')!;
      w.data[1] = 0.5;
    });
    await expect(loadModel(dir, quiet)).rejects.toThrow(/pre_proj\.w' is not the identity/);
  });

  it('merged dw_m that disagrees with dw1/dd: warning, dw1/dd used', async () => {
    const dir = await editedCase('case2_dcformer_lg', (t) => {
      t.get('layers.1.attention.dyn_w_proj.dw_m')!.data[0] += 1;
    });
    const warnings: string[] = [];
    const m = await loadModel(dir, { onWarning: (w) => warnings.push(w) });
    m.dispose();
    expect(warnings.join('\n')).toMatch(/'layers\.1\.attention\.dyn_w_proj\.dw_m' differs from dw1\/dd by up to 1/);
  });

  it('truncated safetensors', async () => {
    const dir = await mkdtemp(join(scratch, 'trunc-'));
    await cp(caseDir('case2_dcformer_lg'), dir, { recursive: true });
    await truncate(join(dir, 'model.safetensors'), 4000);
    await expect(loadModel(dir, quiet)).rejects.toThrow(CheckpointError);
  });

  it('config: missing key and wrong type name the key', async () => {
    const dir = await mkdtemp(join(scratch, 'cfg-'));
    await cp(caseDir('case2_dcformer_lg'), dir, { recursive: true });
    const config = JSON.parse(await readFile(join(dir, 'config.json'), 'utf8'));
    delete config.n_layer;
    await writeFile(join(dir, 'config.json'), JSON.stringify(config));
    await expect(loadModel(dir, quiet)).rejects.toThrow(ConfigError);
    await expect(loadModel(dir, quiet)).rejects.toThrow(/n_layer/);
    config.n_layer = '2';
    await writeFile(join(dir, 'config.json'), JSON.stringify(config));
    await expect(loadModel(dir, quiet)).rejects.toThrow(/'n_layer'.*"2"/);
  });
});

describe('bad token ids', () => {
  it('ids ≥ vocab, negative, ragged, longer than block_size: InputError, no tensors leaked', async () => {
    const m = await loadModel(caseDir('case2_dcformer_lg'), quiet);
    const before = tf.memory().numTensors;
    expect(() => m.forward([[1, 2, 128]])).toThrow(InputError);
    expect(() => m.forward([[1, 2, 128]])).toThrow(/token id 128 at \[0,2\] is out of range \[0, 128\)/);
    expect(() => m.forward([[1, -1]])).toThrow(/token id -1/);
    expect(() => m.forward([[1, 2], [3]])).toThrow(/rectangular/);
    expect(() => m.forward([Array.from({ length: 65 }, () => 1)])).toThrow(/T = 65 exceeds block_size 64/);
    expect(() => m.loss([[5]])).toThrow(/T ≥ 2/);
    expect(tf.memory().numTensors).toBe(before);
    m.dispose();
  });
});
