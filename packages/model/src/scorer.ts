/**
 * The evaluation `Scorer` of @dcformer/eval, implemented with full forwards. The interface is
 * restated here (this package does not depend on eval; TypeScript matches the two by shape).
 *
 * How requests become forwards:
 * - each request (or rolling window) is a sequence of fed tokens plus the (position, target) pairs
 *   to read from its logits; requests are left-truncated to `maxLength` as lm-eval does;
 * - a sequence that is a prefix of another is not run at all: a causal model's logits at a position
 *   depend only on the tokens up to it, so the longer forward answers both (BoolQ's " no"/" yes",
 *   the six queries of one synthetic-task text). Sorting the sequences lexicographically puts each
 *   one right before a sequence it is a prefix of, if there is one;
 * - the remaining sequences run longest first, several of similar length per forward, right-padded:
 *   causal attention never lets a position see the padding after it, so padding changes nothing and
 *   needs no mask;
 * - only the read positions' logits are log-softmaxed (float32, on the backend); what comes back is
 *   one log-probability and one argmax per read, summed in float64 here.
 */
import * as tf from '@tensorflow/tfjs-core';
import { InputError } from '@dcformer/kernels';
import type { DcformerModel } from './model.js';

export interface LoglikelihoodRequest {
  context: readonly number[];
  continuation: readonly number[];
}
export interface LoglikelihoodResult {
  logprob: number;
  isGreedy: boolean;
}
export interface RollingOptions {
  maxLength?: number;
  stride?: number;
  onProgress?: (done: number, total: number) => void;
}
export interface RollingResult {
  logprob: number;
  tokens: number;
}
export interface ScoreOptions {
  onProgress?: (done: number, total: number) => void;
}

export interface ModelScorerOptions {
  /** Most tokens fed per sequence; default and upper bound: the model's block_size. */
  maxLength?: number;
  /**
   * Most sequences per forward. Default 16, but 1 on the single-threaded 'cpu' and 'wasm' backends:
   * there a forward costs about the same per fed token at any batch size, so batching only adds
   * padding (measured on bench-small, 50 PIQA items: 0.23 items/s alone, 0.18 in batches of 16).
   */
  batchSize?: number;
  /** Most logits (B·T·V floats) one forward may produce; default 2^26 (256 MiB of float32). */
  maxBatchLogits?: number;
}

export interface ModelScorer {
  readonly maxLength: number;
  loglikelihood(requests: readonly LoglikelihoodRequest[], options?: ScoreOptions): Promise<LoglikelihoodResult[]>;
  rolling(ids: readonly number[], options?: RollingOptions): Promise<RollingResult>;
}

/** Fed tokens and what to read from their logits: position p's prediction of `target`, into `slot`. */
interface Sequence {
  input: number[];
  reads: { position: number; target: number; slot: number }[];
  /** The request (or window) it belongs to, for progress. */
  owner: number;
}

// wasm runs batches one sequence at a time (padding costs more than batching saves there). On cpu with
// @dcformer/kernels-cpu, batches of 16 score ~1.8× faster than single sequences (bench-small, 40
// PIQA-sized requests: 40.7 vs 22 requests/s).
const SERIAL_BACKENDS = new Set(['wasm']);

function compareIds(a: readonly number[], b: readonly number[]): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i] - b[i];
  return a.length - b.length;
}

