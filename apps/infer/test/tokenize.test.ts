/**
 * `dcformer tokenize` (DESIGN.md contract) on the tokenizer package's committed fixtures: ids for
 * --text / --file / --jsonl, --specials, --json, and one-line errors.
 */
import { copyFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { removeTempDirs, run, tempDir } from './test-support.js';

const FIXTURES = fileURLToPath(new URL('../../../packages/tokenizer/test/fixtures/', import.meta.url));
const NEOX = join(FIXTURES, 'gpt-neox-20b/tokenizer.json.gz');
let gpt2Dir: string;
let dir: string;

beforeAll(async () => {
  dir = await tempDir();
  gpt2Dir = await tempDir();
  await copyFile(join(FIXTURES, 'gpt2/encoder.json.gz'), join(gpt2Dir, 'encoder.json.gz'));
  await copyFile(join(FIXTURES, 'gpt2/vocab.bpe.gz'), join(gpt2Dir, 'vocab.bpe.gz'));
});
afterAll(removeTempDirs);

describe('dcformer tokenize', () => {
  it('--text prints the ids (NeoX tokenizer.json.gz given as a file)', async () => {
    const r = await run(['tokenize', '--tokenizer', NEOX, '--text', 'Hello world']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe('12092 1533\n');
    expect(r.stderr).toBe('');
  });

  it('--json and --specials: GPT-2 files (a directory) leave <|endoftext|> as text unless asked', async () => {
    const plain = await run(['tokenize', '--tokenizer', gpt2Dir, '--text', 'a<|endoftext|>', '--json']);
    expect(JSON.parse(plain.stdout)).toEqual({ ids: [64, 27, 91, 437, 1659, 5239, 91, 29], count: 8 });
    const all = await run(['tokenize', '--tokenizer', gpt2Dir, '--text', 'a<|endoftext|>', '--specials', 'all']);
    expect(all.stdout).toBe('64 50256\n');
    const none = await run(['tokenize', '--tokenizer', NEOX, '--text', '<|endoftext|>', '--specials', 'none']);
    // The literal reading of '<|endoftext|>': tokenizers@0.23.2 (HF's Rust library) and
    // @huggingface/tokenizers@0.2.0 both give these ids for the same tokenizer.json with its
    // added_tokens removed (the BPE then sees the characters), encoded without special tokens.
    expect(none.stdout).toBe('29 93 423 1171 1156 49651\n');
    expect((await run(['tokenize', '--tokenizer', NEOX, '--text', '<|endoftext|>'])).stdout).toBe('0\n');
  });

  it('--file: the ids on stdout, the count on stderr; --json adds count and bytes', async () => {
    const file = join(dir, 'text.txt');
    await writeFile(file, 'Hello world\n');
    const r = await run(['tokenize', '--tokenizer', NEOX, '--file', file]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe('12092 1533 187\n');
    expect(r.errLines).toEqual([`dcformer tokenize: ${file}: 3 tokens from 12 bytes`]);
    const j = await run(['tokenize', '--tokenizer', NEOX, '--file', file, '--json']);
    expect(JSON.parse(j.stdout)).toEqual({ ids: [12092, 1533, 187], count: 3, bytes: 12 });
  });

  it('--jsonl: one {"ids"} per record, blank lines skipped, a summary on stderr', async () => {
    const file = join(dir, 'data.jsonl');
    await writeFile(file, '{"text": "Hello world"}\n\n{"text": "", "id": 2}\r\n{"text": "Hello"}\n');
    const r = await run(['tokenize', '--tokenizer', NEOX, '--jsonl', file]);
    expect(r.code, r.stderr).toBe(0);
    expect(
      r.stdout
        .split('\n')
        .filter((l) => l !== '')
        .map((l) => JSON.parse(l)),
    ).toEqual([{ ids: [12092, 1533] }, { ids: [] }, { ids: [12092] }]);
    expect(r.errLines).toEqual([`dcformer tokenize: ${file}: 3 records, 3 tokens`]);
  });

  it('a bad --jsonl record names its line', async () => {
    const file = join(dir, 'bad.jsonl');
    await writeFile(file, '{"text": "ok"}\n{"txt": "no"}\n');
    const r = await run(['tokenize', '--tokenizer', NEOX, '--jsonl', file]);
    expect(r.code).toBe(1);
    expect(r.errLines).toEqual([`dcformer tokenize: --jsonl ${file}:2: expected {"text": string}`]);
  });

  it.each([
    [['--tokenizer', NEOX], 2, /^dcformer tokenize: give the input: one of --text, --file, --jsonl$/],
    [
      ['--tokenizer', NEOX, '--text', 'a', '--file', 'f'],
      2,
      /give only one of --text, --file, --jsonl \(got --text, --file\)/,
    ],
    [['--text', 'a'], 2, /missing --tokenizer/],
    [['--tokenizer', NEOX, '--text', 'a', '--specials', 'some'], 2, /--specials must be all or none; got 'some'/],
    [['--tokenizer', '/nonexistent/tok.json', '--text', 'a'], 1, /\/nonexistent\/tok\.json: no such file or directory/],
    [
      ['--tokenizer', NEOX, '--file', '/nonexistent/f.txt'],
      1,
      /cannot read --file \/nonexistent\/f\.txt: no such file/,
    ],
  ])('errors are one line: %j', async (args, code, message) => {
    const r = await run(['tokenize', ...args]);
    expect(r.code).toBe(code);
    expect(r.errLines).toHaveLength(1);
    expect(r.errLines[0]).toMatch(message);
    expect(r.stdout).toBe('');
  });

  it('a malformed tokenizer file is a one-line error naming the file', async () => {
    const bad = join(dir, 'tokenizer.json');
    await writeFile(bad, '{"model": {"type": "BPE", "vocab": {"a": 0}, "merges": ["a b"]}}');
    const r = await run(['tokenize', '--tokenizer', bad, '--text', 'a']);
    expect(r.code).toBe(1);
    expect(r.errLines).toHaveLength(1);
    expect(r.errLines[0]).toContain(bad);
    expect(r.errLines[0]).toContain("'model.merges[0]'");
  });

  it('--help prints the usage', async () => {
    const r = await run(['tokenize', '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^usage: dcformer tokenize --tokenizer PATH/);
  });
});
