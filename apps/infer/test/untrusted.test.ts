/**
 * Issue 16 at the CLI: `eval --task rolling` with an empty document is a one-line error, not a fake
 * score (class 10); FIFOs and devices as input files and an --out under /proc are one-line errors, not
 * hangs (class 7).
 */
import { execFileSync } from 'node:child_process';
import { copyFile, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ORACLE_DIR, removeTempDirs, run, tempDir } from './test-support.js';

afterAll(removeTempDirs);

describe('eval --task rolling', () => {
  it('{"ids": []} exits non-zero naming the line', async () => {
    const data = join(await tempDir(), 'ids.jsonl');
    await writeFile(data, '{"ids": [1, 2, 3]}\n{"ids": []}\n');
    const r = await run([
      'eval',
      '--model',
      join(ORACLE_DIR, 'case1_dcformer_lgll'),
      '--task',
      'rolling',
      '--data',
      data,
    ]);
    expect(r.code).not.toBe(0);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/ids\.jsonl:2: 'ids' is empty; a rolling request needs at least 1 token id/);
  });
});

describe('special files (class 7)', () => {
  const CASE1 = join(ORACLE_DIR, 'case1_dcformer_lgll');

  it('a FIFO as --input, --data or --file is refused at once', async () => {
    const dir = await tempDir();
    const fifo = join(dir, 'pipe');
    execFileSync('mkfifo', [fifo]);
    const logits = await run(['logits', '--model', CASE1, '--input', fifo, '--out', join(dir, 'out.json')]);
    expect(logits.code).not.toBe(0);
    expect(logits.stderr).toMatch(/cannot read --input .*pipe: is a FIFO \(named pipe\); expected a regular file/);
    const evalRun = await run(['eval', '--model', CASE1, '--task', 'rolling', '--data', fifo]);
    expect(evalRun.stderr).toMatch(/cannot read --data .*pipe: is a FIFO/);
    const tok = await run([
      'tokenize',
      '--tokenizer',
      join(ORACLE_DIR, '..', '..', 'packages', 'tokenizer', 'assets', 'byte-level', 'tokenizer.json'),
      '--file',
      fifo,
    ]);
    expect(tok.stderr).toMatch(/cannot read --file .*pipe: is a FIFO/);
  });

  it('--tokenizer /dev/zero is refused before reading', async () => {
    const r = await run(['tokenize', '--tokenizer', '/dev/zero', '--text', 'a']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/\/dev\/zero is a character device; expected a regular file/);
  });

  it('convert --out under /proc is an error, not a hang', async () => {
    const r = await run(['convert', '--model', CASE1, '--out', '/proc/dcformer-convert/out']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/--out \/proc\/dcformer-convert\/out: cannot create folder/);
  });
});

describe('symlinks (class 8)', () => {
  it('convert refuses a tokenizer file that links out of the model folder instead of copying it', async () => {
    const src = await tempDir();
    const outside = await tempDir();
    const case1 = join(ORACLE_DIR, 'case1_dcformer_lgll');
    await copyFile(join(case1, 'config.json'), join(src, 'config.json'));
    await copyFile(join(case1, 'model.safetensors'), join(src, 'model.safetensors'));
    await writeFile(join(outside, 'secret'), 'not a tokenizer');
    await symlink(join(outside, 'secret'), join(src, 'tokenizer.json'));
    const out = join(await tempDir(), 'converted');
    const r = await run(['convert', '--model', src, '--out', out]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/tokenizer\.json is a symlink to .*secret, outside the checkpoint folder/);
  });
});
