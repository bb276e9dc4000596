/**
 * `dcformer eval` on a model whose block_size is shorter than some PIQA answers (the byte-level
 * tiny preset's situation): those items are counted and named, the task still finishes; progress
 * on a terminal shows the rate and an ETA, and ppl counts tokens.
 */
import * as tf from '@tensorflow/tfjs';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initModel, resolveConfig } from '@dcformer/model';
import { saveModel } from '@dcformer/model/node';
import { byteLevelTokenizerJson } from '@dcformer/tokenizer';
import { formatDuration } from '../src/commands/eval.js';
import { main } from '../src/main.js';
import { removeTempDirs, tempDir } from './test-support.js';

const APP_DIR = fileURLToPath(new URL('..', import.meta.url));
const CLI = join(APP_DIR, 'dist', 'cli.js');
const EVAL_FIXTURES = fileURLToPath(new URL('../../../packages/eval/test/fixtures/', import.meta.url));
let modelDir: string;

beforeAll(async () => {
  if (!existsSync(CLI)) execFileSync('npx', ['tsup'], { cwd: APP_DIR, stdio: 'ignore' });
  await tf.setBackend('cpu');
  modelDir = await tempDir();
  const config = resolveConfig({
    family: 'dcformer',
    vocabSize: 257,
    dim: 32,
    nHead: 2,
    nLayer: 1,
    intermediateSize: 64,
    blockSize: 96,
    windowSize: null,
    windowType: null,
    useQkNorm: true,
  });
  const model = initModel(config, 3);
  await saveModel(model, modelDir);
  model.dispose();
  await writeFile(join(modelDir, 'tokenizer.json'), JSON.stringify(byteLevelTokenizerJson()));
});
afterAll(removeTempDirs);

interface Result {
  task: string;
  n: number;
  skipped: number;
  notes: string[];
  metrics: Record<string, { value: number }>;
}

describe('dcformer eval (built bin): unscorable items', () => {
  it('PIQA with answers longer than block_size: counted, named, the rest scored, exit 0', () => {
    const r = spawnSync(
      CLI,
      ['eval', '--model', modelDir, '--task', 'piqa', '--data', EVAL_FIXTURES, '--limit', '12', '--json'],
      { encoding: 'utf8', env: { ...process.env, DCF_DEBUG: '' } },
    );
    expect(r.status, r.stderr).toBe(0);
    const [piqa] = (JSON.parse(r.stdout) as { results: Result[] }).results;
    expect(piqa.skipped).toBeGreaterThan(0);
    expect(piqa.n).toBeGreaterThan(0);
    expect(piqa.n + piqa.skipped).toBe(12);
    expect(
      piqa.notes.some((n) =>
        n.startsWith(
          `${piqa.skipped} documents could not be scored and are left out of the metrics (first: the continuation "`,
        ),
      ),
    ).toBe(true);
    expect(r.stderr).toContain(
      `dcformer eval: piqa: ${piqa.skipped} items could not be scored within --max-length 96 and are left out (see the notes)\n`,
    );
  });
});

/** Runs main() in-process with stderr reporting itself as a terminal, as progress needs. */
async function onTerminal(argv: string[]): Promise<{ code: number; stderr: string }> {
  let stderr = '';
  const code = await main(argv, {
    stdout: { write: () => true },
    stderr: { write: (t: string) => (stderr += t), isTTY: true },
  });
  return { code, stderr };
}

describe('progress on a terminal', () => {
  it('multiple choice: done/total requests, rate and ETA', async () => {
    const r = await onTerminal([
      'eval',
      '--model',
      modelDir,
      '--task',
      'arc_easy',
      '--data',
      EVAL_FIXTURES,
      '--limit',
      '6',
      '--batch-size',
      '1',
    ]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/\r\x1b\[Kdcformer eval: arc_easy 1\/24 requests \(4%\), [\d.]+ requests\/s, ETA \d+s/);
  });

  it('ppl: progress in tokens', async () => {
    const text = join(await tempDir(), 'hamlet.txt');
    await writeFile(
      text,
      'To be, or not to be, that is the question: Whether tis nobler in the mind to suffer. '.repeat(4),
    );
    const r = await onTerminal([
      'eval',
      '--model',
      modelDir,
      '--task',
      'ppl',
      '--data',
      text,
      '--max-length',
      '32',
      '--batch-size',
      '1',
    ]);
    expect(r.code, r.stderr).toBe(0);
    // 340 bytes, each scored once (the prefix token is not): windows of 32 report as they finish
    expect(r.stderr).toMatch(/dcformer eval: ppl 32\/340 tokens \(9%\), \d+ tokens\/s, ETA \d+s/);
  });

  it('formatDuration', () => {
    expect([formatDuration(7.4), formatDuration(75), formatDuration(3725)]).toEqual(['7s', '1m15s', '1h02m']);
  });
});
