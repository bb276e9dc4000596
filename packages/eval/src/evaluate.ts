/** Running one task over a parsed dataset: the limit, timing and the result record. */
import { EvalError } from './errors.js';
import type { Dataset, TaskContext, TaskDefinition, TaskResult } from './tasks/types.js';

export interface RunOptions {
  /** Evaluate only the first `limit` documents (lm-eval's --limit). */
  limit?: number;
}

/**
 * Evaluates `dataset` (from `task.parse`) with `context.scorer`.
 *
 * @example
 * const data = piqa.parse(readFileSync('valid.jsonl', 'utf8'), 'valid.jsonl', { labels });
 * const result = await runTask(piqa, data, { scorer, encoder: tokenizer, prefixToken: 0 }, { limit: 50 });
 * result.metrics.acc; // { value, stderr, higherIsBetter }
 */
export async function runTask<Doc>(
  task: TaskDefinition<Doc>,
  dataset: Dataset<Doc>,
  context: TaskContext,
  options: RunOptions = {},
): Promise<TaskResult> {
  const { limit } = options;
  if (limit !== undefined && (!Number.isInteger(limit) || limit < 1))
    throw new EvalError(`runTask: 'limit' must be an integer ≥ 1; got ${limit}`);
  const docs = limit === undefined ? dataset.docs : dataset.docs.slice(0, limit);
  const { unscorable, ...metrics } = await task.evaluate(docs, context);
  const notes = [...dataset.notes];
  if (limit !== undefined && limit < dataset.docs.length)
    notes.push(`first ${limit} of ${dataset.docs.length} documents (--limit): not comparable with full-set numbers`);
  if (unscorable !== undefined) {
    const what = task.name === 'dcformer_synthetic' ? 'queries' : 'documents';
    notes.push(
      `${unscorable.count} ${what} could not be scored and are left out of the metrics (first: ${unscorable.first}); not comparable with full-set numbers`,
    );
  }
  return { task: task.name, format: dataset.format, notes, skipped: unscorable?.count ?? 0, ...metrics };
}
