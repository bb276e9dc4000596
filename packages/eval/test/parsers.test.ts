/** Every loader on real rows (test/fixtures, samples of shared/data/eval) and on broken ones. */
import { describe, expect, it } from 'vitest';
import { DataError } from '../src/errors.js';
import { readTaskData } from '../src/node.js';
import { arcChallenge, arcEasy, boolq, winogrande } from '../src/tasks/foundry.js';
import { hellaswag } from '../src/tasks/hellaswag.js';
import { lambadaOpenai } from '../src/tasks/lambada.js';
import { piqa } from '../src/tasks/piqa.js';
import { parseLoglikelihoodRequests, parseRollingRequests } from '../src/tasks/requests.js';
import { dcformerSynthetic } from '../src/tasks/synthetic.js';
import type { TaskDefinition } from '../src/tasks/types.js';
import { FIXTURES, fixture } from './helpers.js';

describe('loaders on real rows', () => {
  it('lambada_openai: lm-eval’s file and llm-foundry’s copy give the same requests', () => {
    const a = lambadaOpenai.parse(fixture('lambada_openai/lambada_test.jsonl'), 'lambada_test.jsonl');
    const b = lambadaOpenai.parse(fixture('llm-foundry/lambada_openai.jsonl'), 'lambada_openai.jsonl');
    expect(a.docs).toHaveLength(30);
    expect(b.docs).toEqual(a.docs);
    expect(a.docs[0].continuation).toBe(' signs');
    expect(a.docs[0].context.endsWith("his mouth curved in a confident grin, I don't care about")).toBe(true);
    expect(a.docs[1].continuation).toBe(' Shane');
  });

  it('piqa: official files (labels from valid-labels.lst) give lm-eval’s prompt; llm-foundry’s copy agrees up to whitespace', async () => {
    const official = await readTaskData(piqa, FIXTURES);
    expect(official.format).toBe('official');
    expect(official.docs).toHaveLength(30);
    expect(official.docs.map((d) => d.gold).slice(0, 5)).toEqual([0, 1, 1, 1, 0]);
    expect(official.docs[1].requests).toEqual([
      { context: 'Question: dresser\nAnswer:', continuation: ' replace drawer with bobby pin ' },
      { context: 'Question: dresser\nAnswer:', continuation: ' finish, woodgrain with  bobby pin ' },
    ]);
    const foundry = piqa.parse(fixture('llm-foundry/piqa.jsonl'), 'piqa.jsonl');
    expect(foundry.notes[0]).toMatch(/strips whitespace/);
    foundry.docs.forEach((d, i) => {
      expect(d.gold).toBe(official.docs[i].gold);
      expect(d.requests.map((r) => r.context)).toEqual(official.docs[i].requests.map((r) => r.context));
      expect(d.requests.map((r) => r.continuation.trim())).toEqual(
        official.docs[i].requests.map((r) => r.continuation.trim()),
      );
    });
    expect(() => piqa.parse(fixture('piqa/valid.jsonl'), 'valid.jsonl')).toThrow(/carry no labels/);
  });

  it.each([
    [
      arcEasy,
      'Question: Which statement best explains why photosynthesis is the foundation of most food webs?\nAnswer:',
      ' Sunlight is the source of energy for nearly all ecosystems.',
      0,
    ],
    [
      arcChallenge,
      'Question: An astronomer observes that a planet rotates faster after a meteorite impact. Which is the most likely effect of this increase in rotation?\nAnswer:',
      ' Planetary density will decrease.',
      2,
    ],
  ])('%s: "Question: …\\nAnswer:" and four choices', (task, context, firstChoice, gold) => {
    // biome-ignore lint/suspicious/noExplicitAny: the table mixes task item types
    const t = task as TaskDefinition<any>;
    const data = t.parse(fixture(`llm-foundry/${t.name}.jsonl`), `${t.name}.jsonl`);
    expect(data.docs).toHaveLength(30);
    expect(data.docs[0].requests[0]).toEqual({ context, continuation: firstChoice });
    expect(data.docs[0].requests).toHaveLength(4);
    expect(data.docs[0].gold).toBe(gold);
  });

  it('boolq: lm-eval’s "{passage}\\nQuestion: {question}?\\nAnswer:" with " no" / " yes", acc only', () => {
    const data = boolq.parse(fixture('llm-foundry/boolq.jsonl'), 'boolq.jsonl');
    const [doc] = data.docs;
    expect(doc.requests[0].context.startsWith('All biomass goes through')).toBe(true);
    expect(
      doc.requests[0].context.endsWith('\nQuestion: does ethanol take more energy make that produces?\nAnswer:'),
    ).toBe(true);
    expect(doc.requests.map((r) => r.continuation)).toEqual([' no', ' yes']);
    expect(doc.choiceLengths).toBeNull();
    expect(data.docs.map((d) => d.gold).slice(0, 3)).toEqual([0, 1, 1]);
  });

  it('winogrande: partial scoring, the two filled-in contexts share one continuation', () => {
    const data = winogrande.parse(fixture('llm-foundry/winogrande.jsonl'), 'winogrande.jsonl');
    expect(data.docs[0]).toEqual({
      requests: [
        {
          context: 'Sarah was a much better surgeon than Maria so Sarah',
          continuation: ' always got the easier cases.',
        },
        {
          context: 'Sarah was a much better surgeon than Maria so Maria',
          continuation: ' always got the easier cases.',
        },
      ],
      gold: 1,
      choiceLengths: null,
    });
  });

  it('hellaswag: the llama.cpp text file and its JSONL give the same requests, noted as not lm-eval-exact', () => {
    const text = hellaswag.parse(fixture('hellaswag/hellaswag_val_full.txt'), 'hellaswag_val_full.txt');
    const jsonl = hellaswag.parse(fixture('hellaswag/hellaswag_val_llamacpp.jsonl'), 'hellaswag_val_llamacpp.jsonl');
    expect(text.docs).toHaveLength(30);
    expect(jsonl.docs).toEqual(text.docs);
    expect(text.docs[0].requests[3]).toEqual({
      context: 'Roof shingle removal: A man is sitting on a roof. he',
      continuation: ' starts pulling up roofing on a roof.',
    });
    expect(text.docs[0].gold).toBe(3);
    expect(jsonl.notes[0]).toMatch(/not capitalised/);
  });

  it('hellaswag official layout: lm-eval’s preprocessing and capitalised ctx_b', () => {
    const row = {
      activity_label: 'Baking',
      ctx_a: 'A man [title] mixes flour.',
      ctx_b: 'then he',
      endings: ['bakes  it [step] well.', 'sleeps.'],
      label: '0',
    };
    const data = hellaswag.parse(JSON.stringify(row), 'hs.jsonl');
    expect(data.format).toBe('official');
    expect(data.docs[0].requests[0]).toEqual({
      context: 'Baking: A man. mixes flour. Then he',
      continuation: ' bakes it well.',
    });
  });

  it('dcformer_synthetic: 74 tasks, six queries per text, earlier answers filled in', () => {
    const data = dcformerSynthetic.parse(
      fixture('dcformer_synthetic/synthetic_dataset.jsonl'),
      'synthetic_dataset.jsonl',
    );
    expect(data.docs).toHaveLength(74);
    expect(new Set(data.docs.map((d) => d.taskId)).size).toBe(74);
    expect(data.docs.every((d) => d.queries.length === 6)).toBe(true);
    const [q0, q1] = data.docs[0].queries;
    expect(q0.context.startsWith('\n< Elizabeth has jeans.')).toBe(true);
    expect(
      q0.context.endsWith(
        '\n< Ruth has a sweater. Steven has a taxi. Ruth has a handgun. >. Ruth does not have a kind of',
      ),
    ).toBe(true);
    expect(q0.continuation).toBe(' vehicle');
    expect(q1.context.startsWith(`${q0.context} vehicle\n< Ruth has cake.`)).toBe(true);
    expect(q1.continuation).toBe(' insect');
    expect(data.docs.flatMap((d) => d.queries).some((q) => q.continuation === ' Washington, D.C')).toBe(true);
  });

  it('request modes: ids in', () => {
    expect(parseLoglikelihoodRequests('{"context_ids": [1, 2], "continuation_ids": [3]}\n\n', 'r.jsonl')).toEqual([
      { context: [1, 2], continuation: [3], line: 1 },
    ]);
    expect(parseRollingRequests('{"ids": [5, 6, 7]}\n\n{"ids": []}', 'r.jsonl')).toEqual([
      { ids: [5, 6, 7], line: 1 },
      { ids: [], line: 3 },
    ]);
  });
});

