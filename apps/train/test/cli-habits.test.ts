/**
 * dcformer-train as a user first meets it, on the built bin: no arguments prints the usage, a
 * mistyped flag gets a suggestion, usage mistakes exit 2.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { beforeAll, expect, it } from 'vitest';

const APP_DIR = fileURLToPath(new URL('..', import.meta.url));
const CLI = fileURLToPath(new URL('../dist/cli.js', import.meta.url));

beforeAll(() => {
  if (!existsSync(CLI)) execFileSync('npx', ['tsup'], { cwd: APP_DIR, stdio: 'ignore' });
});

function train(args: string[]) {
  // DCFORMER_GC_THREADS=1: one process, so the exit status is the CLI's own
  return spawnSync(process.execPath, [CLI, ...args], {
    encoding: 'utf8',
    env: { ...process.env, DCF_DEBUG: '', DCFORMER_GC_THREADS: '1' },
  });
}

it('no arguments: the usage (flags and presets) on stderr, exit 2', () => {
  const r = train([]);
  expect(r.status).toBe(2);
  expect(r.stdout).toBe('');
  expect(r.stderr).toMatch(/^dcformer-train: train a DCFormer\+\+/);
  expect(r.stderr).toContain('usage: dcformer-train (--preset NAME | --config FILE) --data PATH');
  expect(r.stderr).toContain('tiny ');
});

it.each([
  [['--stesp', '3'], /^dcformer-train: unknown flag --stesp; did you mean --steps\? \(valid: /],
  [['--preset', 'tiny', '--dat', 'x'], /^dcformer-train: unknown flag --dat; did you mean --data\? /],
  [['--preset', 'tiny', '--steps', 'many'], /^dcformer-train: --steps must be an integer; got 'many'$/],
  [
    ['--preset', 'tinny', '--data', 'x.txt', '--out', 'o'],
    /^dcformer-train: unknown preset 'tinny'; did you mean tiny\? \(one of: tiny, tiny-mudd, bench-small, /,
  ],
])('%j: one line, exit 2', (args, message) => {
  const r = train(args);
  expect(r.status).toBe(2);
  expect(r.stdout).toBe('');
  const lines = r.stderr.split('\n').filter((l) => l !== '');
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(message);
});
