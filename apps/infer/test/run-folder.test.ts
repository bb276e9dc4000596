/**
 * A training run folder (dcformer-train's --out) is accepted wherever a checkpoint folder is: its
 * latest complete checkpoint is used and named on stderr. Run as a user would, on the built bin.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { ORACLE_DIR, removeTempDirs, tempDir, writeIds } from './test-support.js';

const APP_DIR = fileURLToPath(new URL('..', import.meta.url));
const CLI = join(APP_DIR, 'dist', 'cli.js');
let dir: string;
let run: string;
let ids: string;

function checkpoint(to: string, caseName: string): void {
  mkdirSync(to, { recursive: true });
  for (const f of ['config.json', 'model.safetensors']) copyFileSync(join(ORACLE_DIR, caseName, f), join(to, f));
}

beforeAll(async () => {
  if (!existsSync(CLI)) execFileSync('npx', ['tsup'], { cwd: APP_DIR, stdio: 'ignore' });
  dir = await tempDir();
  run = join(dir, 'runs', 'tiny');
  // step 9 < step 10 numerically; step 11 was interrupted (no config.json); .tmp-* is a write in progress
  checkpoint(join(run, 'checkpoints', 'step-000009'), 'case2_dcformer_lg');
  checkpoint(join(run, 'checkpoints', 'step-000010'), 'case3_dcformer_mha');
  mkdirSync(join(run, 'checkpoints', 'step-000011'));
  checkpoint(join(run, 'checkpoints', '.tmp-step-000012'), 'case2_dcformer_lg');
  writeFileSync(join(run, 'metrics.jsonl'), '');
  ids = await writeIds(dir, [[1, 2, 3, 4]]);
});
afterAll(removeTempDirs);

function dcformer(args: string[]) {
  const r = spawnSync(CLI, args, { encoding: 'utf8', env: { ...process.env, DCF_DEBUG: '' } });
  return { ...r, errLines: r.stderr.split('\n').filter((l) => l !== '') };
}

it('logits --model RUN = logits --model RUN/checkpoints/<latest>, and stderr names the checkpoint', () => {
  const a = dcformer(['logits', '--model', run, '--input', ids, '--out', join(dir, 'a.json'), '--backend', 'cpu']);
  expect(a.status, a.stderr).toBe(0);
  const latest = join(run, 'checkpoints', 'step-000010');
  expect(a.errLines).toContain(
    `dcformer logits: --model ${run} is a training run folder: using its latest checkpoint, ${latest}`,
  );
  const b = dcformer(['logits', '--model', latest, '--input', ids, '--out', join(dir, 'b.json'), '--backend', 'cpu']);
  expect(b.status, b.stderr).toBe(0);
  expect(readFileSync(join(dir, 'a.json'), 'utf8')).toBe(readFileSync(join(dir, 'b.json'), 'utf8'));
});

it('generate --model RUN works too', () => {
  const r = dcformer([
    'generate',
    '--model',
    run,
    '--input',
    ids,
    '--max-new-tokens',
    '3',
    '--json',
    '--backend',
    'cpu',
  ]);
  expect(r.status, r.stderr).toBe(0);
  expect((JSON.parse(r.stdout) as { ids: number[][] }).ids[0]).toHaveLength(7);
  expect(r.errLines.some((l) => l.includes('step-000010'))).toBe(true);
});

it('eval and convert take a run folder too', () => {
  const requests = join(dir, 'req.jsonl');
  writeFileSync(requests, `${JSON.stringify({ context_ids: [1, 2], continuation_ids: [3] })}\n`);
  const e = dcformer(['eval', '--model', run, '--task', 'loglikelihood', '--data', requests, '--backend', 'cpu']);
  expect(e.status, e.stderr).toBe(0);
  expect(Object.keys(JSON.parse(e.stdout.trim()) as object)).toEqual(['logprob', 'is_greedy']);
  expect(e.errLines.some((l) => l.startsWith('dcformer eval: --model') && l.endsWith('step-000010'))).toBe(true);
  const out = join(dir, 'converted');
  const c = dcformer(['convert', '--model', run, '--out', out]);
  expect(c.status, c.stderr).toBe(0);
  // the bytes of the weights of step 10, not of step 9 (another model of the same size)
  const b = dcformer([
    'logits',
    '--model',
    out,
    '--input',
    ids,
    '--out',
    join(dir, 'converted.json'),
    '--backend',
    'cpu',
  ]);
  expect(b.status, b.stderr).toBe(0);
  const direct = dcformer([
    'logits',
    '--model',
    join(run, 'checkpoints', 'step-000010'),
    '--input',
    ids,
    '--out',
    join(dir, 'direct.json'),
    '--backend',
    'cpu',
  ]);
  expect(direct.status, direct.stderr).toBe(0);
  expect(readFileSync(join(dir, 'converted.json'), 'utf8')).toBe(readFileSync(join(dir, 'direct.json'), 'utf8'));
});

it('a run with no complete checkpoint, and a --compare-mha run folder, are one-line errors', async () => {
  const empty = join(await tempDir(), 'fresh');
  mkdirSync(join(empty, 'checkpoints', 'step-000001'), { recursive: true });
  const r = dcformer(['generate', '--model', empty, '--input', ids]);
  expect(r.status).toBe(1);
  expect(r.errLines).toEqual([
    `dcformer generate: --model ${empty} is a training run folder with no complete checkpoint yet (${join(empty, 'checkpoints')} holds no step-N/config.json)`,
  ]);

  const compare = join(await tempDir(), 'cmp');
  checkpoint(join(compare, 'dcformer', 'checkpoints', 'step-000002'), 'case3_dcformer_mha');
  checkpoint(join(compare, 'transformer', 'checkpoints', 'step-000002'), 'case3_dcformer_mha');
  const c = dcformer(['logits', '--model', compare, '--input', ids, '--out', join(dir, 'c.json')]);
  expect(c.status).toBe(1);
  expect(c.errLines).toEqual([
    `dcformer logits: --model ${compare} holds a comparison of 2 runs; give one of them: ${join(compare, 'dcformer')}, ${join(compare, 'transformer')}`,
  ]);
});
