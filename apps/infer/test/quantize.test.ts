// `dcformer quantize` in-process on the oracle's DCFormer++ case: int8 / int4 folders that every
// command loads back (logits through `dcformer logits`), --dtype on generate, usage errors.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ORACLE_DIR, removeTempDirs, run, tempDir, writeIds } from './test-support.js';

const CASE1 = join(ORACLE_DIR, 'case1_dcformer_lgll');
afterAll(removeTempDirs);

describe('dcformer quantize', () => {
  it('int4 G32: writes the quantised folder; generate loads it; --dtype on a float checkpoint works too', async () => {
    const out = join(await tempDir(), 'q4');
    const r = await run([
      'quantize',
      '--model',
      CASE1,
      '--dtype',
      'int4',
      '--group-size',
      '32',
      '--out',
      out,
      '--json',
    ]);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ dtype: 'int4', group_size: 32 });
    const config = JSON.parse(await readFile(join(out, 'config.json'), 'utf8'));
    expect(config.quantization).toMatchObject({ format: 'int4', group_size: 32, scales_dtype: 'F32' });
    const ids = await writeIds(await tempDir(), [[1, 2, 3]]);
    const g = await run([
      'generate',
      '--model',
      out,
      '--input',
      ids,
      '--max-new-tokens',
      '3',
      '--greedy',
      '--json',
      '--backend',
      'cpu',
    ]);
    expect(g.code, g.stderr).toBe(0);
    const again = await run([
      'generate',
      '--model',
      CASE1,
      '--dtype',
      'bf16',
      '--input',
      ids,
      '--max-new-tokens',
      '3',
      '--greedy',
      '--json',
      '--backend',
      'cpu',
    ]);
    expect(again.code, again.stderr).toBe(0);
  });

  it('usage errors: a 16-bit --dtype, a bad --group-size, an unknown --dtype on generate', async () => {
    const out = join(await tempDir(), 'x');
    const a = await run(['quantize', '--model', CASE1, '--dtype', 'bf16', '--out', out]);
    expect(a.code).toBe(2);
    expect(a.stderr).toMatch(
      /--dtype must be int8 or int4; got 'bf16' \(16-bit storage: dcformer convert --dtype f16\|bf16\)/,
    );
    const b = await run(['quantize', '--model', CASE1, '--dtype', 'int8', '--group-size', '48', '--out', out]);
    expect(b.code).toBe(2);
    expect(b.stderr).toMatch(/--group-size must be a positive multiple of 32/);
    const ids = await writeIds(await tempDir(), [[1, 2, 3]]);
    const c = await run(['generate', '--model', CASE1, '--dtype', 'int3', '--input', ids]);
    expect(c.code).toBe(2);
    expect(c.stderr).toMatch(/--dtype must be one of f32, bf16, f16, int8, int4; got 'int3'/);
  });
});
