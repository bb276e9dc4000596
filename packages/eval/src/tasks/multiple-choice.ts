/**
 * lm-evaluation-harness's multiple choice: one log-likelihood request per choice, with the target
 * delimiter " " between prompt and choice; `acc` picks the largest summed log-likelihood, `acc_norm`
 * the largest log-likelihood per character of the choice (the choice text without the delimiter).
 * Ties go to the first choice (numpy argmax).
 */
import { dedupeRequests, encodePair, type TextRequest } from '../encode.js';
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

export interface ScoredText {
  /** Per request, in order; null where the request cannot be scored (see `unscorable`). */
  results: (LoglikelihoodResult | null)[];
  /** Scorer requests made (after identical ones were merged). */
  requests: number;
  /** Why each null result is null, by request index. */
  unscorable: Map<number, string>;
}

/**
 * Encodes text requests (lm-eval's rules), merges identical ones and scores them. Contexts are
 * truncated on the left by the scorer (lm-eval's rule); a continuation longer than the scorer's
 * maxLength cannot be scored at all (lm-eval asserts), so that request gets null and a reason, and
 * the others are scored.
 */
export async function scoreText(requests: readonly TextRequest[], context: TaskContext): Promise<ScoredText> {
  const tokenized = requests.map((r) => encodePair(context.encoder, r.context, r.continuation, context.prefixToken));
  const { maxLength } = context.scorer;
  const unscorable = new Map<number, string>();
  tokenized.forEach((t, i) => {
    // Decided here, where the text is known: the scorer could only name a request number.
    if (t.continuation.length > maxLength) {
      const shown =
        requests[i].continuation.length > 50 ? `${requests[i].continuation.slice(0, 47)}...` : requests[i].continuation;
      unscorable.set(
        i,
        `the continuation ${JSON.stringify(shown)} is ${t.continuation.length} tokens, more than maxLength ${maxLength} can score`,
      );
    }
  });
  const scorable = tokenized.map((_, i) => i).filter((i) => !unscorable.has(i));
  const { unique, index } = dedupeRequests(scorable.map((i) => tokenized[i]));
  const scored = await context.scorer.loglikelihood(unique, {
    onProgress: (d, t) => context.onProgress?.(d, t, 'requests'),
  });
  const results: (LoglikelihoodResult | null)[] = tokenized.map(() => null);
  scorable.forEach((i, k) => (results[i] = scored[index[k]]));
  return { results, requests: unique.length, unscorable };
}

/** The count and first reason of unscorable items, for TaskMetrics; undefined when there are none. */
export function unscorableSummary(count: number, reasons: Map<number, string>): TaskMetrics['unscorable'] {
  if (count === 0) return undefined;
  const first = Math.min(...reasons.keys());
  return { count, first: reasons.get(first) as string };
}

/** Which choice each metric picks for one document, from its choices' log-likelihoods. */
export function choicePicks(
  logprobs: readonly number[],
  choiceLengths: readonly number[] | null,
): { acc: number; accNorm: number | null } {
  return {
    acc: argmax(logprobs),
    accNorm: choiceLengths === null ? null : argmax(logprobs.map((ll, i) => ll / choiceLengths[i])),
  };
}

export async function evaluateChoices(docs: readonly ChoiceDoc[], context: TaskContext): Promise<TaskMetrics> {
  const { results, requests, unscorable } = await scoreText(
    docs.flatMap((d) => d.requests),
    context,
  );
  const acc: number[] = [];
  const accNorm: number[] = [];
  let at = 0;
  let skipped = 0;
  for (const doc of docs) {
    const mine = results.slice(at, at + doc.requests.length);
    at += doc.requests.length;
    // one unscorable choice makes the comparison meaningless: the document is left out
    if (mine.some((r) => r === null)) {
      skipped++;
      continue;
    }
    const logprobs = mine.map((r) => (r as LoglikelihoodResult).logprob);
    const picks = choicePicks(logprobs, doc.choiceLengths);
    acc.push(picks.acc === doc.gold ? 1 : 0);
    if (picks.accNorm !== null) accNorm.push(picks.accNorm === doc.gold ? 1 : 0);
  }
  const metrics: Record<string, Metric> = { acc: meanMetric(acc) };
  if (accNorm.length === acc.length && acc.length > 0) metrics.acc_norm = meanMetric(accNorm);
  return { n: acc.length, requests, metrics, unscorable: unscorableSummary(skipped, unscorable) };
}
