/**
 * The released MUDD checkpoints' layout (Caiyun-AI/MUDDPythia-2.8B: config.json + sharded bfloat16
 * safetensors with an index; MUDDFormer-2.8B / MUDDPythia-1.4B: pytorch_model.bin), on a synthetic
 * small model whose config.json has exactly the released key set (pytorch/muddpythia/config_2p8b.json,
 * pytorch/muddformer/config.json @ fc067b2) with small sizes. The weights are written here in both
 * layouts; both must load to the same model, bit for bit the bf16-rounded weights.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildStoredZip } from '@dcformer/checkpoint';
import { modelWeights, type NamedArray } from '../src/checkpoint.js';
import { parseConfig } from '../src/config.js';
import { initModel } from '../src/init.js';
import { numberToBf16Bits, serializeSafetensors } from '../src/index.js';
import { loadModel } from '../src/node.js';

const dirs: string[] = [];
beforeAll(async () => {
  await tf.setBackend('cpu');
});
afterAll(async () => {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

/** The released configs' keys, sizes shrunk (dim 2560 → 64, 32 layers → 3, vocab 50432 → 160). */
function releasedConfig(family: 'muddformer' | 'muddpythia'): Record<string, unknown> {
  const arch = family === 'muddformer' ? 'MUDDFormer' : 'MUDDPythia';
  const json: Record<string, unknown> = {
    architectures: [arch],
    auto_map: {
      AutoConfig: `configuration_${family}.${arch}Config`,
      AutoModelForCausalLM: `modeling_${family}.${arch}`,
    },
    block_size: 64,
    bos_token_id: family === 'muddformer' ? 1 : 0,
    dense: true,
    dense_type: 'qkvr',
    dim: 64,
    dynamic_dense: true,
    eos_token_id: family === 'muddformer' ? 2 : 0,
    expand_last: true,
    head_dim: 16,
    intermediate_size: 256,
    is_training: false,
    model_type: family,
    n_head: 4,
    n_layer: 3,
    n_local_heads: 4,
    norm_eps: family === 'muddformer' ? 1e-6 : 1e-5,
    rope_base: 10000,
    round64: true,
    sepln: true,
    stack_hidden: false,
    tie_word_embeddings: false,
    torch_dtype: 'bfloat16',
    transformers_version: '4.35.0',
    use_gradient_checkpointing: false,
    use_layer_cache: true,
    use_qk_norm: true,
    vocab_size: 160,
  };
  if (family === 'muddpythia')
    Object.assign(json, { rotary_pct: 0.25, use_linear_bias: true, use_parallel_residual: true });
  return json;
}

function bf16Bits(a: Float32Array): Uint16Array {
  const out = new Uint16Array(a.length);
  for (let i = 0; i < a.length; i++) out[i] = numberToBf16Bits(a[i]);
  return out;
}

function bf16Round(a: Float32Array): Float32Array {
  const bits = bf16Bits(a);
  const out = new Uint32Array(a.length);
  for (let i = 0; i < a.length; i++) out[i] = bits[i] << 16;
  return new Float32Array(out.buffer);
}

/** Two bfloat16 safetensors shards and model.safetensors.index.json, as the Hub copy of MUDDPythia-2.8B. */
async function writeSharded(dir: string, weights: Map<string, NamedArray>): Promise<void> {
  const names = [...weights.keys()];
  const half = Math.ceil(names.length / 2);
  const shards = [names.slice(0, half), names.slice(half)];
  const weightMap: Record<string, string> = {};
  for (const [i, shard] of shards.entries()) {
    const file = `model-0000${i + 1}-of-00002.safetensors`;
    const tensors = new Map(shard.map((n) => [n, weights.get(n) as NamedArray]));
    for (const n of shard) weightMap[n] = file;
    await writeFile(join(dir, file), serializeSafetensors(tensors, { format: 'pt' }, { dtype: 'BF16' }));
  }
  await writeFile(join(dir, 'model.safetensors.index.json'), JSON.stringify({ metadata: {}, weight_map: weightMap }));
}

// ---- pytorch_model.bin as torch.save writes it (zip of data.pkl + one storage per tensor) ----

