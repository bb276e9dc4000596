/**
 * lm-evaluation-harness's multiple choice: one log-likelihood request per choice, with the target
 * delimiter " " between prompt and choice; `acc` picks the largest summed log-likelihood, `acc_norm`
 * the largest log-likelihood per character of the choice (the choice text without the delimiter).
 * Ties go to the first choice (numpy argmax).
 */
import { dedupeRequests, encodePair, type TextRequest } from '../encode.js';
import { EvalError } from '../errors.js';
import { argmax, meanMetric, type Metric } from '../metrics.js';
import type { LoglikelihoodResult } from '../scorer.js';
import type { TaskContext, TaskMetrics } from './types.js';

export const TARGET_DELIMITER = ' ';

export interface ChoiceDoc {
  /** One request per choice, in choice order. */
  requests: TextRequest[];
  gold: number;
  /** Characters of each choice for acc_norm; null where lm-eval reports acc only (WinoGrande, BoolQ). */
  choiceLengths: number[] | null;
}

/** The common shape: one prompt, choices appended after the delimiter. */
export function promptWithChoices(context: string, choices: readonly string[], gold: number, norm = true): ChoiceDoc {
  return {
    requests: choices.map((c) => ({ context, continuation: TARGET_DELIMITER + c })),
    gold,
    choiceLengths: norm ? choices.map((c) => c.length) : null,
  };
}

/** Encodes text requests (lm-eval's rules), merges identical ones and scores them. */
export async function scoreText(requests: readonly TextRequest[], context: TaskContext): Promise<{ results: LoglikelihoodResult[]; requests: number }> {
  const tokenized = requests.map((r) => encodePair(context.encoder, r.context, r.continuation, context.prefixToken));
  const { maxLength } = context.scorer;
  tokenized.forEach((t, i) => {
    // Checked here, where the text is known: the scorer could only name a request number.
    if (t.continuation.length > maxLength) {
      const shown = requests[i].continuation.length > 50 ? `${requests[i].continuation.slice(0, 47)}...` : requests[i].continuation;
      throw new EvalError(`the continuation ${JSON.stringify(shown)} is ${t.continuation.length} tokens, more than maxLength ${maxLength} can score; raise the maximum length`);
    }
  });
  const { unique, index } = dedupeRequests(tokenized);
  const scored = await context.scorer.loglikelihood(unique, { onProgress: context.onProgress });
  return { results: index.map((i) => scored[i]), requests: unique.length };
}

/** Which choice each metric picks for one document, from its choices' log-likelihoods. */
export function choicePicks(logprobs: readonly number[], choiceLengths: readonly number[] | null): { acc: number; accNorm: number | null } {
  return {
    acc: argmax(logprobs),
    accNorm: choiceLengths === null ? null : argmax(logprobs.map((ll, i) => ll / choiceLengths[i])),
  };
}

export async function evaluateChoices(docs: readonly ChoiceDoc[], context: TaskContext): Promise<TaskMetrics> {
  const { results, requests } = await scoreText(docs.flatMap((d) => d.requests), context);
  const acc: number[] = [];
  const accNorm: number[] = [];
  let at = 0;
  for (const doc of docs) {
    const logprobs = results.slice(at, at + doc.requests.length).map((r) => r.logprob);
    at += doc.requests.length;
    const picks = choicePicks(logprobs, doc.choiceLengths);
    acc.push(picks.acc === doc.gold ? 1 : 0);
    if (picks.accNorm !== null) accNorm.push(picks.accNorm === doc.gold ? 1 : 0);
  }
  const metrics: Record<string, Metric> = { acc: meanMetric(acc) };
  if (accNorm.length === docs.length && docs.length > 0) metrics.acc_norm = meanMetric(accNorm);
  return { n: docs.length, requests, metrics };
}