function isPrefix(a: readonly number[], b: readonly number[]): boolean {
  if (a.length > b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Folds every sequence that is a prefix of another into that one; returns the ones left to run. */
function mergePrefixes(sequences: Sequence[]): { runs: Sequence[]; owners: number[][] } {
  const order = sequences.map((_, i) => i).sort((i, j) => compareIds(sequences[i].input, sequences[j].input));
  const runs: Sequence[] = [];
  const owners: number[][] = [];
  let carrier: Sequence | null = null;
  let carried: number[] = [];
  // Walk from the lexicographically largest: a sequence is a prefix of some other sequence iff it is
  // a prefix of the one after it, whose reads are carried along until a sequence that is not.
  for (let k = order.length - 1; k >= 0; k--) {
    const s = sequences[order[k]];
    if (carrier !== null && isPrefix(s.input, carrier.input)) {
      carrier.reads.push(...s.reads);
      carried.push(s.owner);
      continue;
    }
    carrier = { input: s.input, reads: [...s.reads], owner: s.owner };
    carried = [s.owner];
    runs.push(carrier);
    owners.push(carried);
  }
  return { runs, owners };
}

/** How many sequences and logits one forward may take. */
interface BatchLimits {
  batchSize: number;
  maxBatchLogits: number;
}

/** Runs the sequences, longest first in batches of similar length; log-probabilities and argmax flags by slot. */
async function scoreSequences(
  model: DcformerModel,
  sequences: Sequence[],
  slots: number,
  limits: BatchLimits,
  onDone?: (owners: number, reads: number) => void,
): Promise<{ logprobs: Float64Array; greedy: Uint8Array }> {
  const V = model.config.vocabSize;
  const logprobs = new Float64Array(slots);
  const greedy = new Uint8Array(slots);
  const { runs, owners } = mergePrefixes(sequences);
  const byLength = runs.map((_, i) => i).sort((i, j) => runs[j].input.length - runs[i].input.length);
  for (let start = 0; start < byLength.length; ) {
    const T = runs[byLength[start]].input.length;
    const rows = Math.max(1, Math.min(limits.batchSize, Math.floor(limits.maxBatchLogits / (T * V))));
    // "Similar length": a row joins only if it is at least 3/4 of the batch's longest, so padding
    // stays under a quarter of a batch. Where cost grows with B·T (the cpu backend) padding is pure
    // loss; on a large sample sorted rows are dense and batches still fill up.
    let end = start + 1;
    while (end < byLength.length && end - start < rows && 4 * runs[byLength[end]].input.length >= 3 * T) end++;
    const batch = byLength.slice(start, end);
    start = end;
    await scoreBatch(
      model,
      batch.map((i) => runs[i]),
      T,
      logprobs,
      greedy,
    );
    onDone?.(
      batch.reduce((n, i) => n + owners[i].length, 0),
      batch.reduce((n, i) => n + runs[i].reads.length, 0),
    );
  }
  return { logprobs, greedy };
}

/** One right-padded forward of `batch` [B,T]; writes each read's log-probability and argmax flag to its slot. */
async function scoreBatch(
  model: DcformerModel,
  batch: Sequence[],
  T: number,
  logprobs: Float64Array,
  greedy: Uint8Array,
): Promise<void> {
  const B = batch.length;
  const V = model.config.vocabSize;
  const flatPositions: number[] = [];
  const targets: number[] = [];
  const slotOf: number[] = [];
  batch.forEach((s, b) => {
    for (const r of s.reads) {
      flatPositions.push(b * T + r.position);
      targets.push(r.target);
      slotOf.push(r.slot);
    }
  });
  const [logprob_K, argmax_K] = tf.tidy(() => {
    const ids = batch.map((s) =>
      s.input.length === T ? s.input : [...s.input, ...new Array(T - s.input.length).fill(0)],
    );
    const logits_BTV = model.forward(ids);
    const picked_KV = tf.gather(tf.reshape(logits_BTV, [B * T, V]), tf.tensor1d(flatPositions, 'int32'));
    const logSoftmax_KV = tf.logSoftmax(tf.cast(picked_KV, 'float32'));
    const index_K2 = tf.tensor2d(
      targets.flatMap((t, k) => [k, t]),
      [targets.length, 2],
      'int32',
    );
    return [tf.gatherND(logSoftmax_KV, index_K2), tf.argMax(picked_KV, 1)];
  });
  try {
    const [lp, am] = await Promise.all([logprob_K.data(), argmax_K.data()]);
    for (let k = 0; k < slotOf.length; k++) {
      logprobs[slotOf[k]] = lp[k];
      greedy[slotOf[k]] = am[k] === targets[k] ? 1 : 0;
    }
  } finally {
    logprob_K.dispose();
    argmax_K.dispose();
  }
}

/** Loglikelihood requests as sequences (left-truncated to maxLength), checked; request i's reads start at firstSlot[i]. */
function loglikelihoodSequences(
  requests: readonly LoglikelihoodRequest[],
  maxLength: number,
  checkIds: (ids: readonly number[], what: string) => void,
): { sequences: Sequence[]; firstSlot: number[]; slots: number } {
  const sequences: Sequence[] = [];
  const firstSlot: number[] = [];
  let slots = 0;
  requests.forEach((r, i) => {
    if (!Array.isArray(r?.context) || !Array.isArray(r?.continuation))
      throw new InputError(
        `modelScorer.loglikelihood: request ${i} must be {context: number[], continuation: number[]}`,
      );
    if (r.context.length === 0)
      throw new InputError(
        `modelScorer.loglikelihood: request ${i} has an empty context; prepend a BOS or end-of-text id`,
      );
    const k = r.continuation.length;
    if (k === 0 || k > maxLength)
      throw new InputError(
        `modelScorer.loglikelihood: request ${i} has ${k} continuation tokens; 1 to maxLength = ${maxLength} can be scored`,
      );
    checkIds(r.context, `request ${i}'s context`);
    checkIds(r.continuation, `request ${i}'s continuation`);
    const full = [...r.context, ...r.continuation];
    const input = full.slice(Math.max(0, full.length - 1 - maxLength), full.length - 1);
    const reads = r.continuation.map((target, j) => ({ position: input.length - k + j, target, slot: slots + j }));
    firstSlot.push(slots);
    slots += k;
    sequences.push({ input, reads, owner: i });
  });
  return { sequences, firstSlot, slots };
}

/** The windows of @dcformer/eval's rollingWindows as sequences: token 0 unscored, every other token once. */
function rollingSequences(ids: readonly number[], L: number, stride: number): { sequences: Sequence[]; slots: number } {
  const sequences: Sequence[] = [];
  let slots = 0;
  for (let last = 0; last < ids.length - 1; ) {
    const end = sequences.length === 0 ? Math.min(L, ids.length - 1) : Math.min(last + stride, ids.length - 1);
    const begin = Math.max(0, end - L);
    const reads = [];
    for (let t = last + 1; t <= end; t++) reads.push({ position: t - 1 - begin, target: ids[t], slot: slots++ });
    sequences.push({ input: ids.slice(begin, end), reads, owner: sequences.length });
    last = end;
  }
  return { sequences, slots };
}

/**
 * A Scorer (see @dcformer/eval) for `model`.
 *
 * @example
 * const scorer = modelScorer(model, { batchSize: 8 });
 * const [r] = await scorer.loglikelihood([{ context: [5, 9], continuation: [7] }]); // { logprob, isGreedy }
 */
export function modelScorer(model: DcformerModel, options: ModelScorerOptions = {}): ModelScorer {
  const { blockSize, vocabSize } = model.config;
  const maxLength = options.maxLength ?? blockSize;
  const limits: BatchLimits = {
    batchSize: options.batchSize ?? (SERIAL_BACKENDS.has(tf.getBackend()) ? 1 : 16),
    maxBatchLogits: options.maxBatchLogits ?? 2 ** 26,
  };
  const positiveInt = (v: number, name: string, max = Infinity) => {
    if (!Number.isInteger(v) || v < 1 || v > max)
      throw new InputError(`modelScorer: '${name}' must be an integer in [1, ${max}]; got ${v}`);
  };
  positiveInt(maxLength, 'maxLength', blockSize);
  positiveInt(limits.batchSize, 'batchSize');
  positiveInt(limits.maxBatchLogits, 'maxBatchLogits');

  const checkIds = (ids: readonly number[], what: string) => {
    for (const id of ids) {
      if (!Number.isInteger(id) || id < 0 || id >= vocabSize)
        throw new InputError(`modelScorer: ${what} holds ${JSON.stringify(id)}, not a token id in [0, ${vocabSize})`);
    }
  };

  return {
    maxLength,

    async loglikelihood(requests, scoreOptions = {}) {
      const { sequences, firstSlot, slots } = loglikelihoodSequences(requests, maxLength, checkIds);
      let done = 0;
      const { logprobs, greedy } = await scoreSequences(model, sequences, slots, limits, (n) =>
        scoreOptions.onProgress?.((done += n), requests.length),
      );
      return requests.map((r, i) => {
        let logprob = 0;
        let isGreedy = true;
        for (let j = 0; j < r.continuation.length; j++) {
          logprob += logprobs[firstSlot[i] + j];
          isGreedy &&= greedy[firstSlot[i] + j] === 1;
        }
        return { logprob, isGreedy };
      });
    },

    async rolling(ids, rollingOptions = {}) {
      const L = rollingOptions.maxLength ?? maxLength;
      const stride = rollingOptions.stride ?? L;
      positiveInt(L, 'rolling maxLength', blockSize);
      positiveInt(stride, 'rolling stride', L);
      checkIds(ids, 'rolling ids');
      const { sequences, slots } = rollingSequences(ids, L, stride);
      let scored = 0;
      const { logprobs } = await scoreSequences(model, sequences, slots, limits, (_, reads) =>
        rollingOptions.onProgress?.((scored += reads), slots),
      );
      let logprob = 0;
      for (const lp of logprobs) logprob += lp;
      return { logprob, tokens: Math.max(0, ids.length - 1) };
    },
  };
}
