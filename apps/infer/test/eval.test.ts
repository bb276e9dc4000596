/**
 * `dcformer eval`: the token-id modes on oracle case 1 against a direct computation from the model's
 * logits, the text tasks end to end on a small random byte-level model (with the byte-level
 * tokenizer.json) over the eval package's fixture samples, and the one-line errors.
 */
import * as tf from '@tensorflow/tfjs';
import { loadModel, saveModel } from '@dcformer/model/node';
import { initModel, resolveConfig, type DcformerModel } from '@dcformer/model';
import { byteLevelTokenizerJson } from '@dcformer/tokenizer';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ORACLE_DIR, removeTempDirs, run, tempDir } from './test-support.js';

const CASE1 = join(ORACLE_DIR, 'case1_dcformer_lgll');
const EVAL_FIXTURES = fileURLToPath(new URL('../../../packages/eval/test/fixtures/', import.meta.url));

afterAll(removeTempDirs);

async function writeLines(rows: unknown[], name: string): Promise<string> {
  const path = join(await tempDir(), name);
  await writeFile(path, `${rows.map((r) => (typeof r === 'string' ? r : JSON.stringify(r))).join('\n')}\n`);
  return path;
}

/** log softmax(row)[id] in float64. */
function logProb(row: ArrayLike<number>, id: number): number {
  let max = -Infinity;
  for (let i = 0; i < row.length; i++) max = Math.max(max, row[i]);
  let sum = 0;
  for (let i = 0; i < row.length; i++) sum += Math.exp(row[i] - max);
  return row[id] - max - Math.log(sum);
}

/** Index of the largest value (the first on ties). */
function argmax(row: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < row.length; i++) if (row[i] > row[best]) best = i;
  return best;
}

/**
 * Σ log p(ids[t] | ids[<t]) over t = first..n−1 and whether every such ids[t] is the argmax, given
 * `rowAt(t - 1)`, the logits row that predicts position t (float64 arithmetic).
 */
function scoreFromRows(
  rowAt: (t: number) => ArrayLike<number>,
  ids: number[],
  first: number,
): { logprob: number; isGreedy: boolean } {
  let logprob = 0;
  let isGreedy = true;
  for (let t = first; t < ids.length; t++) {
    const row = rowAt(t - 1);
    logprob += logProb(row, ids[t]);
    isGreedy &&= argmax(row) === ids[t];
  }
  return { logprob, isGreedy };
}

/** `scoreFromRows` on one forward over ids[:-1]. */
function direct(model: DcformerModel, ids: number[], first: number): { logprob: number; isGreedy: boolean } {
  const V = model.config.vocabSize;
  const logits = tf.tidy(() => model.forward([ids.slice(0, -1)]).dataSync()) as Float32Array;
  return scoreFromRows((t) => logits.subarray(t * V, (t + 1) * V), ids, first);
}

function directSum(model: DcformerModel, ids: number[], first: number): number {
  return direct(model, ids, first).logprob;
}

