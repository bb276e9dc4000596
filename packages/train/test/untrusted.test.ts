/**
 * Issue 16, class 9: `--resume` with `--keep` takes the tokenizer files from the checkpoint it
 * resumes from; once --keep deletes that checkpoint, later saves must still write them. Also class 7:
 * an --out under /proc is an error, not a hang.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InputError } from '@dcformer/kernels';
import { runTraining, type RunOptions } from '../src/run.js';
import { listDataFiles } from '../src/sources.js';
import { MICRO, microSettings, microTokens } from './micro.js';

const root = mkdtempSync(join(tmpdir(), 'dcf-train-untrusted-'));
beforeAll(async () => {
  await tf.setBackend('cpu');
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

function options(outDir: string, over: Partial<RunOptions> = {}): RunOptions {
  return {
    outDir,
    settings: microSettings({ checkpointEvery: 1, keep: 1, steps: 5 }),
    config: MICRO,
    tokens: microTokens(),
    dataHash: 'micro',
    ...over,
  };
}

describe('class 9: --resume with --keep', () => {
  it('keeps writing the tokenizer after the resumed-from checkpoint is deleted', async () => {
    const tokDir = join(root, 'tok');
    rmSync(tokDir, { recursive: true, force: true });
    mkdirSync(tokDir);
    writeFileSync(join(tokDir, 'tokenizer.json'), '{"tokenizer": true}');
    const out = join(root, 'run');
    const first = await runTraining(
      options(out, { stopAfter: 2, extraFiles: [{ source: join(tokDir, 'tokenizer.json'), name: 'tokenizer.json' }] }),
    );
    first.model.dispose();
    // As the CLI does on --resume without --tokenizer: the tokenizer comes from the latest checkpoint.
    const resumedFrom = first.checkpoint;
    const second = await runTraining(
      options(out, {
        resume: true,
        extraFiles: [{ source: join(resumedFrom, 'tokenizer.json'), name: 'tokenizer.json' }],
      }),
    );
    second.model.dispose();
    expect(second.step).toBe(5);
    expect(readdirSync(join(out, 'checkpoints')).filter((n) => n.startsWith('step-'))).toEqual([
      second.checkpoint.split('/').pop(),
    ]);
    expect(readFileSync(join(second.checkpoint, 'tokenizer.json'), 'utf8')).toBe('{"tokenizer": true}');
  });
});

describe('class 7: --out that cannot be created', () => {
  it('an --out under /proc is an InputError at once', async () => {
    const started = Date.now();
    await expect(runTraining(options('/proc/dcformer-run/out'))).rejects.toSatisfy(
      (e: unknown) =>
        InputError.isInstance(e) && /--out \/proc\/dcformer-run\/out: cannot create folder/.test((e as Error).message),
    );
    expect(Date.now() - started).toBeLessThan(5000);
  });
});

describe('class 7: --data that is not a regular file', () => {
  it('a FIFO as --data is an InputError at once', async () => {
    const fifo = join(root, 'data.txt');
    execFileSync('mkfifo', [fifo]);
    await expect(listDataFiles([fifo])).rejects.toThrow(
      /--data .*data\.txt: is not a regular file or a directory \(a FIFO, device or socket\)/,
    );
  });
});
