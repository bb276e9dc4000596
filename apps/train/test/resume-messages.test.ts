/**
 * What --resume says, on the built bin: a finished run is reported and left alone; another --steps
 * needs --extend, which states the new schedule; other data are refused before any tokenizing; a
 * warmup as long as the run is a warning.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { microFlags, run, workspace } from './support.js';

const APP_DIR = fileURLToPath(new URL('..', import.meta.url));
const CLI = fileURLToPath(new URL('../dist/cli.js', import.meta.url));
const w = workspace();
const out = join(w.dir, 'run');

beforeAll(async () => {
  if (!existsSync(CLI)) execFileSync('npx', ['tsup'], { cwd: APP_DIR, stdio: 'ignore' });
  const r = await run(microFlags(w, out, ['--progress', 'none', '--sample-tokens', '0']));
  expect(r.code, r.stderr).toBe(0);
});
afterAll(() => rmSync(w.dir, { recursive: true, force: true }));

function train(args: string[]) {
  const r = spawnSync(process.execPath, [CLI, ...args], {
    encoding: 'utf8',
    env: { ...process.env, DCF_DEBUG: '', DCFORMER_GC_THREADS: '1' },
  });
  return { ...r, errLines: r.stderr.split('\n').filter((l) => l !== '') };
}

const snapshot = () => ({
  checkpoints: readdirSync(join(out, 'checkpoints')),
  metrics: readFileSync(join(out, 'metrics.jsonl'), 'utf8'),
  cache: readdirSync(join(out, 'cache')).sort(),
});

describe('dcformer-train --resume says what happens', () => {
  it('a finished run: said on stderr, its summary under --json, nothing trained or rewritten', () => {
    const before = snapshot();
    const r = train(microFlags(w, out, ['--resume', '--json', '--progress', 'none', '--sample-tokens', '0']));
    expect(r.status, r.stderr).toBe(0);
    expect(r.errLines).toEqual([
      `dcformer-train: the run in ${out} has finished (step 3 of 3); nothing to train. To go on: --resume --steps N --extend`,
    ]);
    const summary = JSON.parse(r.stdout);
    expect(summary).toMatchObject({
      step: 3,
      finished: true,
      tokens_per_s: null,
      checkpoint: join(out, 'checkpoints', 'step-000003'),
    });
    expect(summary.val_loss).toBeGreaterThan(0);
    expect(snapshot()).toEqual(before);
  });

  it('--steps other than the schedule needs --extend, which states the new schedule', () => {
    const refused = train(microFlags(w, out, ['--resume', '--steps', '5', '--progress', 'none']));
    expect(refused.status).toBe(2);
    expect(refused.errLines).toEqual([
      expect.stringMatching(
        /^dcformer-train: --resume: the run was scheduled for 3 steps; --steps 5 recomputes its learning-rate schedule \(step 4: \d\.\d\de-\d → \d\.\d\de-\d\)\. Pass --extend to do that, or leave --steps out$/,
      ),
    ]);
    const extended = train(
      microFlags(w, out, [
        '--resume',
        '--steps',
        '5',
        '--extend',
        '--progress',
        'none',
        '--sample-tokens',
        '0',
        '--json',
      ]),
    );
    expect(extended.status, extended.stderr).toBe(0);
    expect(extended.errLines).toContainEqual(
      expect.stringMatching(
        /^dcformer-train: extending the run from 3 to 5 steps: the learning rate is recomputed for 5 steps \(warmup 1, cosine from 0\.001 to 0\.0001\); step 4 uses \d\.\d\de-\d \(was to be 1\.00e-4\)$/,
      ),
    );
    expect(JSON.parse(extended.stdout.trim().split('\n').at(-1)!)).toMatchObject({ step: 5 });
    const early = train(microFlags(w, out, ['--resume', '--steps', '4', '--extend']));
    expect([early.status, early.errLines]).toEqual([
      2,
      ['dcformer-train: --resume: the run is at step 5; --steps 4 would end before that'],
    ]);
    const pointless = train(microFlags(w, out, ['--steps', '5', '--extend']));
    expect([pointless.status, pointless.errLines]).toEqual([
      2,
      ['dcformer-train: --extend lengthens a resumed run; give it with --resume --steps N'],
    ]);
  });

  it('other data are refused before anything is tokenized or cached', () => {
    const other = join(w.dir, 'other.txt');
    writeFileSync(other, 'Something else entirely, long enough to train on. '.repeat(40));
    const before = snapshot();
    // --steps 8 --extend: a run with steps to go, so the data are read
    const r = train(
      microFlags(w, out, ['--resume', '--data', other, '--steps', '8', '--extend', '--progress', 'none']),
    );
    expect(r.status, r.stderr).toBe(1);
    expect(r.errLines.at(-1)).toMatch(
      /^dcformer-train: --resume: the data differ from the run's \(content hash [0-9a-f]{12} vs [0-9a-f]{12} in the checkpoint\); nothing was tokenized$/,
    );
    expect(snapshot()).toEqual(before);
  });

  it('a warmup as long as the run is a warning', () => {
    const r = train(
      microFlags(w, join(w.dir, 'warm'), [
        '--steps',
        '2',
        '--warmup',
        '5',
        '--progress',
        'none',
        '--sample-tokens',
        '0',
      ]),
    );
    expect(r.status, r.stderr).toBe(0);
    expect(r.errLines).toContain(
      'dcformer-train: warning: --warmup 5 is not shorter than the run (2 steps): the learning rate never reaches its peak 0.001',
    );
  });
});
