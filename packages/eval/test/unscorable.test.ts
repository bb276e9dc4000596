/**
 * Items that cannot be scored (a continuation longer than the scorer's maxLength) are counted and
 * named, never abort the task; contexts are truncated on the left; ppl reports progress in tokens.
 */
import { describe, expect, it } from 'vitest';
import { runTask } from '../src/evaluate.js';
import { resultJson } from '../src/report.js';
import { referenceScorer } from '../src/scorer.js';
import { evaluateChoices, promptWithChoices } from '../src/tasks/multiple-choice.js';
import { lambadaOpenai } from '../src/tasks/lambada.js';
import { perplexity } from '../src/tasks/perplexity.js';
import type { Dataset, TaskDefinition } from '../src/tasks/types.js';
import type { ChoiceDoc } from '../src/tasks/multiple-choice.js';
import { bytes } from './helpers.js';

/** Favours byte 'a' (97) after anything, over 256 byte tokens; feeds at most `maxLength` tokens. */
function scorer(maxLength: number, seen: number[][] = []) {
  return referenceScorer(
    (fed) => {
      seen.push([...fed]);
      const logits = new Float64Array(256);
      logits[97] = 3;
      return logits;
    },
    { maxLength },
  );
}

const choices: TaskDefinition<ChoiceDoc> = {
  name: 'choices',
  description: '',
  defaultFile: '',
  parse: () => ({ docs: [], format: 'test', notes: [] }),
  evaluate: evaluateChoices,
};

describe('unscorable items', () => {
  it('a document with a choice longer than maxLength is left out, counted and named; the rest are scored', async () => {
    const seen: number[][] = [];
    const docs = [
      promptWithChoices('a long context that is truncated on the left', ['aaa', 'bbb'], 0),
      promptWithChoices('q', ['a'.repeat(20), 'b'], 1),
      promptWithChoices('q', ['bb', 'aa'], 1),
    ];
    const data: Dataset<ChoiceDoc> = { docs, format: 'test', notes: [] };
    const r = await runTask(choices, data, { scorer: scorer(8, seen), encoder: bytes, prefixToken: 0 });
    expect(r.n).toBe(2);
    expect(r.skipped).toBe(1);
    expect(r.metrics.acc.value).toBe(1);
    expect(r.notes).toEqual([
      `1 documents could not be scored and are left out of the metrics (first: the continuation " ${'a'.repeat(20)}" is 21 tokens, more than maxLength 8 can score); not comparable with full-set numbers`,
    ]);
    expect(resultJson(r)).toMatchObject({ n: 2, skipped: 1 });
    // lm-eval's left truncation: never more than maxLength tokens fed
    expect(Math.max(...seen.map((s) => s.length))).toBe(8);
  });

  it('lambada: an unscorable word is counted, the others give acc and perplexity', async () => {
    const data = lambadaOpenai.parse(
      `${JSON.stringify({ text: 'x aaa' })}\n${JSON.stringify({ text: `x ${'a'.repeat(30)}` })}\n`,
      'l.jsonl',
    );
    const r = await runTask(lambadaOpenai, data, { scorer: scorer(8), encoder: bytes, prefixToken: 0 });
    expect([r.n, r.skipped]).toEqual([1, 1]);
    expect(r.metrics.acc.value).toBe(0); // ' ' is not the favoured byte
  });

  it('a task with every item scorable reports skipped 0 and no note', async () => {
    const data: Dataset<ChoiceDoc> = { docs: [promptWithChoices('q', ['a', 'b'], 0)], format: 'test', notes: [] };
    const r = await runTask(choices, data, { scorer: scorer(8), encoder: bytes, prefixToken: 0 });
    expect([r.n, r.skipped, r.notes]).toEqual([1, 0, []]);
  });
});

describe('ppl progress', () => {
  it('counts tokens (every scored token once), not documents', async () => {
    const data = perplexity.parse(
      `${JSON.stringify({ text: 'abcdefghij' })}\n${JSON.stringify({ text: 'xyz' })}\n`,
      'p.jsonl',
    );
    const calls: [number, number, string][] = [];
    await runTask(perplexity, data, {
      scorer: scorer(4),
      encoder: bytes,
      prefixToken: 0,
      onProgress: (d, t, unit) => calls.push([d, t, unit]),
    });
    expect(calls.every(([, t, unit]) => t === 13 && unit === 'tokens')).toBe(true);
    expect(calls.at(-1)?.[0]).toBe(13);
    // windows of 4 over the 10-token document report as they finish, then the 3-token one
    expect([...new Set(calls.map(([d]) => d))]).toEqual([4, 8, 10, 13]);
  });
});
