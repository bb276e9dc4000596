/**
 * The built bin, spawned as a user would run it: proves the hashbang, the ESM entry, the exit code
 * and that tfjs's Node banner stays off stderr.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { ORACLE_DIR, readGolden, removeTempDirs, tempDir, writeIds } from './test-support.js';

const APP_DIR = fileURLToPath(new URL('..', import.meta.url));
const CLI = join(APP_DIR, 'dist', 'cli.js');

beforeAll(() => {
  // turbo builds before testing; a bare `vitest run` on a fresh checkout builds here instead.
  if (!existsSync(CLI)) execFileSync('npx', ['tsup'], { cwd: APP_DIR, stdio: 'ignore' });
});
afterAll(removeTempDirs);

function spawnCli(args: string[]) {
  // Executed directly (not `node cli.js`) so the hashbang and the executable bit are tested too.
  return spawnSync(CLI, args, { encoding: 'utf8', env: { ...process.env, DCF_DEBUG: '' } });
}

it('dist/cli.js runs `logits` end to end', async () => {
  const dir = await tempDir();
  const ids = await writeIds(dir, (await readGolden('case3_dcformer_mha')).input_ids);
  const out = join(dir, 'out.json');
  const r = spawnCli([
    'logits',
    '--model',
    join(ORACLE_DIR, 'case3_dcformer_mha'),
    '--input',
    ids,
    '--out',
    out,
    '--json',
  ]);
  const lines = r.stderr.split('\n').filter((l) => l !== '');
  expect(lines[0]).toBe('dcformer: backend cpu');
  expect(lines).toHaveLength(2);
  expect(r.status).toBe(0);
  expect(JSON.parse(r.stdout)).toMatchObject({ out, shape: [1, 48, 128] });
  const logits = (JSON.parse(await readFile(out, 'utf8')) as { logits: number[][][] }).logits;
  expect(logits.flat(2)).toHaveLength(48 * 128);
});

it('dist/cli.js exits 2 with one stderr line on a usage error', () => {
  const r = spawnCli(['grads', '--nope']);
  expect(r.status).toBe(2);
  expect(r.stdout).toBe('');
  expect(r.stderr).toMatch(/^dcformer grads: unknown flag --nope \(valid: [^\n]*\)\n$/);
});
