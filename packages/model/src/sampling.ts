/**
 * Logits processors and token choice for generation, on one row of logits (Float32Array of V).
 * Kept in JS: V-sized work per token is small next to the model, and it keeps sampling identical on
 * every backend for a given seed.
 */
import { InputError } from '@dcformer/kernels';
import { seededUniform } from './init.js';

export interface SamplingOptions {
  /** Argmax (the default when no other sampling option is set). */
  greedy?: boolean;
  /** Divide logits by t > 0 before sampling. Default 1. 0 means argmax (as llama.cpp and the OpenAI API). */
  temperature?: number;
  /** Keep the k most likely tokens. */
  topK?: number;
  /** Keep the smallest set of most likely tokens whose probability reaches p (nucleus). */
  topP?: number;
  /** > 1 penalises tokens already in the row (prompt and generated), as in CTRL / HF: logit > 0 ? l/p : l·p. */
  repetitionPenalty?: number;
  /** Seed of the sampling RNG; the same seed gives the same tokens. Alone it does not turn sampling on. */
  seed?: number;
}

export function validateSampling(o: SamplingOptions, caller: string): void {
  const bad = (name: string, want: string, got: unknown) =>
    new InputError(`${caller}: '${name}' must be ${want}; got ${JSON.stringify(got)}`);
  if (o.temperature !== undefined && !(o.temperature >= 0 && Number.isFinite(o.temperature)))
    throw bad('temperature', 'a number ≥ 0 (0: argmax)', o.temperature);
  if (o.topK !== undefined && !(Number.isInteger(o.topK) && o.topK >= 1)) throw bad('topK', 'an integer ≥ 1', o.topK);
  if (o.topP !== undefined && !(o.topP > 0 && o.topP <= 1)) throw bad('topP', 'a number in (0, 1]', o.topP);
  if (o.repetitionPenalty !== undefined && !(o.repetitionPenalty > 0 && Number.isFinite(o.repetitionPenalty)))
    throw bad('repetitionPenalty', 'a number > 0', o.repetitionPenalty);
  if (o.seed !== undefined && !Number.isInteger(o.seed)) throw bad('seed', 'an integer', o.seed);
}

/**
 * True when the options ask for sampling rather than argmax: temperature > 0, topK or topP. A seed
 * alone does not (it only fixes the draws of a sampling run), and temperature 0 is argmax whatever
 * else is set.
 */
export function isSampling(o: SamplingOptions): boolean {
  if (o.greedy || o.temperature === 0) return false;
  return o.temperature !== undefined || o.topK !== undefined || o.topP !== undefined;
}

/** Index of the largest value; the first one on ties (as torch.argmax). */
export function argmax(values: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < values.length; i++) if (values[i] > values[best]) best = i;
  return best;
}

export function applyRepetitionPenalty(logits: Float32Array, seen: Iterable<number>, penalty: number): void {
  if (penalty === 1) return;
  for (const id of new Set(seen)) {
    const l = logits[id];
    logits[id] = l > 0 ? l / penalty : l * penalty;
  }
}

/**
 * Probabilities after temperature, top-k and top-p (tokens filtered out get 0). Ties at the top-k
 * boundary keep the lower ids, so the result does not depend on sort stability.
 */
export function filteredProbs(logits: Float32Array, o: SamplingOptions): Float64Array {
  const V = logits.length;
  const t = o.temperature ?? 1;
  const order = Array.from({ length: V }, (_, i) => i).sort((a, b) => logits[b] - logits[a] || a - b);
  const keep = Math.min(V, o.topK ?? V);
  const probs = new Float64Array(V);
  const max = logits[order[0]] / t;
  let sum = 0;
  for (let r = 0; r < keep; r++) {
    const i = order[r];
    probs[i] = Math.exp(logits[i] / t - max);
    sum += probs[i];
  }
  for (let r = 0; r < keep; r++) probs[order[r]] /= sum;
  if (o.topP !== undefined && o.topP < 1) {
    let cumulative = 0;
    let cut = keep;
    for (let r = 0; r < keep; r++) {
      cumulative += probs[order[r]];
      if (cumulative >= o.topP) {
        cut = r + 1;
        break;
      }
    }
    let kept = 0;
    for (let r = 0; r < keep; r++) {
      if (r >= cut) probs[order[r]] = 0;
      else kept += probs[order[r]];
    }
    for (let r = 0; r < cut; r++) probs[order[r]] /= kept;
  }
  return probs;
}

/** A token chooser: argmax, or seeded sampling from the filtered distribution. */
export function tokenChooser(o: SamplingOptions): (logits: Float32Array, seen: readonly number[]) => number {
  const uniform = seededUniform(o.seed ?? 0);
  const sampling = isSampling(o);
  return (raw, seen) => {
    const logits = o.repetitionPenalty !== undefined ? Float32Array.from(raw) : raw;
    if (o.repetitionPenalty !== undefined) applyRepetitionPenalty(logits, seen, o.repetitionPenalty);
    if (!sampling) return argmax(logits);
    const probs = filteredProbs(logits, o);
    let u = uniform();
    for (let i = 0; i < probs.length; i++) {
      u -= probs[i];
      if (u < 0) return i;
    }
    return argmax(probs); // rounding left u ≥ 0: take the most likely token
  };
}
