/**
 * The habits users bring from git, cargo and the HF CLIs, checked on the built bin: `dcformer help
 * <command>`, a suggestion for a mistyped flag or command, usage mistakes exit 2, bare `dcformer`
 * prints the usage.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, expect, it } from 'vitest';

const APP_DIR = fileURLToPath(new URL('..', import.meta.url));
const CLI = join(APP_DIR, 'dist', 'cli.js');

beforeAll(() => {
  if (!existsSync(CLI)) execFileSync('npx', ['tsup'], { cwd: APP_DIR, stdio: 'ignore' });
});

function dcformer(args: string[]) {
  return spawnSync(CLI, args, { encoding: 'utf8', env: { ...process.env, DCF_DEBUG: '' } });
}

it('`dcformer help generate` prints what `dcformer generate --help` prints', () => {
  const help = dcformer(['help', 'generate']);
  expect(help.status).toBe(0);
  expect(help.stdout).toMatch(/^usage: dcformer generate /);
  expect(help.stdout).toBe(dcformer(['generate', '--help']).stdout);
  expect(dcformer(['help']).stdout).toBe(dcformer(['--help']).stdout);
});

it.each([
  [['generate', '--modle', 'x'], /^dcformer generate: unknown flag --modle; did you mean --model\? \(valid: --model, /],
  [['eval', '--max-lenght', '8'], /^dcformer eval: unknown flag --max-lenght; did you mean --max-length\? /],
  [['generat', '--model', 'x'], /^dcformer: unknown command 'generat'; did you mean generate\? \(one of: /],
  [['help', 'tokenise'], /^dcformer: unknown command 'tokenise'; did you mean tokenize\? /],
  [['logits', '--nope'], /^dcformer logits: unknown flag --nope \(valid: /],
  [
    ['eval', '--model', 'x', '--task', 'pqia', '--data', 'x'],
    /^dcformer eval: unknown task 'pqia'; did you mean piqa\? \(one of: /,
  ],
  [
    ['generate', '--model', 'x', '--prompt', 'a', '--temperature', 'warm'],
    /^dcformer generate: --temperature must be a number; got 'warm'$/,
  ],
])('%j: one line, a suggestion when one is close, exit 2', (args, message) => {
  const r = dcformer(args);
  expect(r.status).toBe(2);
  expect(r.stdout).toBe('');
  const lines = r.stderr.split('\n').filter((l) => l !== '');
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(message);
});

it('bare `dcformer` prints the usage on stderr and exits 2', () => {
  const r = dcformer([]);
  expect(r.status).toBe(2);
  expect(r.stdout).toBe('');
  expect(r.stderr).toMatch(/^usage: dcformer <command> /);
  expect(r.stderr).toContain('dcformer help <command>');
});
