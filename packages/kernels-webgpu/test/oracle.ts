/**
 * The official-code golden data (<repo>/fixtures/oracle, DESIGN.md "Golden data") and asynchronous
 * forms of the model's read-back loops: DcformerModel's prefill/decodeOne/lossAndGrads read with
 * dataSync(), which the webgpu backend cannot do in Node (no OffscreenCanvas).
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import type { Tensor, Variable } from '@tensorflow/tfjs-core';
import { parseSafetensors, splitDw, toFloat32, type DcformerModel } from '@dcformer/model';

export const ORACLE_DIR = fileURLToPath(new URL('../../../fixtures/oracle/', import.meta.url));

export function golden(name: string) {
  return JSON.parse(readFileSync(`${ORACLE_DIR}${name}/golden.json`, 'utf8'));
}

export interface GradRef {
  shape: number[];
  data: Float32Array;
  /** max |value| as stored (dw_m / qkw_m for the dynamic weights): the scale of DESIGN.md's tolerance. */
  scale: number;
}

/** train_as_infer gradients by parameter name, dw_m/qkw_m split as DESIGN.md says. */
export function oracleGrads(name: string, dim: number, nHead: number): Map<string, GradRef> {
  const file = parseSafetensors(new Uint8Array(readFileSync(`${ORACLE_DIR}${name}/grads.safetensors`)));
  const out = new Map<string, GradRef>();
  const prefix = 'train_as_infer.';
  const N = nHead;
  const K = 4 * N;
  for (const [full, raw] of file.tensors) {
    if (!full.startsWith(prefix)) continue;
    const key = full.slice(prefix.length);
    const data = toFloat32(raw, full);
    const scale = data.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
    if (key.endsWith('.dw_m')) {
      const base = key.slice(0, -'.dw_m'.length);
      const { dw1, dd } = splitDw(data, dim, K, N);
      out.set(`${base}.dw1`, { shape: [dim, 1, 4, K], data: dw1, scale });
      out.set(`${base}.dd`, { shape: [dim, 1, 4 * N], data: dd, scale });
    } else if (key.endsWith('.qkw_m')) {
      const base = key.slice(0, -'.qkw_m'.length);
      const [C, KK, J] = raw.shape;
      out.set(`${base}.qkw`, { shape: [1, C, KK, J / N, N], data, scale });
    } else {
      out.set(key, { shape: raw.shape, data, scale });
    }
  }
  return out;
}

async function take(t: Tensor): Promise<Float32Array> {
  try {
    return (await t.data()) as Float32Array;
  } finally {
    t.dispose();
  }
}

/** Loss and the gradient of every parameter (official names), read asynchronously. */
export async function lossAndGradsAsync(model: DcformerModel, ids: number[][]): Promise<{ loss: number; grads: Map<string, Float32Array> }> {
  const vars = [...model.variables.values()];
  const { value, grads } = tf.variableGrads(() => model.loss(ids) as tf.Scalar, vars);
  const out = new Map<string, Float32Array>();
  for (const [name, v] of model.variables) out.set(name, await take(grads[(v as Variable).name]));
  return { loss: (await take(value))[0], grads: out };
}

/** Cached prefill of P tokens, then teacher-forced one-token steps: logits [B,T,V] flattened. */
export async function cachedLogitsAsync(model: DcformerModel, ids: number[][], P: number): Promise<Float32Array> {
  const B = ids.length;
  const T = ids[0].length;
  const V = model.config.vocabSize;
  const out = new Float32Array(B * T * V);
  const cache = model.createCache(B);
  try {
    const first = await take(model.forwardCached(ids.map((r) => r.slice(0, P)), cache));
    for (let b = 0; b < B; b++) out.set(first.subarray(b * P * V, (b + 1) * P * V), b * T * V);
    for (let t = P; t < T; t++) {
      const step = await take(model.forwardCached(ids.map((r) => [r[t]]), cache));
      for (let b = 0; b < B; b++) out.set(step.subarray(b * V, (b + 1) * V), (b * T + t) * V);
    }
  } finally {
    cache.dispose();
  }
  return out;
}

export interface GreedyStep {
  id: number;
  /** top-1 minus top-2 logit: how far the choice is from a tie. */
  margin: number;
}

function top2(row: Float32Array): GreedyStep {
  let best = 0;
  let second = -1;
  for (let i = 1; i < row.length; i++) {
    if (row[i] > row[best]) {
      second = best;
      best = i;
    } else if (second < 0 || row[i] > row[second]) {
      second = i;
    }
  }
  return { id: best, margin: row[best] - row[second] };
}

/**
 * Greedy decoding of equal-length prompts as one batch with the cache, reading asynchronously: per
 * row, the chosen ids and their top-2 margins.
 */
export async function greedyAsync(model: DcformerModel, prompts: number[][], steps: number): Promise<GreedyStep[][]> {
  const V = model.config.vocabSize;
  const P = prompts[0].length;
  if (prompts.some((p) => p.length !== P)) throw new Error('greedyAsync: prompts must have equal length');
  const cache = model.createCache(prompts.length);
  const chosen: GreedyStep[][] = prompts.map(() => []);
  try {
    const first = await take(model.forwardCached(prompts, cache));
    let rows = prompts.map((_, b) => first.subarray((b * P + P - 1) * V, (b * P + P) * V));
    for (let i = 0; i < steps; i++) {
      const next = rows.map((row) => top2(row));
      next.forEach((step, b) => chosen[b].push(step));
      if (i === steps - 1) break;
      const logits = await take(model.forwardCached(next.map((s) => [s.id]), cache));
      rows = prompts.map((_, b) => logits.subarray(b * V, (b + 1) * V));
    }
  } finally {
    cache.dispose();
  }
  return chosen;
}