describe('eval over token ids (case1, no tokenizer)', () => {
  let model: DcformerModel;
  beforeAll(async () => {
    await tf.setBackend('cpu');
    model = await loadModel(CASE1, { onWarning: () => {} });
  });
  afterAll(() => model?.dispose());

  it('--task loglikelihood: one {"logprob", "is_greedy"} line per request, equal to the direct sum', async () => {
    const requests = [
      { context_ids: [1, 2, 3, 4], continuation_ids: [5, 6] },
      { context_ids: [9], continuation_ids: [100] },
      { context_ids: [1, 2, 3, 4], continuation_ids: [7] },
    ];
    const r = await run([
      'eval',
      '--model',
      CASE1,
      '--task',
      'loglikelihood',
      '--data',
      await writeLines(requests, 'req.jsonl'),
    ]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.errLines).toEqual(['dcformer: backend cpu']);
    const lines = r.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { logprob: number; is_greedy: boolean });
    expect(lines).toHaveLength(3);
    requests.forEach((q, i) => {
      const ids = [...q.context_ids, ...q.continuation_ids];
      const want = direct(model, ids, q.context_ids.length);
      expect(Math.abs(lines[i].logprob - want.logprob)).toBeLessThan(1e-4);
      expect(lines[i].is_greedy, `request ${i}`).toBe(want.isGreedy);
    });
  });

  it('--task loglikelihood on prefixes of the oracle input: logprob and is_greedy from the official logits', async () => {
    // The model is causal, so the official train_as_infer logits of input_ids[0] also score every
    // prefix of it: the expectations below come from the oracle, not from this project's forward.
    const g = JSON.parse(await readFile(join(CASE1, 'golden.json'), 'utf8')) as {
      input_ids: number[][];
      train_as_infer: { logits: number[][][] };
    };
    const ids = g.input_ids[0];
    const rows = g.train_as_infer.logits[0];
    const ranked = (t: number) =>
      rows[t]
        .map((x, i) => [x, i] as const)
        .sort((a, b) => b[0] - a[0])
        .map(([, i]) => i);
    const requests = [
      { context_ids: ids.slice(0, 10), continuation_ids: ids.slice(10, 13) }, // the oracle's own next tokens
      { context_ids: ids.slice(0, 20), continuation_ids: [ranked(19)[0]] }, // the argmax: greedy
      { context_ids: ids.slice(0, 30), continuation_ids: [ranked(29)[1]] }, // the runner-up: not greedy
    ];
    const r = await run([
      'eval',
      '--model',
      CASE1,
      '--task',
      'loglikelihood',
      '--data',
      await writeLines(requests, 'oracle-req.jsonl'),
    ]);
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { logprob: number; is_greedy: boolean });
    expect(lines).toHaveLength(requests.length);
    const wants = requests.map((q) =>
      scoreFromRows((t) => rows[t], [...q.context_ids, ...q.continuation_ids], q.context_ids.length),
    );
    expect(wants.map((w) => w.isGreedy)).toEqual([false, true, false]);
    requests.forEach((q, i) => {
      // logits agree to 1e-4 (DESIGN.md), so each token's log-probability to 2e-4
      expect(Math.abs(lines[i].logprob - wants[i].logprob), `request ${i}`).toBeLessThanOrEqual(
        2e-4 * q.continuation_ids.length,
      );
      expect(lines[i].is_greedy, `request ${i}`).toBe(wants[i].isGreedy);
    });
  });

  it('--task rolling: every token but the first scored once; equals the full context when it fits', async () => {
    const ids = Array.from({ length: 40 }, (_, i) => (i * 13 + 5) % 128);
    const data = await writeLines([{ ids }, { ids: [7] }], 'ids.jsonl');
    const fits = await run(['eval', '--model', CASE1, '--task', 'rolling', '--data', data, '--max-length', '64']);
    expect(fits.code, fits.stderr).toBe(0);
    const [a, b] = fits.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { logprob: number; tokens: number });
    expect(a.tokens).toBe(39);
    expect(Math.abs(a.logprob - directSum(model, ids, 1))).toBeLessThan(1e-3);
    expect(b).toEqual({ logprob: 0, tokens: 0 });
    const windowed = await run([
      'eval',
      '--model',
      CASE1,
      '--task',
      'rolling',
      '--data',
      data,
      '--max-length',
      '16',
      '--stride',
      '8',
      '--limit',
      '1',
    ]);
    const w = JSON.parse(windowed.stdout) as { logprob: number; tokens: number };
    expect(w.tokens).toBe(39);
    expect(w.logprob).not.toBeCloseTo(a.logprob, 3); // less context, a different (finite) number
    expect(Number.isFinite(w.logprob)).toBe(true);
  });

  it.each([
    [
      [{ context_ids: [1], continuation_ids: [2] }, '{"context_ids": [1], "continuation_ids": "x"}'],
      'loglikelihood',
      /^dcformer eval: .*req.jsonl:2: 'continuation_ids' must be an array of at least 1 token ids/,
    ],
    [
      [
        { context_ids: [1], continuation_ids: [2] },
        { context_ids: [1], continuation_ids: [200] },
      ],
      'loglikelihood',
      /^dcformer eval: --data .*req.jsonl:2: token id 200 is outside the vocabulary \[0, 128\)$/,
    ],
    [['{"ids": [1, 2'], 'rolling', /^dcformer eval: .*req.jsonl:1: not valid JSON/],
  ])('a bad request line is one stderr line naming it (%#)', async (rows, task, message) => {
    const r = await run([
      'eval',
      '--model',
      CASE1,
      '--task',
      task as string,
      '--data',
      await writeLines(rows as unknown[], 'req.jsonl'),
    ]);
    expect(r.code).toBe(1);
    expect(r.errLines.filter((l) => l !== 'dcformer: backend cpu')).toHaveLength(1);
    expect(r.errLines[r.errLines.length - 1]).toMatch(message);
  });
});

