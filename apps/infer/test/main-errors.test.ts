/**
 * The error contract: every failure is exactly one stderr line starting `dcformer <cmd>: `, a
 * non-zero exit, and no output file.
 */
import { existsSync } from 'node:fs';
import { copyFile, mkdir, stat, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ORACLE_DIR, readGolden, removeTempDirs, run, tempDir, writeIds } from './test-support.js';

const CASE1 = join(ORACLE_DIR, 'case1_dcformer_lgll'); // vocab_size 128, block_size 64

let dir: string;
let goodIds: string;
let noConfigDir: string;
let truncatedDir: string;
const files: Record<string, string> = {};

beforeAll(async () => {
  dir = await tempDir();
  goodIds = await writeIds(dir, (await readGolden('case1_dcformer_lgll')).input_ids);
  files.ragged = await writeIds(
    dir,
    [
      [1, 2, 3],
      [4, 5],
    ],
    'ragged.json',
  );
  files.bigId = await writeIds(dir, [[1, 2, 128]], 'big-id.json');
  files.negative = await writeIds(dir, [[1, -1, 3]], 'negative.json');
  files.fractional = await writeIds(dir, [[1, 2.5, 3]], 'fractional.json');
  files.tooLong = await writeIds(dir, [Array.from({ length: 65 }, (_, i) => i)], 'too-long.json');
  files.oneToken = await writeIds(dir, [[7], [8]], 'one-token.json');
  files.notJson = join(dir, 'not-json.json');
  await writeFile(files.notJson, '{"input_ids": [[1, 2]');
  files.noKey = join(dir, 'no-key.json');
  await writeFile(files.noKey, '{"ids": [[1, 2]]}');

  noConfigDir = join(dir, 'no-config');
  await mkdir(noConfigDir);
  await copyFile(join(CASE1, 'model.safetensors'), join(noConfigDir, 'model.safetensors'));

  truncatedDir = join(dir, 'truncated');
  await mkdir(truncatedDir);
  await copyFile(join(CASE1, 'config.json'), join(truncatedDir, 'config.json'));
  const weights = join(truncatedDir, 'model.safetensors');
  await copyFile(join(CASE1, 'model.safetensors'), weights);
  await truncate(weights, Math.floor((await stat(weights)).size / 2));
});
afterAll(removeTempDirs);

interface BadCase {
  what: string;
  argv: (out: string) => string[];
  message: RegExp;
  code?: number;
}

const base =
  (cmd: string, input: () => string, model = () => CASE1) =>
  (out: string) => [cmd, '--model', model(), '--input', input(), '--out', out];