/** Replaces line `line` (1-based) of a fixture's text. */
function breakLine(text: string, line: number, edit: (row: string) => string): string {
  const lines = text.split('\n');
  lines[line - 1] = edit(lines[line - 1]);
  return lines.join('\n');
}

describe('a malformed row is a DataError naming the file and line', () => {
  it.each([
    [
      'lambada_openai',
      'lambada_openai/lambada_test.jsonl',
      4,
      () => '{"text": 12}',
      /lambada_test.jsonl:4: 'text' must be a string; got 12/,
    ],
    [
      'lambada_openai',
      'lambada_openai/lambada_test.jsonl',
      2,
      (r: string) => r.slice(0, -1),
      /lambada_test.jsonl:2: not valid JSON/,
    ],
    [
      'piqa',
      'llm-foundry/piqa.jsonl',
      9,
      (r: string) => r.replace(/"gold": \d/, '"gold": 2'),
      /piqa.jsonl:9: 'gold' must be an integer in \[0, 1\]; got 2/,
    ],
    [
      'arc_easy',
      'llm-foundry/arc_easy.jsonl',
      30,
      (r: string) => r.replace('"query"', '"question"'),
      /arc_easy.jsonl:30: missing 'query'/,
    ],
    [
      'boolq',
      'llm-foundry/boolq.jsonl',
      3,
      (r: string) => r.replace('"Passage: ', '"'),
      /boolq.jsonl:3: 'query' must look like "Passage: /,
    ],
    [
      'winogrande',
      'llm-foundry/winogrande.jsonl',
      7,
      (r: string) => r.replace('"context_options": [', '"context_options": [1, '),
      /winogrande.jsonl:7: 'context_options' must be an array of at least 2 strings/,
    ],
    [
      'hellaswag',
      'hellaswag/hellaswag_val_llamacpp.jsonl',
      5,
      (r: string) => r.replace('"label": ', '"label": -'),
      /hellaswag_val_llamacpp.jsonl:5: 'label' must be an integer in \[0, 3\]/,
    ],
    [
      'hellaswag',
      'hellaswag/hellaswag_val_full.txt',
      8,
      () => 'x',
      /hellaswag_val_full.txt:8: the gold index must be 0..3; got "x"/,
    ],
    [
      'dcformer_synthetic',
      'dcformer_synthetic/synthetic_dataset.jsonl',
      11,
      (r: string) => r.replace(' ]\\n', '\\n'),
      /synthetic_dataset.jsonl:11: line \d+ of 'texts' has a bracket/,
    ],
    [
      'dcformer_synthetic',
      'dcformer_synthetic/synthetic_dataset.jsonl',
      12,
      () => '["task0"]',
      /synthetic_dataset.jsonl:12: expected an object/,
    ],
  ])('%s (%s line %i)', async (name, file, line, edit, message) => {
    const { getTask } = await import('../src/registry.js');
    const broken = breakLine(fixture(file), line, edit);
    let error: unknown;
    try {
      getTask(name).parse(broken, file.split('/').pop() as string);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(DataError);
    expect((error as DataError).line).toBe(line);
    expect((error as Error).message).toMatch(message);
  });

  it('official PIQA labels: a bad label names its line in the labels file; a missing one says how many', () => {
    const rows = fixture('piqa/valid.jsonl');
    const labels = fixture('piqa/valid-labels.lst');
    expect(() =>
      piqa.parse(rows, 'valid.jsonl', {
        labels: { text: breakLine(labels, 6, () => '2'), source: 'valid-labels.lst' },
      }),
    ).toThrow(/valid-labels.lst:6: a label must be 0 or 1; got "2"/);
    expect(() =>
      piqa.parse(rows, 'valid.jsonl', {
        labels: { text: labels.split('\n').slice(1).join('\n'), source: 'valid-labels.lst' },
      }),
    ).toThrow(/holds 29 labels for 30 questions/);
  });

  it('an incomplete HellaSwag text item and a bzip2 file are named, not crashed on', () => {
    const text = fixture('hellaswag/hellaswag_val_full.txt').split('\n').slice(0, 9).join('\n');
    expect(() => hellaswag.parse(text, 'h.txt')).toThrow(/h.txt:9: 9 lines is not a multiple of 6/);
    expect(() => hellaswag.parse('BZh91AY&SY', 'h.txt.bz2')).toThrow(/bzip2-compressed/);
  });

  it('request files: ids must be non-negative integers, contexts non-empty', () => {
    expect(() =>
      parseLoglikelihoodRequests(
        '{"context_ids": [1], "continuation_ids": [2]}\n{"context_ids": [], "continuation_ids": [2]}',
        'r.jsonl',
      ),
    ).toThrow(/r.jsonl:2: 'context_ids' must be an array of at least 1 token ids/);
    expect(() => parseRollingRequests('{"ids": [1, -2]}', 'r.jsonl')).toThrow(
      /r.jsonl:1: 'ids' must be an array of token ids/,
    );
  });
});
