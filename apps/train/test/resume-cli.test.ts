/**
 * Exact resume through the built CLI (dist/cli.js, a child process, as a user runs it), on the
 * native cpu kernels when @dcformer/kernels-cpu's addon is built: `dcformer-train` for 6 steps in one
 * go, and the same run cut after step 3 and continued with `--resume` for steps 4–6, must print the
 * same losses, learning rates and gradient norms and write bit-identical weights, optimizer state
 * and trainer state.
 *
 * The cut: a copy of the one-go run directory with every checkpoint after step 3 deleted, which is
 * what a run killed just after writing its step-3 checkpoint leaves on disk (metrics.jsonl may hold
 * later lines; --resume must drop them). The CLI has no flag to stop early with the schedule of a
 * longer run, and Ctrl-C lands on a step that depends on timing, so this is the deterministic cut.
 * A micro model: each run takes a few seconds.
 */
import { execFile } from 'node:child_process';
import { cpSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { BYTE_TOKENIZER, workspace } from './support.js';
import { inCI, MissingTestToolError } from '../../../tools/test-env.mjs';

const CLI = fileURLToPath(new URL('../dist/cli.js', import.meta.url));
const w = workspace();
afterAll(() => rmSync(w.dir, { recursive: true, force: true }));

interface Cli {
  code: number | null;
  stdout: string;
  stderr: string;
}

function cli(args: string[]): Promise<Cli> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [CLI, ...args],
      { encoding: 'utf8', maxBuffer: 16 << 20, timeout: 120_000 },
      (error, stdout, stderr) => {
        resolve({ code: error ? ((error as { code?: number }).code ?? null) : 0, stdout, stderr });
      },
    );
  });
}

/** Six steps of the micro model, evaluated and checkpointed every 3, on the cpu backend. */
function flags(out: string, extra: string[] = []): string[] {
  return [
    '--config',
    w.config,
    '--tokenizer',
    BYTE_TOKENIZER,
    '--data',
    w.corpus,
    '--out',
    out,
    '--backend',
    'cpu',
    '--json',
    '--steps',
    '6',
    '--batch-size',
    '2',
    '--seq-len',
    '16',
    '--warmup',
    '1',
    '--eval-every',
    '3',
    '--eval-batches',
    '1',
    '--log-every',
    '1',
    '--checkpoint-every',
    '3',
    '--keep',
    '5',
    '--sample-tokens',
    '0',
    '--seed',
    '5',
    ...extra,
  ];
}

type Line = Record<string, number | string | boolean | null>;
/** A log line without what measures time (elapsed_s, tokens_per_s): everything else must match bit for bit. */
const untimed = ({ elapsed_s: _e, tokens_per_s: _t, ...rest }: Line): Line => rest;
const jsonLines = (text: string): Line[] =>
  text
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Line);

describe('dcformer-train: 6 steps == 3 + --resume 3, bit for bit, through the CLI', () => {
  it('same losses, weights, optimizer state and trainer state', async () => {
    const straightDir = join(w.dir, 'straight');
    const straight = await cli(flags(straightDir));
    expect(straight.code, straight.stderr).toBe(0);
    // Which kernels ran: the native ones name themselves on stderr when the addon loads.
    const native = /native kernels on 'cpu'/.test(straight.stderr);
    if (!native) {
      const why = `the native cpu kernels did not load (stderr: ${straight.stderr.split('\n').slice(0, 3).join(' | ')})`;
      if (inCI()) throw new MissingTestToolError('resume on the native kernels', why);
      console.warn(`[resume-cli] ran on the stock kernels: ${why}`);
    }
    expect(readdirSync(join(straightDir, 'checkpoints'))).toEqual(['step-000003', 'step-000006']);

    // The cut after step 3 (see the file comment), then --resume to step 6.
    const resumedDir = join(w.dir, 'resumed');
    cpSync(straightDir, resumedDir, { recursive: true });
    rmSync(join(resumedDir, 'checkpoints', 'step-000006'), { recursive: true });
    const resumed = await cli(flags(resumedDir, ['--resume']));
    expect(resumed.code, resumed.stderr).toBe(0);

    const [all, rest] = [jsonLines(straight.stdout), jsonLines(resumed.stdout)];
    expect(all.map((l) => l.step)).toEqual([1, 2, 3, 4, 5, 6, 6]); // six steps, then the summary
    expect(rest.map((l) => l.step)).toEqual([4, 5, 6, 6]); // it continued from step 3, not from scratch
    expect(rest.slice(0, 3).map(untimed)).toEqual(all.slice(3, 6).map(untimed));
    const metrics = (dir: string) => jsonLines(readFileSync(join(dir, 'metrics.jsonl'), 'utf8')).map(untimed);
    expect(metrics(resumedDir)).toEqual(metrics(straightDir));

    const a = join(straightDir, 'checkpoints', 'step-000006');
    const b = join(resumedDir, 'checkpoints', 'step-000006');
    for (const file of ['model.safetensors', 'optimizer.safetensors', 'config.json', 'tokenizer.json']) {
      expect(readFileSync(join(b, file)).equals(readFileSync(join(a, file))), file).toBe(true);
    }
    const state = (dir: string) => ({
      ...JSON.parse(readFileSync(join(dir, 'trainer_state.json'), 'utf8')),
      elapsedS: 0,
    });
    expect(state(b)).toEqual(state(a));
    console.log(
      `[resume-cli] ${native ? 'native' : 'stock'} cpu kernels: final train_loss ${all[5].train_loss}, val_loss ${all[5].val_loss}; resumed run identical`,
    );
  }, 240_000);
});
