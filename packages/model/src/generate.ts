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
import { readAsync, readSync, type Reads } from './reads.js';
import { tokenChooser, validateSampling, type SamplingOptions } from './sampling.js';

export interface Prefilled {
  cache: KVCache;
  /** Logits of each row's last prompt token, [B][V]. */
  lastLogits: Float32Array[];
}

function padPrompts(prompts: number[][]): { rows: number[][]; pads: number[]; T: number } {
  if (!Array.isArray(prompts) || prompts.length === 0)
    throw new InputError('prefill: prompts must be a non-empty array of id arrays');
  prompts.forEach((p, b) => {
    if (!Array.isArray(p) || p.length === 0)
      throw new InputError(`prefill: prompt ${b} is empty; every prompt needs at least one token`);
  });
  const T = Math.max(...prompts.map((p) => p.length));
  const pads = prompts.map((p) => T - p.length);
  // padding id 0 is a valid id; its positions are masked out of every row's attention
  return { rows: prompts.map((p, b) => [...new Array(pads[b]).fill(0), ...p]), pads, T };
}

function splitRows(flat: Float32Array, B: number, V: number): Float32Array[] {
  return Array.from({ length: B }, (_, b) => flat.slice(b * V, (b + 1) * V));
}

/** The last prompt position's logits [B,V] after a cached prefill (a tensor: the caller reads it). */
function prefillLast(model: DcformerModel, rows: number[][], T: number, cache: KVCache): tf.Tensor {
  return tf.tidy(() => {
    const logits_BTV = model.forwardCached(rows, cache);
    const [B, , V] = logits_BTV.shape as number[];
    return tf.reshape(tf.slice(logits_BTV, [0, T - 1, 0], [B, 1, V]), [B, V]);
  });
}

/** Reads a tensor made for this read, then frees it (also when the read fails). */
function* readOnce(t: tf.Tensor): Reads<Float32Array> {
  try {
    return (yield t) as Float32Array;
  } finally {
    t.dispose();
  }
}

function* prefillSteps(model: DcformerModel, prompts: number[][]): Reads<Prefilled> {
  const { rows, pads, T } = padPrompts(prompts);
  const cache = model.createCache(prompts.length, pads);
  try {
    const flat = yield* readOnce(prefillLast(model, rows, T, cache));
    return { cache, lastLogits: splitRows(flat, prompts.length, model.config.vocabSize) };
  } catch (e) {
    cache.dispose();
    throw e;
  }
}

function* decodeSteps(model: DcformerModel, cache: KVCache, tokens: number[]): Reads<Float32Array[]> {
  const logits = model.forwardCached(
    tokens.map((t) => [t]),
    cache,
  );
  const flat = yield* readOnce(logits);
  return splitRows(flat, tokens.length, model.config.vocabSize);
}

/** Runs the prompts through the model, filling a new cache. Prompts may differ in length (≥ 1). Reads with dataSync(). */
export function prefill(model: DcformerModel, prompts: number[][]): Prefilled {
  return readSync(prefillSteps(model, prompts));
}

/** `prefill` reading results with `await data()`: required on GPU backends (no synchronous read-back). */
export function prefillAsync(model: DcformerModel, prompts: number[][]): Promise<Prefilled> {
  return readAsync(prefillSteps(model, prompts));
}

/** Feeds one token per row; returns each row's next-token logits [B][V]. Reads with dataSync(). */
export function decodeOne(model: DcformerModel, cache: KVCache, tokens: number[]): Float32Array[] {
  return readSync(decodeSteps(model, cache, tokens));
}

/** `decodeOne` reading results with `await data()` (GPU backends). */
export function decodeOneAsync(model: DcformerModel, cache: KVCache, tokens: number[]): Promise<Float32Array[]> {
  return readAsync(decodeSteps(model, cache, tokens));
}

/**
 * Teacher-forced cached logits [B·T·V]: a cached prefill of the first P tokens, then one decode step
 * per remaining token. The cached path's answer to `forward(ids)` (and what `dcformer logits --prefill`
 * prints), so the two paths can be compared position by position. Reads with `await data()`, so it
 * runs on every backend.
 */
