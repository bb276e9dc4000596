/** Results as a markdown table (for people) and as plain JSON (for scripts), lm-eval style. */
import type { TaskResult } from './tasks/types.js';

function format(x: number | null): string {
  if (x === null) return 'n/a';
  if (!Number.isFinite(x)) return String(x);
  const a = Math.abs(x);
  return a >= 1e6 ? x.toExponential(3) : a >= 1000 ? x.toFixed(1) : x.toFixed(4);
}

function rows(result: TaskResult, label: string): string[] {
  return Object.entries(result.metrics).map(([name, m], i) => {
    const arrow = m.higherIsBetter ? '↑' : '↓';
    const first = i === 0;
    return `| ${first ? label : ''} | ${first ? result.format : ''} | ${first ? result.n : ''} | ${name} | ${arrow} | ${format(m.value)} | ± | ${format(m.stderr)} |`;
  });
}

/**
 * One row per metric, subtasks indented under their task, then the notes (where numbers are not
 * comparable with lm-eval's as they stand).
 *
 * @example process.stdout.write(markdownTable(results));
 */
export function markdownTable(results: readonly TaskResult[]): string {
  const lines = ['| Task | Format | n | Metric | | Value | | Stderr |', '|---|---|---:|---|---|---:|---|---:|'];
  for (const r of results) {
    lines.push(...rows(r, r.task));
    for (const s of r.subtasks ?? []) lines.push(...rows(s, ` - ${s.task}`));
  }
  const notes = results.flatMap((r) => r.notes.map((n) => `- ${r.task}: ${n}`));
  return `${lines.join('\n')}\n${notes.length > 0 ? `\nNotes:\n${notes.join('\n')}\n` : ''}`;
}

export interface ResultJson {
  task: string;
  format: string;
  n: number;
  /** Items that could not be scored (TaskResult.skipped). */
  skipped: number;
  requests: number;
  metrics: Record<string, { value: number; stderr: number | null; higher_is_better: boolean }>;
  notes: string[];
  subtasks?: ResultJson[];
}

/** snake_case keys, as the command line's other JSON outputs. */
export function resultJson(result: TaskResult): ResultJson {
  const metrics: ResultJson['metrics'] = {};
  for (const [name, m] of Object.entries(result.metrics))
    metrics[name] = { value: m.value, stderr: m.stderr, higher_is_better: m.higherIsBetter };
  const out: ResultJson = {
    task: result.task,
    format: result.format,
    n: result.n,
    skipped: result.skipped,
    requests: result.requests,
    metrics,
    notes: result.notes,
  };
  if (result.subtasks) out.subtasks = result.subtasks.map(resultJson);
  return out;
}
