/** Issue 16, class 10: `eval --task rolling` with an empty document is a one-line error, not a fake score. */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ORACLE_DIR, removeTempDirs, run, tempDir } from './test-support.js';

afterAll(removeTempDirs);

describe('eval --task rolling', () => {
  it('{"ids": []} exits non-zero naming the line', async () => {
    const data = join(await tempDir(), 'ids.jsonl');
    await writeFile(data, '{"ids": [1, 2, 3]}\n{"ids": []}\n');
    const r = await run(['eval', '--model', join(ORACLE_DIR, 'case1_dcformer_lgll'), '--task', 'rolling', '--data', data]);
    expect(r.code).not.toBe(0);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/ids\.jsonl:2: 'ids' is empty; a rolling request needs at least 1 token id/);
  });
});
