/**
 * HellaSwag (validation): acc and acc_norm over 4 endings, lm-eval's prompt = the preprocessed
 * "{activity_label}: {ctx_a} {Ctx_b}" and preprocessed endings. Three layouts:
 * - official JSONL {activity_label, ctx_a, ctx_b, endings, label}: lm-eval's exact requests;
 * - llama.cpp's text file (6 lines per item: "label: ctx", gold, 4 endings) and our JSONL of it
 *   {ctx, label, endings}: the ctx_a/ctx_b split is gone, so ctx_b cannot be capitalised as lm-eval
 *   does; the results say so.
 */
import { DataError } from '../errors.js';
import { Fields, parseJsonl } from '../jsonl.js';
import { evaluateChoices, promptWithChoices, type ChoiceDoc } from './multiple-choice.js';
import type { Dataset, TaskDefinition } from './types.js';

const NOT_CAPITALISED =
  "this file lost HellaSwag's ctx_a/ctx_b split, so ctx_b is not capitalised as lm-eval does; numbers are close to, not equal to, lm-eval's";

/** lm-eval's HellaSwag preprocess: strip, " [title]" → ". ", drop other [markup], "  " → " ". */
export function hellaswagPreprocess(text: string): string {
  return text
    .trim()
    .replaceAll(' [title]', '. ')
    .replace(/\[.*?\]/g, '')
    .replaceAll('  ', ' ');
}

/** Python's str.capitalize(): first character upper case, the rest lower case. */
function capitalize(s: string): string {
  return s.length === 0 ? s : s[0].toUpperCase() + s.slice(1).toLowerCase();
}

function doc(ctx: string, endings: string[], gold: number): ChoiceDoc {
  return promptWithChoices(hellaswagPreprocess(ctx), endings.map(hellaswagPreprocess), gold);
}

/** The llama.cpp text layout: 6 lines per item. */
function parseText(text: string, source: string): Dataset<ChoiceDoc> {
  if (text.startsWith('BZh'))
    throw new DataError(source, undefined, 'is bzip2-compressed; decompress it first (bunzip2 -k FILE)');
  const lines = text.split('\n').map((l) => (l.endsWith('\r') ? l.slice(0, -1) : l));
  while (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  if (lines.length === 0) throw new DataError(source, undefined, 'holds no items');
  if (lines.length % 6 !== 0) {
    throw new DataError(
      source,
      lines.length,
      `${lines.length} lines is not a multiple of 6 (each item: context, gold index, 4 endings); the last item is incomplete`,
    );
  }
  const docs: ChoiceDoc[] = [];
  for (let i = 0; i < lines.length; i += 6) {
    const label = lines[i + 1].trim();
    if (!/^[0-3]$/.test(label))
      throw new DataError(source, i + 2, `the gold index must be 0..3; got ${JSON.stringify(lines[i + 1])}`);
    docs.push(doc(lines[i], lines.slice(i + 2, i + 6), Number(label)));
  }
  return { docs, format: 'llama.cpp text', notes: [NOT_CAPITALISED] };
}

export const hellaswag: TaskDefinition<ChoiceDoc> = {
  name: 'hellaswag',
  description: 'HellaSwag (validation): acc, acc_norm',
  defaultFile: 'hellaswag/hellaswag_val_llamacpp.jsonl',
  parse(text, source) {
    if (!text.trimStart().startsWith('{')) return parseText(text, source);
    const rows = parseJsonl(text, source);
    const first = rows[0].value as Record<string, unknown> | null;
    const official = first !== null && typeof first === 'object' && 'ctx_a' in first;
    const expected = official
      ? '{"activity_label": str, "ctx_a": str, "ctx_b": str, "endings": [str x4], "label": int} (official)'
      : '{"ctx": str, "label": int, "endings": [str x4]} (llama.cpp JSONL)';
    const docs = rows.map(({ line, value }) => {
      const f = new Fields(source, line, value, expected);
      const endings = f.strings('endings', 2);
      const gold = f.integer('label', 0, endings.length - 1);
      const ctx = official
        ? `${f.string('activity_label')}: ${f.string('ctx_a')} ${capitalize(f.string('ctx_b'))}`
        : f.string('ctx');
      return doc(ctx, endings, gold);
    });
    return { docs, format: official ? 'official' : 'llama.cpp JSONL', notes: official ? [] : [NOT_CAPITALISED] };
  },
  evaluate: evaluateChoices,
};
