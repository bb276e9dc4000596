/**
 * Text requests → token requests, the way lm-evaluation-harness tokenizes them, because BPE
 * boundaries move the numbers: " Paris" and "Paris" are different tokens.
 */
import { EvalError } from './errors.js';
import type { LoglikelihoodRequest } from './scorer.js';

/** Anything with `encode(text) → ids` (a @dcformer/tokenizer Tokenizer qualifies). */
export interface TextEncoderLike {
  encode(text: string): number[];
}

export interface TextRequest {
  context: string;
  continuation: string;
}

/** Python's str.isspace() set, which lm-eval's `context.rstrip()` strips (JS \s differs in a few code points). */
const TRAILING_SPACE = /[\t\n\v\f\r\x1c-\x1f \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+$/;

/**
 * Encodes (context, continuation) as lm-eval does: trailing whitespace of the context moves to the
 * continuation; the continuation's tokens are those of encode(context + continuation) after the
 * first |encode(context)| (so a token that spans the boundary counts as continuation); an empty
 * context becomes `[prefixToken]`.
 *
 * @example encodePair(tok, 'Question: x\nAnswer:', ' yes', 0)
 */
export function encodePair(
  encoder: TextEncoderLike,
  context: string,
  continuation: string,
  prefixToken: number | null,
): LoglikelihoodRequest {
  const spaces = TRAILING_SPACE.exec(context)?.[0].length ?? 0;
  if (spaces > 0) {
    continuation = context.slice(context.length - spaces) + continuation;
    context = context.slice(0, context.length - spaces);
  }
  if (context === '') {
    if (prefixToken === null)
      throw new EvalError('encodePair: the context is empty and no prefix token (BOS / end-of-text id) was given');
    return { context: [prefixToken], continuation: encoder.encode(continuation) };
  }
  const whole = encoder.encode(context + continuation);
  const contextIds = encoder.encode(context);
  const continuationIds = whole.slice(contextIds.length);
  // Only when a merge swallows the whole continuation into the context's last token; lm-eval would
  // score nothing (log-likelihood 0), which silently wins any comparison. Score its own encoding.
  return {
    context: contextIds,
    continuation: continuationIds.length > 0 ? continuationIds : encoder.encode(continuation),
  };
}

/** Identical token requests (same context and continuation ids) are scored once; `index[i]` says which. */
export function dedupeRequests(requests: readonly LoglikelihoodRequest[]): {
  unique: LoglikelihoodRequest[];
  index: number[];
} {
  const seen = new Map<string, number>();
  const unique: LoglikelihoodRequest[] = [];
  const index = requests.map((r) => {
    const key = `${r.context.join(',')}|${r.continuation.join(',')}`;
    let at = seen.get(key);
    if (at === undefined) {
      at = unique.length;
      seen.set(key, at);
      unique.push(r);
    }
    return at;
  });
  return { unique, index };
}
