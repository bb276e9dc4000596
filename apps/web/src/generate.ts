/**
 * Streaming generation for the page. DcformerModel's generate() reads logits with dataSync(); in a
 * browser that works on WebGPU only through a blocking canvas round trip, so this loop reads with
 * `await data()` instead: the page repaints between tokens and the text streams.
 */
import { tokenChooser, type DcformerModel, type SamplingOptions } from '@dcformer/model';

export interface StreamOptions extends SamplingOptions {
  maxNewTokens: number;
  /** Stop after producing one of these (from the tokenizer, e.g. <|endoftext|>). */
  stopTokens?: readonly number[];
  /** Checked before every step; return true to stop early. */
  shouldStop?: () => boolean;
}

export interface StreamStep {
  id: number;
  /** top-1 minus top-2 logit of the distribution this id came from (how far from a tie). */
  margin: number;
}

export interface StreamStats {
  prefillMs: number;
  decodeMs: number;
  /** Tokens chosen from decode-step logits (the first comes from the prefill). */
  decodedTokens: number;
}

function margin(row: Float32Array): number {
  let a = -Infinity;
  let b = -Infinity;
  for (const v of row) {
    if (v > a) [a, b] = [v, a];
    else if (v > b) b = v;
  }
  return a - b;
}

/** The longest prompt suffix that leaves room for `maxNew` tokens in the model's block size. */
export function fitPrompt(prompt: number[], maxNew: number, blockSize: number): number[] {
  const room = blockSize - Math.max(0, maxNew - 1);
  if (room < 1) throw new Error(`max new tokens ${maxNew} leave no room for a prompt in block_size ${blockSize}`);
  return prompt.length > room ? prompt.slice(prompt.length - room) : prompt;
}

/** Yields one token per step (cached decode, batch of one); `stats` is filled as it goes. */
export async function* streamTokens(
  model: DcformerModel,
  prompt: number[],
  o: StreamOptions,
  stats: StreamStats,
): AsyncGenerator<StreamStep> {
  if (prompt.length === 0)
    throw new Error('the prompt is empty: type something (the byte-level tokenizer needs at least one character)');
  const V = model.config.vocabSize;
  const choose = tokenChooser(o);
  const stops = new Set(o.stopTokens ?? []);
  const seen = [...prompt];
  const cache = model.createCache(1);
  try {
    let t0 = performance.now();
    const first = model.forwardCached([prompt], cache);
    let row: Float32Array = ((await first.data()) as Float32Array).slice((prompt.length - 1) * V);
    first.dispose();
    stats.prefillMs = performance.now() - t0;
    for (let step = 0; step < o.maxNewTokens; step++) {
      const id = choose(row, seen);
      seen.push(id);
      yield { id, margin: margin(row) };
      if (stops.has(id) || step === o.maxNewTokens - 1 || o.shouldStop?.()) break;
      t0 = performance.now();
      const next = model.forwardCached([[id]], cache);
      row = (await next.data()) as Float32Array;
      next.dispose();
      stats.decodeMs += performance.now() - t0;
      stats.decodedTokens += 1;
    }
  } finally {
    cache.dispose();
  }
}