function bytes(...parts: (number | string | Uint8Array)[]): Uint8Array {
  const out: number[] = [];
  for (const p of parts) {
    if (typeof p === 'number') out.push(p);
    else if (typeof p === 'string') for (const c of p) out.push(c.charCodeAt(0));
    else out.push(...p);
  }
  return new Uint8Array(out);
}
const binUnicode = (s: string) => bytes(0x58, new Uint8Array(new Uint32Array([s.length]).buffer), s);
const binInt = (n: number) => bytes(0x4a, new Uint8Array(new Int32Array([n]).buffer));
const globalRef = (module: string, name: string) => bytes(0x63, `${module}\n${name}\n`);
const [MARK, TUPLE, REDUCE, STOP, BINPERSID, SETITEMS, EMPTY_TUPLE, NEWFALSE, PROTO] = [
  0x28, 0x74, 0x52, 0x2e, 0x51, 0x75, 0x29, 0x89, 0x80,
];
const orderedDict = () => bytes(globalRef('collections', 'OrderedDict'), EMPTY_TUPLE, REDUCE);

/** An OrderedDict of bfloat16 parameters: pickle protocol 2, contiguous, storage i per tensor. */
function torchBin(weights: Map<string, NamedArray>): Uint8Array {
  const items: Uint8Array[] = [];
  const entries: [string, Uint8Array][] = [];
  [...weights].forEach(([name, w], key) => {
    const stride = w.shape.map((_, i) => w.shape.slice(i + 1).reduce((a, b) => a * b, 1));
    const tensor = bytes(
      globalRef('torch._utils', '_rebuild_tensor_v2'),
      MARK,
      MARK,
      binUnicode('storage'),
      globalRef('torch', 'BFloat16Storage'),
      binUnicode(String(key)),
      binUnicode('cpu'),
      binInt(w.data.length),
      TUPLE,
      BINPERSID,
      binInt(0),
      MARK,
      ...w.shape.map(binInt),
      TUPLE,
      MARK,
      ...stride.map(binInt),
      TUPLE,
      NEWFALSE,
      orderedDict(),
      TUPLE,
      REDUCE,
    );
    items.push(bytes(binUnicode(name), tensor));
    entries.push([`archive/data/${key}`, new Uint8Array(bf16Bits(w.data).buffer)]);
  });
  const pkl = bytes(PROTO, 2, orderedDict(), MARK, ...items, SETITEMS, STOP);
  return buildStoredZip([['archive/data.pkl', pkl], ...entries, ['archive/version', bytes('3\n')]]);
}

describe.each(['muddformer', 'muddpythia'] as const)('released %s layout', (family) => {
  it('config.json with the released key set parses without warnings; sharded bf16 safetensors and pytorch_model.bin load to the same model', async () => {
    const json = releasedConfig(family);
    const warnings: string[] = [];
    const config = parseConfig(json, { onWarning: (m) => warnings.push(m) });
    expect(warnings).toEqual([]);
    const init = initModel(config, 3);
    const weights = modelWeights(init);
    init.dispose();
    // move the MUDD weights off their residual init so they matter
    for (const [name, w] of weights) {
      if (name.startsWith('dynamic_dense.') || name.startsWith('dense_bs.'))
        for (let i = 0; i < w.data.length; i++) w.data[i] += Math.sin(i + name.length) * 0.3;
    }
    const rounded = new Map([...weights].map(([n, w]) => [n, { shape: w.shape, data: bf16Round(w.data) }]));

    const st = await mkdtemp(join(tmpdir(), 'mudd-st-'));
    const bin = await mkdtemp(join(tmpdir(), 'mudd-bin-'));
    dirs.push(st, bin);
    for (const d of [st, bin]) await writeFile(join(d, 'config.json'), JSON.stringify(json, null, 2));
    await writeSharded(st, weights);
    await writeFile(join(bin, 'pytorch_model.bin'), torchBin(weights));

    const a = await loadModel(st);
    const b = await loadModel(bin);
    try {
      for (const m of [a, b]) {
        for (const [name, v] of m.variables) {
          expect([...v.dataSync()], name).toEqual([...(rounded.get(name) as NamedArray).data]);
        }
      }
      const ids = [[1, 5, 9, 33, 70, 2, 159, 0]];
      const la = tf.tidy(() => a.forward(ids).dataSync());
      const lb = tf.tidy(() => b.forward(ids).dataSync());
      expect(la).toEqual(lb);
    } finally {
      a.dispose();
      b.dispose();
    }
  });
});