describe('eval text tasks on a small random byte-level model', () => {
  let modelDir: string;
  beforeAll(async () => {
    await tf.setBackend('cpu');
    modelDir = await tempDir();
    const config = resolveConfig({
      family: 'dcformer',
      vocabSize: 257,
      dim: 32,
      nHead: 2,
      nLayer: 2,
      intermediateSize: 64,
      blockSize: 256,
      windowSize: 16,
      windowType: null,
      useQkNorm: true,
    });
    const model = initModel(config, 3);
    await saveModel(model, modelDir);
    model.dispose();
    await writeFile(join(modelDir, 'tokenizer.json'), JSON.stringify(byteLevelTokenizerJson()));
  });

  it('several tasks from the eval-data folder: JSON with metrics, standard errors and counts', async () => {
    const tasks = 'arc_easy,winogrande,lambada_openai,dcformer_synthetic';
    const r = await run([
      'eval',
      '--model',
      modelDir,
      '--task',
      tasks,
      '--data',
      EVAL_FIXTURES,
      '--limit',
      '2',
      '--max-length',
      '128',
      '--json',
    ]);
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as {
      results: {
        task: string;
        n: number;
        requests: number;
        format: string;
        metrics: Record<string, { value: number; stderr: number | null }>;
        notes: string[];
        subtasks?: unknown[];
      }[];
    };
    expect(out.results.map((x) => [x.task, x.n, x.format])).toEqual([
      ['arc_easy', 2, 'llm-foundry'],
      ['winogrande', 2, 'llm-foundry'],
      ['lambada_openai', 2, 'lm-eval'],
      ['dcformer_synthetic', 2, 'dcformer'],
    ]);
    const [arc, , lambada, synthetic] = out.results;
    expect(Object.keys(arc.metrics)).toEqual(['acc', 'acc_norm']);
    expect(arc.requests).toBe(8);
    expect(arc.metrics.acc.stderr).not.toBeNull();
    expect(arc.notes[0]).toMatch(/first 2 of 30 documents/);
    expect(lambada.metrics.perplexity.value).toBeGreaterThan(1);
    expect(synthetic.subtasks).toHaveLength(2);
    expect(r.errLines.filter((l) => /items\/s\)$/.test(l))).toHaveLength(4);
  });

  it('one task, one file: a markdown table; ppl of a text file with a sliding window', async () => {
    const md = await run([
      'eval',
      '--model',
      modelDir,
      '--task',
      'hellaswag',
      '--data',
      join(EVAL_FIXTURES, 'hellaswag/hellaswag_val_full.txt'),
      '--limit',
      '2',
    ]);
    expect(md.code, md.stderr).toBe(0);
    expect(md.stdout.split('\n')[0]).toBe('| Task | Format | n | Metric | | Value | | Stderr |');
    expect(md.stdout).toMatch(/\| hellaswag \| llama.cpp text \| 2 \| acc \|/);
    expect(md.stdout).toMatch(/not capitalised/);
    const text = await writeLines(
      ['To be, or not to be, that is the question:', 'Whether tis nobler in the mind to suffer'],
      'hamlet.txt',
    );
    const ppl = await run([
      'eval',
      '--model',
      modelDir,
      '--task',
      'ppl',
      '--data',
      text,
      '--max-length',
      '32',
      '--stride',
      '16',
      '--json',
    ]);
    expect(ppl.code, ppl.stderr).toBe(0);
    const m = (JSON.parse(ppl.stdout) as { results: { metrics: Record<string, { value: number }> }[] }).results[0]
      .metrics;
    // an untrained model over 257 byte tokens: close to uniform, ~8 bits per byte
    expect(m.bits_per_byte.value).toBeGreaterThan(6);
    expect(m.bits_per_byte.value).toBeLessThan(10);
    expect(m.token_perplexity.value).toBeCloseTo(2 ** m.bits_per_byte.value, 6);
  });

  it.each([
    [['--task', 'piqa'], 2, /^dcformer eval: missing --data$/],
    [
      ['--task', 'nope', '--data', 'x'],
      2,
      /^dcformer eval: unknown task 'nope' \(one of: lambada_openai, .*, loglikelihood, rolling\)$/,
    ],
    [['--task', 'piqa,loglikelihood', '--data', 'x'], 2, /runs alone/],
    [
      ['--task', 'piqa,boolq', '--data', join(EVAL_FIXTURES, 'piqa/valid.jsonl')],
      2,
      /several tasks need --data to be the eval-data folder/,
    ],
    [
      ['--task', 'ppl', '--data', 'x', '--max-length', '8', '--stride', '9'],
      2,
      /--stride 9 must be at most --max-length 8/,
    ],
    [
      ['--task', 'arc_easy', '--data', join(EVAL_FIXTURES, 'nowhere.jsonl')],
      1,
      /cannot read .*nowhere.jsonl: no such file/,
    ],
  ])('%j: one line, exit %i', async (args, code, message) => {
    const r = await run(['eval', '--model', modelDir, ...(args as string[])]);
    expect(r.code).toBe(code);
    expect(r.errLines).toHaveLength(1);
    expect(r.errLines[0]).toMatch(message);
  });

  it('text tasks without tokenizer files say so', async () => {
    const r = await run(['eval', '--model', CASE1, '--task', 'boolq', '--data', EVAL_FIXTURES]);
    expect(r.code).toBe(1);
    expect(r.errLines).toEqual([
      expect.stringMatching(/^dcformer eval: text tasks need tokenizer files in .*case1_dcformer_lgll/),
    ]);
  });
});
