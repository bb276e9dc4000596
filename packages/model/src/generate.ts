/**
 * Generation in small pieces: prefill (prompts → cache + last logits), decodeOne (one token per row
 * → next logits), and generate (the loop with stopping and streaming). Prompts of different lengths
 * are left-padded; attention masks the padding per row and RoPE counts from each row's first token,
 * so a row's tokens do not depend on the other rows.
 */
import * as tf from '@tensorflow/tfjs-core';
import { InputError } from '@dcformer/kernels';
import type { KVCache } from './cache.js';
import type { DcformerModel } from './model.js';
import { tokenChooser, validateSampling, type SamplingOptions } from './sampling.js';

export interface Prefilled {
  cache: KVCache;
  /** Logits of each row's last prompt token, [B][V]. */
  lastLogits: Float32Array[];
}

/** Runs the prompts through the model, filling a new cache. Prompts may differ in length (≥ 1). */
export function prefill(model: DcformerModel, prompts: number[][]): Prefilled {
  if (!Array.isArray(prompts) || prompts.length === 0) throw new InputError('prefill: prompts must be a non-empty array of id arrays');
  prompts.forEach((p, b) => {
    if (!Array.isArray(p) || p.length === 0) throw new InputError(`prefill: prompt ${b} is empty; every prompt needs at least one token`);
  });
  const T = Math.max(...prompts.map((p) => p.length));
  const pads = prompts.map((p) => T - p.length);
  // padding id 0 is a valid id; its positions are masked out of every row's attention
  const rows = prompts.map((p, b) => [...new Array(pads[b]).fill(0), ...p]);
  const cache = model.createCache(prompts.length, pads);
  try {
    const lastLogits = tf.tidy(() => {
      const logits_BTV = model.forwardCached(rows, cache);
      const [B, , V] = logits_BTV.shape as number[];
      const last = tf.reshape(tf.slice(logits_BTV, [0, T - 1, 0], [B, 1, V]), [B, V]).dataSync() as Float32Array;
      return Array.from({ length: B }, (_, b) => last.slice(b * V, (b + 1) * V));
    });
    return { cache, lastLogits };
  } catch (e) {
    cache.dispose();
    throw e;
  }
}

/** Feeds one token per row; returns each row's next-token logits [B][V]. */
export function decodeOne(model: DcformerModel, cache: KVCache, tokens: number[]): Float32Array[] {
  return tf.tidy(() => {
    const logits_BTV = model.forwardCached(tokens.map((t) => [t]), cache);
    const [B, , V] = logits_BTV.shape as number[];
    const flat = logits_BTV.dataSync() as Float32Array;
    return Array.from({ length: B }, (_, b) => flat.slice(b * V, (b + 1) * V));
  });
}

/**
 * Teacher-forced cached logits [B·T·V]: a cached prefill of the first P tokens, then one decode step
 * per remaining token. The cached path's answer to `forward(ids)` (and what `dcformer logits --prefill`
 * prints), so the two paths can be compared position by position.
 */
export function cachedLogits(model: DcformerModel, ids: number[][], P: number): Float32Array {
  const B = ids.length;
  const T = ids[0].length;
  const V = model.config.vocabSize;
  if (!Number.isInteger(P) || P < 1 || P > T) throw new InputError(`cachedLogits: prefill length P must be in [1, ${T}]; got ${P}`);
  const out = new Float32Array(B * T * V);
  const cache = model.createCache(B);
  try {
    const first = tf.tidy(() => model.forwardCached(ids.map((row) => row.slice(0, P)), cache).dataSync());
    for (let b = 0; b < B; b++) out.set(first.subarray(b * P * V, (b + 1) * P * V), b * T * V);
    for (let t = P; t < T; t++) {
      const step = decodeOne(model, cache, ids.map((row) => row[t]));
      for (let b = 0; b < B; b++) out.set(step[b], (b * T + t) * V);
    }
  } finally {
    cache.dispose();
  }
  return out;
}

export interface GenerateOptions extends SamplingOptions {
  /** Default 64. */
  maxNewTokens?: number;
  /** A row stops after producing one of these (it is kept in the output). From the tokenizer, never config.json. */
  stopTokens?: readonly number[];
  /** Called for every new token, in order, as soon as it is chosen. */
  onToken?: (row: number, id: number) => void;
}

export interface GenerateResult {
  /** Per row: prompt ids followed by the new ids (rows may differ in length). */
  ids: number[][];
  newIds: number[][];
  prefillMs: number;
  /** New tokens over decode wall time (all rows); 0 when nothing was decoded. */
  decodeTokensPerS: number;
}

/**
 * Greedy by default; sampling when temperature/topK/topP/seed is set. The first new token comes
 * from the prefill logits, each later one from one decode step (as the official generate()).
 */
export function generate(model: DcformerModel, prompts: number[][], options: GenerateOptions = {}): GenerateResult {
  const maxNew = options.maxNewTokens ?? 64;
  if (!Number.isInteger(maxNew) || maxNew < 0) throw new InputError(`generate: 'maxNewTokens' must be an integer ≥ 0; got ${maxNew}`);
  validateSampling(options, 'generate');
  const longest = Math.max(...prompts.map((p) => p.length));
  if (longest + Math.max(0, maxNew - 1) > model.config.blockSize) {
    throw new InputError(`generate: longest prompt (${longest}) + ${maxNew} new tokens exceeds block_size ${model.config.blockSize}`);
  }
  const stops = new Set(options.stopTokens ?? []);
  const choose = tokenChooser(options);
  const newIds: number[][] = prompts.map(() => []);
  const t0 = performance.now();
  const { cache, lastLogits } = prefill(model, prompts);
  const prefillMs = performance.now() - t0;
  let decodeMs = 0;
  let decoded = 0;
  try {
    const done = prompts.map(() => maxNew === 0);
    let logits = lastLogits;
    for (let step = 0; step < maxNew; step++) {
      const next = prompts.map((prompt, b) => {
        if (done[b]) return 0;
        const id = choose(logits[b], [...prompt, ...newIds[b]]);
        newIds[b].push(id);
        options.onToken?.(b, id);
        if (stops.has(id) || newIds[b].length >= maxNew) done[b] = true;
        return id;
      });
      if (done.every(Boolean)) break;
      const s = performance.now();
      logits = decodeOne(model, cache, next);
      decodeMs += performance.now() - s;
      decoded += done.filter((d) => !d).length;
    }
  } finally {
    cache.dispose();
  }
  return {
    ids: prompts.map((p, b) => [...p, ...newIds[b]]),
    newIds,
    prefillMs,
    decodeTokensPerS: decodeMs > 0 ? (decoded / decodeMs) * 1000 : 0,
  };
}
