/**
 * A model folder in the browser: config.json (official keys) + model.safetensors (or a sharded
 * model.safetensors.index.json) + tokenizer.json, from a URL or from files the user picked.
 */
import * as tf from '@tensorflow/tfjs-core';
import {
  modelFromWeights,
  parseConfig,
  parseSafetensors,
  toFloat32,
  type DcformerModel,
  type NamedArray,
} from '@dcformer/model';
import { tokenizerFromJson, type Tokenizer } from '@dcformer/tokenizer';
import type { BackendChoice } from './backend.js';

export interface LoadedModel {
  model: DcformerModel;
  tokenizer: Tokenizer;
  source: string;
  parameters: number;
}

/** Reads one file of the folder, or null when it is not there. */
type Reader = (name: string) => Promise<Uint8Array | null>;

function urlReader(base: string): Reader {
  const root = base.endsWith('/') ? base : `${base}/`;
  return async (name) => {
    const res = await fetch(new URL(name, new URL(root, location.href)));
    if (res.status === 404) return null;
    if (!res.ok) throw new Error(`${root}${name}: HTTP ${res.status}`);
    return new Uint8Array(await res.arrayBuffer());
  };
}

function fileReader(files: FileList | File[]): Reader {
  // A folder picked with webkitdirectory gives paths like "tiny/config.json": match on the base name.
  const byName = new Map(Array.from(files).map((f) => [f.name, f]));
  return async (name) => {
    const f = byName.get(name);
    return f ? new Uint8Array(await f.arrayBuffer()) : null;
  };
}

const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);

async function need(read: Reader, name: string, where: string): Promise<Uint8Array> {
  const bytes = await read(name);
  if (bytes === null)
    throw new Error(`${where}: no ${name} (a model folder holds config.json, model.safetensors and tokenizer.json)`);
  return bytes;
}

async function readWeights(read: Reader, where: string): Promise<Map<string, NamedArray>> {
  const single = await read('model.safetensors');
  const files: [string, Uint8Array][] = [];
  if (single !== null) {
    files.push(['model.safetensors', single]);
  } else {
    const index = await read('model.safetensors.index.json');
    if (index === null) throw new Error(`${where}: no model.safetensors or model.safetensors.index.json`);
    const map = (JSON.parse(text(index)) as { weight_map?: Record<string, string> }).weight_map ?? {};
    for (const shard of new Set(Object.values(map))) files.push([shard, await need(read, shard, where)]);
  }
  const weights = new Map<string, NamedArray>();
  for (const [file, bytes] of files) {
    for (const [name, raw] of parseSafetensors(bytes, file).tensors)
      weights.set(name, { shape: raw.shape, data: toFloat32(raw, name, file) });
  }
  return weights;
}

function checkFits(weights: Map<string, NamedArray>, backend: BackendChoice, where: string): number {
  let total = 0;
  for (const [name, w] of weights) {
    const bytes = w.data.length * 4;
    total += w.data.length;
    if (bytes > backend.maxTensorBytes) {
      throw new Error(
        `${where}: tensor '${name}' needs ${(bytes / 2 ** 20).toFixed(0)} MiB as float32, more than ${backend.name} allows per buffer (${(backend.maxTensorBytes / 2 ** 20).toFixed(0)} MiB)`,
      );
    }
  }
  if (total * 4 > backend.maxWeightBytes) {
    throw new Error(
      `${where}: ${(total / 1e6).toFixed(0)}M parameters (${((total * 4) / 2 ** 30).toFixed(1)} GiB as float32) exceed what this page supports on ${backend.name} (${(backend.maxWeightBytes / 2 ** 30).toFixed(1)} GiB)`,
    );
  }
  return total;
}

async function load(read: Reader, where: string, backend: BackendChoice): Promise<LoadedModel> {
  const config = parseConfig(JSON.parse(text(await need(read, 'config.json', where))), {
    onWarning: (m) => console.warn(m),
  });
  const tokenizer = tokenizerFromJson(JSON.parse(text(await need(read, 'tokenizer.json', where))));
  const weights = await readWeights(read, where);
  const parameters = checkFits(weights, backend, where);
  const model = modelFromWeights(config, weights, { source: where, onWarning: (m) => console.warn(m) });
  // Touch every weight now (upload to the GPU), so the first generation does not pay for it.
  const sums = tf.tidy(() => [...model.variables.values()].map((v) => tf.sum(v)));
  await Promise.all(sums.map((s) => s.data()));
  tf.dispose(sums);
  return { model, tokenizer, source: where, parameters };
}

export function loadFromUrl(base: string, backend: BackendChoice): Promise<LoadedModel> {
  return load(urlReader(base), base, backend);
}

export function loadFromFiles(files: FileList | File[], backend: BackendChoice): Promise<LoadedModel> {
  const first = Array.from(files)[0] as (File & { webkitRelativePath?: string }) | undefined;
  const folder = first?.webkitRelativePath?.split('/')[0] || 'picked files';
  return load(fileReader(files), folder, backend);
}
