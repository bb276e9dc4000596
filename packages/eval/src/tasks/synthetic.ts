/**
 * The DCFormer paper's synthetic in-context-learning tasks (data/synthetic_dataset.jsonl of the
 * official repository): 74 tasks × 12 texts. A text is demonstration lines with plain answers, then
 * query lines ending in "[ answer ]". Scoring (DESIGN.md "Presets and data conventions"): query k's
 * context is the text up to its " [" with every earlier answer filled in (brackets removed), its
 * continuation " " + answer; it is correct when every answer token is the greedy argmax. The text is
 * kept as stored, including its leading newline. Reported: accuracy per task_id and their mean.
 */
import { DataError } from '../errors.js';
import { Fields, parseJsonl } from '../jsonl.js';
import { mean, meanMetric } from '../metrics.js';
import { scoreText, unscorableSummary } from './multiple-choice.js';
import type { TaskDefinition, TaskResult } from './types.js';
import type { TextRequest } from '../encode.js';

export interface SyntheticDoc {
  taskId: string;
  /** One request per query line, in order. */
  queries: TextRequest[];
}

const QUERY = / \[ ([^\][]*?) \]$/;

/** Splits one `texts` value into its query requests; a layout problem is an Error message. */
export function syntheticQueries(texts: string): TextRequest[] {
  const lines = texts.split('\n');
  const queries: TextRequest[] = [];
  let filled = ''; // the text so far, answers filled in
  lines.forEach((line, i) => {
    const m = QUERY.exec(line);
    if (m === null) {
      if (line.includes('[') || line.includes(']'))
        throw new Error(`line ${i + 1} of 'texts' has a bracket but does not end in " [ answer ]"`);
      if (queries.length > 0 && line !== '')
        throw new Error(`line ${i + 1} of 'texts' follows a query but is not one (no "[ answer ]")`);
    } else {
      const before = line.slice(0, m.index);
      queries.push({ context: filled + before, continuation: ` ${m[1]}` });
      line = `${before} ${m[1]}`;
    }
    filled += i < lines.length - 1 ? `${line}\n` : line;
  });
  if (queries.length === 0) throw new Error(`'texts' holds no query line (one ending in " [ answer ]")`);
  return queries;
}

export const dcformerSynthetic: TaskDefinition<SyntheticDoc> = {
  name: 'dcformer_synthetic',
  description: "DCFormer paper's synthetic in-context tasks: acc per task_id and mean",
  defaultFile: 'dcformer_synthetic/synthetic_dataset.jsonl',
  parse(text, source) {
    const docs = parseJsonl(text, source).map(({ line, value }) => {
      const f = new Fields(source, line, value, '{"task_id": str, "texts": str}');
      const taskId = f.string('task_id');
      try {
        return { taskId, queries: syntheticQueries(f.string('texts')) };
      } catch (e) {
        throw new DataError(source, line, (e as Error).message);
      }
    });
    return { docs, format: 'dcformer', notes: [] };
  },
  async evaluate(docs, context) {
    const { results, requests, unscorable } = await scoreText(
      docs.flatMap((d) => d.queries),
      context,
    );
    const byTask = new Map<string, number[]>();
    let at = 0;
    for (const d of docs) {
      // an unscorable query is left out (counted in `unscorable`); the text's other queries count
      const correct = results.slice(at, at + d.queries.length).flatMap((r) => (r === null ? [] : [r.isGreedy ? 1 : 0]));
      at += d.queries.length;
      byTask.set(d.taskId, [...(byTask.get(d.taskId) ?? []), ...correct]);
    }
    const naturalOrder = (a: string, b: string) => a.localeCompare(b, 'en', { numeric: true });
    const subtasks: TaskResult[] = [...byTask.keys()].sort(naturalOrder).map((taskId) => {
      const values = byTask.get(taskId) as number[];
      return {
        task: taskId,
        format: 'dcformer',
        n: values.length,
        skipped: 0,
        requests: values.length,
        metrics: { acc: meanMetric(values) },
        notes: [],
      };
    });
    // Mean over tasks (each task weighs the same, as the paper reports it); its standard error
    // combines the per-task ones as for a mean of independent estimates.
    const accs = subtasks.map((s) => s.metrics.acc.value);
    const ses = subtasks.map((s) => s.metrics.acc.stderr);
    const stderr = ses.every((s) => s !== null)
      ? Math.sqrt(ses.reduce((a, s) => a + (s as number) ** 2, 0)) / ses.length
      : null;
    return {
      n: docs.length,
      requests,
      metrics: {
        acc: { value: mean(accs), stderr, higherIsBetter: true },
        acc_queries: meanMetric(results.flatMap((r) => (r === null ? [] : [r.isGreedy ? 1 : 0]))),
      },
      subtasks,
      unscorable: unscorableSummary(unscorable.size, unscorable),
    };
  },
};
