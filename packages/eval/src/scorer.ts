/**
 * The one thing evaluation needs from a language model, in token ids (lm-evaluation-harness's
 * `loglikelihood` and `loglikelihood_rolling` requests). @dcformer/model implements it
 * (`modelScorer`) without this package depending on the model or on tfjs; anything else that can
 * score tokens (another runtime, an n-gram model, a test double) can too.
 *
 * What an implementation is expected to do, so that results do not depend on it:
 * - feed at most `maxLength` tokens per sequence, truncating requests on the left (`requestInput`)
 *   and scoring long texts in `rollingWindows`;
 * - compute log-softmax in at least float32 and sum log-probabilities in float64;
 * - batch freely: sort by length so a batch pads little, and answer requests whose fed tokens are
 *   a prefix of another's from that one forward (a causal model's logits at a position depend only
 *   on the tokens up to it), e.g. the two one-token answers of BoolQ, or the six queries of one
 *   synthetic-task text.
 */
import { EvalError } from './errors.js';
import { checkRollingOptions, requestInput, rollingWindows } from './windows.js';

export interface LoglikelihoodRequest {
  /** At least one token (for an empty text context use a BOS / end-of-text id, as lm-eval does). */
  context: readonly number[];
  /** At least one token, at most `maxLength`. */
  continuation: readonly number[];
}

export interface LoglikelihoodResult {
  /** Σ log p(continuation[j] | context, continuation[<j]) in nats. */
  logprob: number;
  /** Whether every continuation token is the argmax of its prediction. */
  isGreedy: boolean;
}

export interface RollingOptions {
  /** Tokens fed per window; default the scorer's `maxLength`. */
  maxLength?: number;
  /** New tokens scored per window after the first; 1 ≤ stride ≤ maxLength, default maxLength. */
  stride?: number;
  /** Called as windows complete: (tokens scored so far, tokens to score = max(0, n − 1)). */
  onProgress?: (done: number, total: number) => void;
}

export interface RollingResult {
  /** Σ log p over tokens 1..n−1 (token 0 has no context and is not scored). */
  logprob: number;
  /** How many tokens were scored: max(0, n − 1). */
  tokens: number;
}

export interface ScoreOptions {
  /** Called as requests complete: (done, total). */
  onProgress?: (done: number, total: number) => void;
}

export interface Scorer {
  /** The most tokens the scorer feeds at once (the model's context length unless told otherwise). */
  readonly maxLength: number;
  /** One result per request, in request order. */
  loglikelihood(requests: readonly LoglikelihoodRequest[], options?: ScoreOptions): Promise<LoglikelihoodResult[]>;
  rolling(ids: readonly number[], options?: RollingOptions): Promise<RollingResult>;
}

/** Checks requests against the contract above; `caller` names who complains. */
export function validateRequests(requests: readonly LoglikelihoodRequest[], maxLength: number, caller: string): void {
  if (!Array.isArray(requests))
    throw new EvalError(`${caller}: 'requests' must be an array of {context, continuation}`);
  requests.forEach((r, i) => {
    if (!Array.isArray(r?.context) || !Array.isArray(r?.continuation)) {
      throw new EvalError(`${caller}: request ${i} must be {context: number[], continuation: number[]}`);
    }
    if (r.context.length === 0)
      throw new EvalError(`${caller}: request ${i} has an empty context; prepend a BOS or end-of-text id`);
    if (r.continuation.length === 0) throw new EvalError(`${caller}: request ${i} has an empty continuation`);
    if (r.continuation.length > maxLength) {
      throw new EvalError(
        `${caller}: request ${i} has ${r.continuation.length} continuation tokens, more than maxLength ${maxLength} can score`,
      );
    }
    for (const id of [...r.context, ...r.continuation]) {
      if (!Number.isInteger(id) || id < 0)
        throw new EvalError(`${caller}: request ${i} holds ${JSON.stringify(id)}, not a token id`);
    }
  });
}

/** Log-probabilities (any scale of logits is fine: they are normalised here) of the next token. */
export type NextTokenLogits = (fed: readonly number[]) => ArrayLike<number>;

function logSoftmaxAt(logits: ArrayLike<number>, index: number): { logprob: number; isArgmax: boolean } {
  let max = -Infinity;
  let argmax = 0;
  for (let v = 0; v < logits.length; v++) {
    if (logits[v] > max) {
      max = logits[v];
      argmax = v;
    }
  }
  let sum = 0;
  for (let v = 0; v < logits.length; v++) sum += Math.exp(logits[v] - max);
  return { logprob: logits[index] - max - Math.log(sum), isArgmax: argmax === index };
}

/**
 * The definition, executed literally: one call of `next` per scored token, float64 throughout, no
 * batching. For tests and for plugging in models that are cheap per call.
 *
 * @example
 * const uniform = referenceScorer(() => new Float64Array(4), { maxLength: 8 });
 * await uniform.loglikelihood([{ context: [0], continuation: [1, 2] }]); // [{ logprob: 2·ln(1/4), isGreedy: false }]
 */
export function referenceScorer(next: NextTokenLogits, options: { maxLength: number }): Scorer {
  const { maxLength } = options;
  const score = (fed: readonly number[], target: number) => logSoftmaxAt(next(fed), target);
  return {
    maxLength,
    async loglikelihood(requests, scoreOptions = {}) {
      validateRequests(requests, maxLength, 'referenceScorer.loglikelihood');
      return requests.map((r, i) => {
        const fed = requestInput(r.context, r.continuation, maxLength);
        const k = r.continuation.length;
        let logprob = 0;
        let isGreedy = true;
        for (let j = 0; j < k; j++) {
          const s = score(fed.slice(0, fed.length - k + 1 + j), r.continuation[j]);
          logprob += s.logprob;
          isGreedy &&= s.isArgmax;
        }
        scoreOptions.onProgress?.(i + 1, requests.length);
        return { logprob, isGreedy };
      });
    },
    async rolling(ids, rollingOptions = {}) {
      const L = rollingOptions.maxLength ?? maxLength;
      const stride = rollingOptions.stride ?? L;
      checkRollingOptions(L, stride);
      let logprob = 0;
      for (const w of rollingWindows(ids.length, L, stride)) {
        for (let t = w.first; t <= w.end; t++) logprob += score(ids.slice(w.begin, t), ids[t]).logprob;
        rollingOptions.onProgress?.(w.end, ids.length - 1);
      }
      return { logprob, tokens: Math.max(0, ids.length - 1) };
    },
  };
}
