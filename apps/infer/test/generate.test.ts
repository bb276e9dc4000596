/**
 * `dcformer generate` on the oracle fixture models (ids in, ids out: the fixtures carry no tokenizer)
 * against the official greedy ids, plus sampling reproducibility and usage errors.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  GOLDEN_CASES,
  type Golden,
  ORACLE_DIR,
  readGolden,
  removeTempDirs,
  run,
  tempDir,
  writeIds,
} from './test-support.js';

afterAll(removeTempDirs);

describe.each(GOLDEN_CASES)('generate %s', (caseName) => {
  const modelDir = join(ORACLE_DIR, caseName);
  let golden: Golden;
  let idsPath: string;

  beforeAll(async () => {
    golden = await readGolden(caseName);
    const prompts = golden.generate.ids.map((row) => row.slice(0, golden.generate.prompt_len));
    idsPath = await writeIds(await tempDir(), prompts);
  });

  it('greedy ids equal the official generate.ids', async () => {
    const r = await run([
      'generate',
      '--model',
      modelDir,
      '--input',
      idsPath,
      '--max-new-tokens',
      String(golden.generate.n_gen),
      '--json',
    ]);
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as {
      ids: number[][];
      text: null;
      prefill_ms: number;
      decode_tokens_per_s: number;
    };
    expect(out.ids).toEqual(golden.generate.ids);
    expect(out.text).toBeNull();
    expect(out.prefill_ms).toBeGreaterThan(0);
  });
});

describe('generate sampling and usage', () => {
  const modelDir = join(ORACLE_DIR, GOLDEN_CASES[0]);
  let idsPath: string;
  beforeAll(async () => {
    idsPath = await writeIds(await tempDir(), [[1, 2, 3], [5]]);
  });

  it('a seed reproduces sampled ids; ragged prompts are allowed', async () => {
    const args = [
      'generate',
      '--model',
      modelDir,
      '--input',
      idsPath,
      '--max-new-tokens',
      '6',
      '--temperature',
      '0.8',
      '--top-p',
      '0.9',
      '--seed',
      '3',
      '--json',
    ];
    const a = JSON.parse((await run(args)).stdout) as { ids: number[][] };
    const b = JSON.parse((await run(args)).stdout) as { ids: number[][] };
    expect(a.ids).toEqual(b.ids);
    expect(a.ids.map((r) => r.length)).toEqual([9, 7]);
  });

  it.each([
    [['--prompt', 'hi'], /--prompt needs tokenizer files/],
    [['--top-p', '1.5'], /'topP' must be a number in \(0, 1\]; got 1.5/],
    [['--greedy', '--temperature', '1'], /--greedy cannot be combined/],
    [['--temperature', 'hot'], /--temperature must be a number; got 'hot'/],
  ])('%j is one line and a non-zero exit', async (extra, message) => {
    const base =
      extra[0] === '--prompt'
        ? ['generate', '--model', modelDir]
        : ['generate', '--model', modelDir, '--input', idsPath];
    const r = await run([...base, ...extra]);
    expect(r.code).not.toBe(0);
    expect(r.errLines).toHaveLength(1);
    expect(r.errLines[0]).toMatch(message);
  });
});

describe('convert', () => {
  it('PyTorch shards → a safetensors folder whose logits equal the original', async () => {
    const dir = await tempDir();
    const out = join(dir, 'converted');
    const r = await run([
      'convert',
      '--model',
      join(ORACLE_DIR, 'case4_dcpythia', 'torch_sharded'),
      '--out',
      out,
      '--json',
    ]);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ out, tokenizer_files: [] });
    const ids = await writeIds(dir, [[1, 2, 3, 4]]);
    const a = await run(['logits', '--model', out, '--input', ids, '--out', join(dir, 'a.json')]);
    const b = await run([
      'logits',
      '--model',
      join(ORACLE_DIR, 'case4_dcpythia'),
      '--input',
      ids,
      '--out',
      join(dir, 'b.json'),
    ]);
    expect([a.code, b.code]).toEqual([0, 0]);
    const { readFile } = await import('node:fs/promises');
    expect(await readFile(join(dir, 'a.json'), 'utf8')).toEqual(await readFile(join(dir, 'b.json'), 'utf8'));
  });
});
