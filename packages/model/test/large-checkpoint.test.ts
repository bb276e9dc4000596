/**
 * A 2.8B-shaped checkpoint (DCFormer-2.8B widths, 2 layers) stored as BF16 in 3 safetensors shards:
 * it must load with peak RSS under 1.5× its float32 weights, i.e. without holding a second copy.
 * Runs the load in a child process so that the peak RSS is the loader's alone.
 */
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { configToJson, resolveConfig } from '../src/config.js';
import { presetConfig } from '../src/presets.js';
import { weightSpecs } from '../src/weights.js';

const modelDist = fileURLToPath(new URL('../dist/node.js', import.meta.url));
let dir = '';
afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** One BF16 safetensors file; values are a cheap deterministic pattern of small numbers. */
function bf16Shard(tensors: { name: string; shape: number[] }[]): Uint8Array {
  const header: Record<string, unknown> = { __metadata__: { format: 'pt' } };
  let offset = 0;
  for (const t of tensors) {
    const bytes = 2 * t.shape.reduce((a, b) => a * b, 1);
    header[t.name] = { dtype: 'BF16', shape: t.shape, data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - ((8 + json.length) % 8)) % 8);
  const out = new Uint8Array(8 + json.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(new TextEncoder().encode(json), 8);
  const values = new Uint16Array(out.buffer, 8 + json.length, offset / 2);
  for (let i = 0; i < values.length; i++) values[i] = 0x3c00 | (i & 0x7f); // ≈ 0.0078…0.0156
  return out;
}

describe('large sharded checkpoint', () => {
  it('2.8B-shaped, 2 layers, BF16 in 3 shards: peak RSS < 1.5× the float32 weights', async () => {
    const config = resolveConfig({ ...presetConfig('dcformer-2.8b'), nLayer: 2 });
    dir = await mkdtemp(join(tmpdir(), 'dcf-large-'));
    const specs = weightSpecs(config).map((s) => ({ name: s.official, shape: s.shape }));
    const float32Bytes = 4 * specs.reduce((n, s) => n + s.shape.reduce((a, b) => a * b, 1), 0);
    // embeddings in shard 1, layers in shard 2, the rest in shard 3
    const shards = [
      specs.filter((s) => s.name.startsWith('tok_embeddings')),
      specs.filter((s) => s.name.startsWith('layers.')),
      specs.filter((s) => !s.name.startsWith('tok_embeddings') && !s.name.startsWith('layers.')),
    ];
    const weightMap: Record<string, string> = {};
    for (let i = 0; i < shards.length; i++) {
      const file = `model-0000${i + 1}-of-00003.safetensors`;
      await writeFile(join(dir, file), bf16Shard(shards[i]));
      for (const s of shards[i]) weightMap[s.name] = file;
    }
    await writeFile(join(dir, 'model.safetensors.index.json'), JSON.stringify({ metadata: {}, weight_map: weightMap }));
    await writeFile(join(dir, 'config.json'), JSON.stringify(configToJson(config)));

    const script = `
      import '@tensorflow/tfjs-backend-cpu';
      import * as tf from '@tensorflow/tfjs-core';
      const { loadModel } = await import(${JSON.stringify(modelDist)});
      await tf.setBackend('cpu');
      const model = await loadModel(${JSON.stringify(dir)}, { onWarning: () => {} });
      const n = [...model.variables.values()].reduce((a, v) => a + v.size, 0);
      console.log(JSON.stringify({ params: n, maxRssBytes: process.resourceUsage().maxRSS * 1024 }));
    `;
    const stdout = execFileSync(process.execPath, ['--input-type=module', '-e', script], {
      cwd: fileURLToPath(new URL('..', import.meta.url)),
      encoding: 'utf8',
      maxBuffer: 1 << 20,
    });
    const { params, maxRssBytes } = JSON.parse(stdout.trim().split('\n').pop() as string);
    expect(params * 4).toBe(float32Bytes);
    console.log(
      `large checkpoint: float32 weights ${(float32Bytes / 1e9).toFixed(2)} GB, peak RSS ${(maxRssBytes / 1e9).toFixed(2)} GB (${(maxRssBytes / float32Bytes).toFixed(2)}×)`,
    );
    expect(maxRssBytes).toBeLessThan(1.5 * float32Bytes);
  }, 300_000);
});