export async function cachedLogits(model: DcformerModel, ids: number[][], P: number): Promise<Float32Array> {
  const B = ids.length;
  const T = ids[0].length;
  const V = model.config.vocabSize;
  if (!Number.isInteger(P) || P < 1 || P > T)
    throw new InputError(`cachedLogits: prefill length P must be in [1, ${T}]; got ${P}`);
  const out = new Float32Array(B * T * V);
  const cache = model.createCache(B);
  try {
    const first_BPV = model.forwardCached(
      ids.map((row) => row.slice(0, P)),
      cache,
    );
    const first = (await first_BPV.data()) as Float32Array;
    first_BPV.dispose();
    for (let b = 0; b < B; b++) out.set(first.subarray(b * P * V, (b + 1) * P * V), b * T * V);
    for (let t = P; t < T; t++) {
      const step = await decodeOneAsync(
        model,
        cache,
        ids.map((row) => row[t]),
      );
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
  /**
   * Asked after every new token of a row (after onToken): true stops that row, the token kept. For
   * stop conditions on text (stop strings), which only the caller's tokenizer can see.
   */
  stopWhen?: (row: number, newIds: readonly number[]) => boolean;
  /** Called for every new token, in order, as soon as it is chosen. */
  onToken?: (row: number, id: number) => void;
  /**
   * Called each time the cache is full and the context is cropped (see `generate`), with the number
   * of tokens each row keeps.
   */
  onCrop?: (kept: number) => void;
}

export interface GenerateResult {
  /** Per row: prompt ids followed by the new ids (rows may differ in length). */
  ids: number[][];
  newIds: number[][];
  prefillMs: number;
  /** New tokens over decode wall time (all rows); 0 when nothing was decoded. */
  decodeTokensPerS: number;
}

interface Loop {
  maxNew: number;
  stops: Set<number>;
  choose: (logits: Float32Array, seen: readonly number[]) => number;
  newIds: number[][];
  done: boolean[];
  /** Positions in the cache now (the padded batch length). */
  cached: number;
}

function startLoop(model: DcformerModel, prompts: number[][], options: GenerateOptions): Loop {
  const maxNew = options.maxNewTokens ?? 64;
  if (!Number.isInteger(maxNew) || maxNew < 0)
    throw new InputError(`generate: 'maxNewTokens' must be an integer ≥ 0; got ${maxNew}`);
  validateSampling(options, 'generate');
  const longest = Math.max(...prompts.map((p) => p.length));
  if (longest > model.config.blockSize) {
    throw new InputError(`generate: longest prompt (${longest} tokens) exceeds block_size ${model.config.blockSize}`);
  }
  return {
    maxNew,
    stops: new Set(options.stopTokens ?? []),
    choose: tokenChooser(options),
    newIds: prompts.map(() => []),
    done: prompts.map(() => maxNew === 0),
    cached: longest,
  };
}

/** Chooses each unfinished row's next token; returns the tokens to feed (0 for finished rows). */
function chooseNext(loop: Loop, prompts: number[][], logits: Float32Array[], options: GenerateOptions): number[] {
  return prompts.map((prompt, b) => {
    if (loop.done[b]) return 0;
    const id = loop.choose(logits[b], [...prompt, ...loop.newIds[b]]);
    loop.newIds[b].push(id);
    options.onToken?.(b, id);
    if (loop.stops.has(id) || loop.newIds[b].length >= loop.maxNew || options.stopWhen?.(b, loop.newIds[b]) === true)
      loop.done[b] = true;
    return id;
  });
}

/**
 * Each row's last ⌊block_size/2⌋ tokens (prompt and new), the context that replaces a full cache.
 * Half rather than all but one, as nanoGPT's crop would do per token: one re-prefill then buys
 * block_size/2 cheap decode steps instead of one.
 */
function croppedContexts(model: DcformerModel, prompts: number[][], loop: Loop): number[][] {
  const keep = Math.max(1, Math.floor(model.config.blockSize / 2));
  return prompts.map((p, b) => [...p, ...loop.newIds[b]].slice(-keep));
}

function result(prompts: number[][], loop: Loop, prefillMs: number, decodeMs: number, decoded: number): GenerateResult {
  return {
    ids: prompts.map((p, b) => [...p, ...loop.newIds[b]]),
    newIds: loop.newIds,
    prefillMs,
    decodeTokensPerS: decodeMs > 0 ? (decoded / decodeMs) * 1000 : 0,
  };
}

/**
 * The generation loop, written once: both `generate` (dataSync) and `generateAsync` (await data())
 * drive it. The first new token comes from the prefill logits, each later one from one decode step
 * (as the official generate()). When the cache holds block_size positions, every row keeps its
 * last ⌊block_size/2⌋ tokens, which are prefilled afresh (positions from 0) into a new cache, and
 * decoding goes on (`onCrop` is told).
 */
function* generateSteps(model: DcformerModel, prompts: number[][], options: GenerateOptions): Reads<GenerateResult> {
  const loop = startLoop(model, prompts, options);
  const t0 = performance.now();
  let { cache, lastLogits } = yield* prefillSteps(model, prompts);
  const prefillMs = performance.now() - t0;
  let decodeMs = 0;
  let decoded = 0;
  try {
    let logits = lastLogits;
    for (let step = 0; step < loop.maxNew; step++) {
      const next = chooseNext(loop, prompts, logits, options);
      if (loop.done.every(Boolean)) break;
      const s = performance.now();
      if (loop.cached < model.config.blockSize) {
        logits = yield* decodeSteps(model, cache, next);
        loop.cached++;
      } else {
        const contexts = croppedContexts(model, prompts, loop);
        cache.dispose();
        ({ cache, lastLogits: logits } = yield* prefillSteps(model, contexts));
        loop.cached = Math.max(...contexts.map((c) => c.length));
        options.onCrop?.(loop.cached);
      }
      decodeMs += performance.now() - s;
      decoded += loop.done.filter((d) => !d).length;
    }
  } finally {
    cache.dispose();
  }
  return result(prompts, loop, prefillMs, decodeMs, decoded);
}

/**
 * Greedy by default; sampling when temperature (> 0), topK or topP is set; goes past block_size by
 * re-prefilling the last half block (see generateSteps). Reads logits with dataSync(): cpu/wasm.
 */
export function generate(model: DcformerModel, prompts: number[][], options: GenerateOptions = {}): GenerateResult {
  return readSync(generateSteps(model, prompts, options));
}

/** `generate` reading logits with `await data()`: the form that runs on GPU backends too. */
export function generateAsync(
  model: DcformerModel,
  prompts: number[][],
  options: GenerateOptions = {},
): Promise<GenerateResult> {
  return readAsync(generateSteps(model, prompts, options));
}
