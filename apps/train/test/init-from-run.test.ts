/**
 * `dcformer-train --init-from RUN`: a training run folder stands for its latest checkpoint, as
 * `dcformer --model RUN` does. Run on the built bin as a user would.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { microFlags, run, workspace } from './support.js';

const APP_DIR = fileURLToPath(new URL('..', import.meta.url));
const CLI = fileURLToPath(new URL('../dist/cli.js', import.meta.url));
const w = workspace();

beforeAll(async () => {
  if (!existsSync(CLI)) execFileSync('npx', ['tsup'], { cwd: APP_DIR, stdio: 'ignore' });
  const r = await run(
    microFlags(w, join(w.dir, 'base'), [
      '--steps',
      '2',
      '--progress',
      'none',
      '--sample-tokens',
      '0',
      '--checkpoint-every',
      '1',
    ]),
  );
  expect(r.code, r.stderr).toBe(0);
});
afterAll(() => rmSync(w.dir, { recursive: true, force: true }));

function train(args: string[]) {
  return spawnSync(process.execPath, [CLI, ...args], {
    encoding: 'utf8',
    env: { ...process.env, DCF_DEBUG: '', DCFORMER_GC_THREADS: '1' },
  });
}

it("--init-from RUN starts from the run's latest checkpoint and says which", () => {
  const base = join(w.dir, 'base');
  const r = train(
    microFlags(w, join(w.dir, 'tuned'), [
      '--init-from',
      base,
      '--steps',
      '1',
      '--progress',
      'none',
      '--sample-tokens',
      '0',
      '--json',
    ]),
  );
  expect(r.status, r.stderr).toBe(0);
  expect(r.stderr).toContain(
    `dcformer-train: --init-from ${base} is a training run folder: using its latest checkpoint, ${join(base, 'checkpoints', 'step-000002')}`,
  );
  expect(JSON.parse(r.stdout.trim().split('\n').at(-1)!)).toMatchObject({ step: 1 });
});

it('--init-from a folder that does not exist is one line naming it', () => {
  const r = train(microFlags(w, join(w.dir, 'other'), ['--init-from', join(w.dir, 'nowhere'), '--progress', 'none']));
  expect(r.status).toBe(1);
  expect(r.stderr).toBe(`dcformer-train: cannot read --init-from ${join(w.dir, 'nowhere')}: no such directory\n`);
});
