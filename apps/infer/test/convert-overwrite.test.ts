/**
 * `dcformer convert` on the built bin: an existing non-empty --out is refused without --overwrite
 * and replaced whole with it; a failed conversion leaves --out as it was and no temporary folder.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { ORACLE_DIR, removeTempDirs, tempDir } from './test-support.js';

const APP_DIR = fileURLToPath(new URL('..', import.meta.url));
const CLI = join(APP_DIR, 'dist', 'cli.js');
const CASE3 = join(ORACLE_DIR, 'case3_dcformer_mha');
const BYTE_TOKENIZER = createRequire(import.meta.url).resolve('@dcformer/tokenizer/assets/byte-level/tokenizer.json');

beforeAll(() => {
  if (!existsSync(CLI)) execFileSync('npx', ['tsup'], { cwd: APP_DIR, stdio: 'ignore' });
});
afterAll(removeTempDirs);

function convert(args: string[]) {
  return spawnSync(CLI, ['convert', ...args], { encoding: 'utf8', env: { ...process.env, DCF_DEBUG: '' } });
}

it('a non-empty --out needs --overwrite, which replaces the folder whole', async () => {
  const out = join(await tempDir(), 'converted');
  expect(convert(['--model', CASE3, '--out', out]).status).toBe(0);
  const before = statSync(join(out, 'model.safetensors')).mtimeMs;

  const again = convert(['--model', CASE3, '--out', out]);
  expect(again.status).toBe(1);
  expect(again.stderr).toBe(
    `dcformer convert: --out ${out} already exists and is not empty (2 entries); pass --overwrite to replace it, or choose another --out\n`,
  );
  expect(statSync(join(out, 'model.safetensors')).mtimeMs).toBe(before);

  // a stale shard of some older model must not survive next to the new single file
  writeFileSync(join(out, 'model-00001-of-00002.safetensors'), 'stale');
  const replaced = convert(['--model', CASE3, '--out', out, '--overwrite']);
  expect(replaced.status, replaced.stderr).toBe(0);
  expect(readdirSync(out).sort()).toEqual(['config.json', 'model.safetensors']);
  expect(readdirSync(dirname(out))).toEqual(['converted']);
});

it('an empty --out folder is written without --overwrite; a sole *tokenizer.json travels along', async () => {
  const src = await tempDir();
  for (const f of ['config.json', 'model.safetensors']) copyFileSync(join(CASE3, f), join(src, f));
  copyFileSync(BYTE_TOKENIZER, join(src, '20B_tokenizer.json'));
  const out = await tempDir();
  const r = convert(['--model', src, '--out', out, '--json']);
  expect(r.status, r.stderr).toBe(0);
  expect(readdirSync(out).sort()).toEqual(['20B_tokenizer.json', 'config.json', 'model.safetensors']);
  expect(JSON.parse(r.stdout)).toMatchObject({ tokenizer_files: ['20B_tokenizer.json'] });
});

/** dtype of every tensor in a safetensors file, read from its header. */
function dtypes(file: string): Set<string> {
  const bytes = readFileSync(file);
  const header = JSON.parse(bytes.subarray(8, 8 + Number(bytes.readBigUInt64LE(0))).toString('utf8')) as Record<
    string,
    { dtype?: string }
  >;
  return new Set(
    Object.entries(header)
      .filter(([k]) => k !== '__metadata__')
      .map(([, v]) => v.dtype as string),
  );
}

it('--dtype f16 / bf16: half-size weights of that type, torch_dtype says so, logits close to F32', async () => {
  const dir = await tempDir();
  const ids = join(dir, 'ids.json');
  writeFileSync(ids, JSON.stringify({ input_ids: [[1, 2, 3, 4, 5, 6]] }));
  const logits = (model: string, name: string): number[] => {
    const r = spawnSync(
      CLI,
      ['logits', '--model', model, '--input', ids, '--out', join(dir, name), '--backend', 'cpu'],
      { encoding: 'utf8' },
    );
    expect(r.status, r.stderr).toBe(0);
    return (JSON.parse(readFileSync(join(dir, name), 'utf8')) as { logits: number[][][] }).logits.flat(2);
  };
  const reference = logits(CASE3, 'ref.json');
  for (const [flag, dtype, torch] of [
    ['f16', 'F16', 'float16'],
    ['bf16', 'BF16', 'bfloat16'],
  ]) {
    const out = join(dir, flag);
    const r = convert(['--model', CASE3, '--out', out, '--dtype', flag]);
    expect(r.status, r.stderr).toBe(0);
    expect(dtypes(join(out, 'model.safetensors'))).toEqual(new Set([dtype]));
    expect(statSync(join(out, 'model.safetensors')).size).toBeLessThan(
      0.51 * statSync(join(CASE3, 'model.safetensors')).size,
    );
    expect(JSON.parse(readFileSync(join(out, 'config.json'), 'utf8')).torch_dtype).toBe(torch);
    const got = logits(out, `${flag}.json`);
    const diff = Math.max(...got.map((v, i) => Math.abs(v - reference[i])));
    expect(diff).toBeGreaterThan(0); // rounded, so not identical ...
    expect(diff).toBeLessThan(flag === 'f16' ? 0.01 : 0.1); // ... but close (bf16 keeps 8 bits of mantissa)
  }
  const bad = convert(['--model', CASE3, '--out', join(dir, 'x'), '--dtype', 'f8']);
  expect([bad.status, bad.stderr]).toEqual([2, "dcformer convert: --dtype must be f32, f16 or bf16; got 'f8'\n"]);
});

it('a conversion that fails leaves --out as it was and no temporary folder', async () => {
  const broken = await tempDir();
  copyFileSync(join(CASE3, 'config.json'), join(broken, 'config.json'));
  writeFileSync(join(broken, 'model.safetensors'), Buffer.alloc(64));
  const parent = await tempDir();
  const out = join(parent, 'out');
  mkdirSync(out);
  writeFileSync(join(out, 'keep.txt'), 'mine');
  const r = convert(['--model', broken, '--out', out, '--overwrite']);
  expect(r.status).toBe(1);
  expect(readFileSync(join(out, 'keep.txt'), 'utf8')).toBe('mine');
  expect(readdirSync(parent)).toEqual(['out']);
});
