/**
 * PIQA (validation) with lm-eval's prompt "Question: {goal}\nAnswer:" and choices [sol1, sol2].
 * Two layouts: the official one (valid.jsonl {goal, sol1, sol2} + valid-labels.lst, one 0/1 per
 * line: lm-eval's exact requests) and llm-foundry's {query, choices, gold}, whose solutions are
 * whitespace-stripped.
 */
import { DataError } from '../errors.js';
import { Fields, parseJsonl } from '../jsonl.js';
import { foundryRow } from './foundry.js';
import { evaluateChoices, promptWithChoices, type ChoiceDoc } from './multiple-choice.js';
import type { Dataset, ParseExtras, TaskDefinition } from './types.js';

function parseLabels(labels: { text: string; source: string }, count: number): number[] {
  const lines = labels.text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  const out = lines.map((raw, i) => {
    const l = raw.trim();
    if (l !== '0' && l !== '1')
      throw new DataError(labels.source, i + 1, `a label must be 0 or 1; got ${JSON.stringify(raw)}`);
    return Number(l);
  });
  if (out.length !== count)
    throw new DataError(labels.source, undefined, `holds ${out.length} labels for ${count} questions`);
  return out;
}

function parseOfficial(rows: ReturnType<typeof parseJsonl>, source: string, extras: ParseExtras): Dataset<ChoiceDoc> {
  const expected = '{"goal": str, "sol1": str, "sol2": str} (official PIQA)';
  const parsed = rows.map(({ line, value }) => {
    const f = new Fields(source, line, value, expected);
    return {
      goal: f.string('goal'),
      choices: [f.string('sol1'), f.string('sol2')],
      label: f.has('label') ? f.integer('label', 0, 1) : null,
    };
  });
  let labels: number[];
  if (parsed.every((p) => p.label !== null)) labels = parsed.map((p) => p.label as number);
  else if (extras.labels) labels = parseLabels(extras.labels, parsed.length);
  else
    throw new DataError(
      source,
      undefined,
      'official PIQA rows carry no labels: give the labels file (valid-labels.lst, next to valid.jsonl)',
    );
  const docs = parsed.map((p, i) => promptWithChoices(`Question: ${p.goal}\nAnswer:`, p.choices, labels[i]));
  return { docs, format: 'official', notes: [] };
}

export const piqa: TaskDefinition<ChoiceDoc> = {
  name: 'piqa',
  description: 'PIQA (validation): acc, acc_norm',
  defaultFile: 'piqa/valid.jsonl',
  parse(text, source, extras = {}) {
    const rows = parseJsonl(text, source);
    const first = rows[0].value as Record<string, unknown> | null;
    if (first !== null && typeof first === 'object' && 'goal' in first) return parseOfficial(rows, source, extras);
    const expected =
      '{"query": str, "choices": [str, str], "gold": int} (llm-foundry) or {"goal", "sol1", "sol2"} (official)';
    const docs = rows.map(({ line, value }) => {
      const row = foundryRow(new Fields(source, line, value, expected));
      // llm-foundry: "Question: {goal}\n"; lm-eval: "Question: {goal}\nAnswer:"
      if (!row.query.startsWith('Question: ') || !row.query.endsWith('\n')) {
        throw new DataError(source, line, `'query' must look like "Question: ...\\n"`);
      }
      return promptWithChoices(`${row.query}Answer:`, row.choices, row.gold);
    });
    return {
      docs,
      format: 'llm-foundry',
      notes: [
        'llm-foundry strips whitespace around the solutions; lm-eval scores them as the official file has them (piqa/valid.jsonl + valid-labels.lst)',
      ],
    };
  },
  evaluate: evaluateChoices,
};
