/**
 * Request-level modes over token ids (DESIGN.md "Command-line contracts"), so that other harnesses
 * can drive a model and scoring can be checked without any tokenizer:
 * - loglikelihood: {"context_ids": [...], "continuation_ids": [...]} per line in,
 *   {"logprob": x, "is_greedy": bool} per line out (lm-eval's request and answer);
 * - rolling: {"ids": [...]} per line in, {"logprob": x, "tokens": n} per line out.
 */
import { Fields, parseJsonl } from '../jsonl.js';
import type { LoglikelihoodRequest, LoglikelihoodResult, RollingResult } from '../scorer.js';

/** Requests with their 1-based line, so that a caller's own checks (e.g. ids < vocab) can name it. */
export function parseLoglikelihoodRequests(text: string, source: string): (LoglikelihoodRequest & { line: number })[] {
  const expected = '{"context_ids": [int, ...], "continuation_ids": [int, ...]}';
  return parseJsonl(text, source).map(({ line, value }) => {
    const f = new Fields(source, line, value, expected);
    return { context: f.ids('context_ids', 1), continuation: f.ids('continuation_ids', 1), line };
  });
}

export function parseRollingRequests(text: string, source: string): { ids: number[]; line: number }[] {
  return parseJsonl(text, source).map(({ line, value }) => ({
    ids: new Fields(source, line, value, '{"ids": [int, ...]}').ids('ids'),
    line,
  }));
}

/** The output lines, in lm-eval's names. */
export function loglikelihoodLine(r: LoglikelihoodResult): string {
  return JSON.stringify({ logprob: r.logprob, is_greedy: r.isGreedy });
}

export function rollingLine(r: RollingResult): string {
  return JSON.stringify({ logprob: r.logprob, tokens: r.tokens });
}
