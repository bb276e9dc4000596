/**
 * Which tokens a model sees for each score. Both rules follow lm-evaluation-harness: the model is
 * fed at most `maxLength` tokens and every fed position predicts the next token, so a request
 * (context, continuation) is fed (context ++ continuation) without its last token, truncated on
 * the left; a long text is scored in windows of fed tokens.
 */
import { EvalError } from './errors.js';

/** The fed tokens of one log-likelihood request: the last `maxLength` of context ++ continuation[:-1]. */
export function requestInput(context: readonly number[], continuation: readonly number[], maxLength: number): number[] {
  const full = [...context, ...continuation];
  return full.slice(Math.max(0, full.length - 1 - maxLength), full.length - 1);
}

export interface RollingWindow {
  /** The window feeds ids[begin, end) ... */
  begin: number;
  end: number;
  /** ... and scores ids[first, end] (inclusive: position end−1 predicts token end). */
  first: number;
}

/**
 * Windows that score every token of an n-token text except token 0 (which has no context) exactly
 * once. The first window feeds ids[0, L) and scores tokens 1..L; each next window scores the next
 * `stride` tokens, fed the L tokens before its last one, so every scored token sees at least
 * L − stride + 1 tokens of context. stride = L (the default) is lm-eval's disjoint windows, which
 * overlap by the one token that feeds the first prediction; a smaller stride buys context with
 * compute (the Hugging Face sliding-window recipe).
 *
 * @example rollingWindows(10, 4, 4) // [{begin:0,end:4,first:1}, {begin:4,end:8,first:5}, {begin:5,end:9,first:9}]
 */
export function rollingWindows(n: number, maxLength: number, stride: number = maxLength): RollingWindow[] {
  checkRollingOptions(maxLength, stride);
  const windows: RollingWindow[] = [];
  let last = 0; // the last token scored so far (token 0 counts as done: it cannot be scored)
  while (last < n - 1) {
    const target = windows.length === 0 ? Math.min(maxLength, n - 1) : Math.min(last + stride, n - 1);
    const begin = Math.max(0, target - maxLength);
    windows.push({ begin, end: target, first: last + 1 });
    last = target;
  }
  return windows;
}

export function checkRollingOptions(maxLength: number, stride: number): void {
  if (!Number.isInteger(maxLength) || maxLength < 1)
    throw new EvalError(`rolling: 'maxLength' must be an integer ≥ 1; got ${maxLength}`);
  if (!Number.isInteger(stride) || stride < 1 || stride > maxLength) {
    throw new EvalError(`rolling: 'stride' must be an integer in [1, maxLength = ${maxLength}]; got ${stride}`);
  }
}