const CASES: BadCase[] = [
  {
    what: 'ragged input_ids',
    argv: base('logits', () => files.ragged),
    message: /input_ids is ragged: row 0 has 3 tokens, row 1 has 2/,
  },
  {
    what: 'id >= vocab_size',
    argv: base('logits', () => files.bigId),
    message: /input_ids\[0\]\[2\] = 128 is outside the vocabulary \[0, 128\)/,
  },
  {
    what: 'id >= vocab_size (grads)',
    argv: base('grads', () => files.bigId),
    message: /= 128 is outside the vocabulary/,
  },
  {
    what: 'negative id',
    argv: base('logits', () => files.negative),
    message: /input_ids\[0\]\[1\] = -1 is outside the vocabulary/,
  },
  {
    what: 'non-integer id',
    argv: base('logits', () => files.fractional),
    message: /input_ids\[0\]\[1\] = 2.5 is not an integer/,
  },
  {
    what: 'T > block_size',
    argv: base('logits', () => files.tooLong),
    message: /65 tokens per row exceed the model's block_size 64/,
  },
  { what: 'one token per row for grads', argv: base('grads', () => files.oneToken), message: /needs at least 2/ },
  { what: 'invalid JSON', argv: base('logits', () => files.notJson), message: /is not valid JSON/ },
  {
    what: 'no input_ids key',
    argv: base('logits', () => files.noKey),
    message: /input_ids must be a non-empty array of rows/,
  },
  {
    what: 'missing --input file',
    argv: base('logits', () => join(dir, 'absent.json')),
    message: /cannot read --input .*absent\.json: no such file$/,
  },
  {
    what: 'missing --model',
    argv: (out) => ['logits', '--input', goodIds, '--out', out],
    message: /^dcformer logits: missing --model$/,
    code: 2,
  },
  {
    what: 'missing --out',
    argv: () => ['grads', '--model', CASE1, '--input', goodIds],
    message: /missing --out/,
    code: 2,
  },
  {
    what: '--model that does not exist',
    argv: base(
      'logits',
      () => goodIds,
      () => join(dir, 'nowhere'),
    ),
    message: /cannot read --model .*nowhere: no such directory/,
  },
  {
    what: 'model dir without config.json',
    argv: base(
      'logits',
      () => goodIds,
      () => noConfigDir,
    ),
    message: /config\.json/,
  },
  {
    what: 'truncated model.safetensors',
    argv: base(
      'grads',
      () => goodIds,
      () => truncatedDir,
    ),
    message: /model\.safetensors/,
  },
  {
    what: 'unknown flag',
    argv: (out) => [...base('logits', () => goodIds)(out), '--temprature', '1'],
    message: /unknown flag --temprature \(valid: --model, --input, --out, --prefill, --backend, --json, --help\)/,
    code: 2,
  },
  {
    what: 'flag without a value',
    argv: (out) => ['logits', '--model', '--input', goodIds, '--out', out],
    message: /--model needs a value/,
    code: 2,
  },
  {
    what: '--prefill 0',
    argv: (out) => [...base('logits', () => goodIds)(out), '--prefill', '0'],
    message: /^dcformer logits: --prefill must be in \[1, T\] = \[1, \d+\]; got 0$/,
    code: 2,
  },
  {
    what: 'cuda without a GPU',
    argv: (out) => [...base('logits', () => goodIds)(out), '--backend', 'cuda'],
    message: /^dcformer logits: backend 'cuda' has no usable device here: .+$/,
    code: 2,
  },
  {
    what: 'unknown backend',
    argv: (out) => [...base('grads', () => goodIds)(out), '--backend=tpu'],
    message: /--backend must be one of cpu, wasm, webgpu, cuda; got 'tpu'/,
    code: 2,
  },
  {
    what: '--out in a missing folder',
    argv: (out) => base('logits', () => goodIds)(join(out, '..', 'missing', 'out.json')),
    message: /--out .* does not exist/,
  },
];

describe.each(CASES)('$what', ({ argv, message, code }) => {
  it('fails with one stderr line and writes nothing', async () => {
    const out = join(await tempDir(), 'out.file');
    const args = argv(out);
    const r = await run(args);
    expect(r.errLines).toHaveLength(1);
    expect(r.errLines[0].startsWith(`dcformer ${args[0]}: `)).toBe(true);
    expect(r.errLines[0]).toMatch(message);
    expect(r.code).toBe(code ?? 1);
    expect(r.stdout).toBe('');
    expect(existsSync(out)).toBe(false);
  });
});

describe('commands and help', () => {
  it('an unknown command lists the valid ones', async () => {
    const r = await run(['logit']);
    expect(r.code).toBe(2);
    expect(r.errLines).toEqual([
      "dcformer: unknown command 'logit'; did you mean logits? (one of: logits, grads, generate, eval, tokenize, convert, quantize, download)",
    ]);
  });

  it.each([['--help'], ['logits', '--help'], ['grads', '-h'], ['generate', '--help']])(
    '%s %s prints usage to stdout',
    async (...argv) => {
      const r = await run(argv);
      expect(r.code).toBe(0);
      expect(r.stderr).toBe('');
      expect(r.stdout).toMatch(/^usage: dcformer /);
    },
  );
});
