/**
 * Streaming generation for the page: the model's prefillAsync / decodeOneAsync steps (reads by
 * `await data()`, so the page repaints between tokens and the text streams), one token yielded at a
 * time with its top-1/top-2 margin.
 */
import { decodeOneAsync, prefillAsync, tokenChooser, type DcformerModel, type SamplingOptions } from '@dcformer/model';

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
  const choose = tokenChooser(o);
  const stops = new Set(o.stopTokens ?? []);
  const seen = [...prompt];
  let t0 = performance.now();
  const { cache, lastLogits } = await prefillAsync(model, [prompt]);
  try {
    let row = lastLogits[0];
    stats.prefillMs = performance.now() - t0;
    for (let step = 0; step < o.maxNewTokens; step++) {
      const id = choose(row, seen);
      seen.push(id);
      yield { id, margin: margin(row) };
      if (stops.has(id) || step === o.maxNewTokens - 1 || o.shouldStop?.()) break;
      t0 = performance.now();
      [row] = await decodeOneAsync(model, cache, [id]);
      stats.decodeMs += performance.now() - t0;
      stats.decodedTokens += 1;
    }
  } finally {
    cache.dispose();
  }
}
