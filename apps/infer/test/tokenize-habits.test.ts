/**
 * `dcformer tokenize` as the built bin: `| head` ends it quietly, --decode turns ids back into text,
 * and a folder whose only tokenizer is named like `20B_tokenizer.json` is found.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { removeTempDirs, tempDir } from './test-support.js';

const APP_DIR = fileURLToPath(new URL('..', import.meta.url));
const CLI = join(APP_DIR, 'dist', 'cli.js');
const FIXTURES = fileURLToPath(new URL('../../../packages/tokenizer/test/fixtures/', import.meta.url));
const NEOX = join(FIXTURES, 'gpt-neox-20b/tokenizer.json.gz');
let dir: string;

beforeAll(async () => {
  if (!existsSync(CLI)) execFileSync('npx', ['tsup'], { cwd: APP_DIR, stdio: 'ignore' });
  dir = await tempDir();
});
afterAll(removeTempDirs);

function dcformer(args: string[]) {
  return spawnSync(CLI, args, { encoding: 'utf8', env: { ...process.env, DCF_DEBUG: '' } });
}

describe('dcformer tokenize (built bin)', () => {
  it('--jsonl … | head -n 1: one line out, nothing on stderr, exit 0', () => {
    const jsonl = join(dir, 'many.jsonl');
    writeFileSync(jsonl, `${JSON.stringify({ text: 'Hello world, '.repeat(20) })}\n`.repeat(20000));
    const sh = spawnSync(
      'sh',
      [
        '-c',
        `"${CLI}" tokenize --tokenizer "${NEOX}" --jsonl "${jsonl}" 2>"${join(dir, 'err.txt')}" | head -n 1; echo "status $?"; exit 0`,
      ],
      { encoding: 'utf8' },
    );
    const [first, status] = sh.stdout.trim().split('\n');
    expect(JSON.parse(first).ids.slice(0, 2)).toEqual([12092, 1533]);
    expect(status).toBe('status 0');
    expect(readFileSync(join(dir, 'err.txt'), 'utf8')).toBe('');
    // the producer's own exit status, through a shell that reports it
    const own = spawnSync(
      'bash',
      ['-c', `set -o pipefail; "${CLI}" tokenize --tokenizer "${NEOX}" --jsonl "${jsonl}" | head -n 1 >/dev/null`],
      { encoding: 'utf8' },
    );
    expect(own.status).toBe(0);
    expect(own.stderr).toBe('');
  });

  it('--decode: ids (spaces, commas or a JSON array) back to text; --json; --jsonl of {"ids"}', () => {
    expect(dcformer(['tokenize', '--tokenizer', NEOX, '--decode', '--text', '12092 1533']).stdout).toBe(
      'Hello world\n',
    );
    expect(dcformer(['tokenize', '--tokenizer', NEOX, '--decode', '--text', '[12092, 1533, 0]', '--json']).stdout).toBe(
      `${JSON.stringify({ text: 'Hello world<|endoftext|>', count: 3 })}\n`,
    );
    expect(
      dcformer(['tokenize', '--tokenizer', NEOX, '--decode', '--text', '12092,1533,0', '--specials', 'none']).stdout,
    ).toBe('Hello world\n');
    const ids = join(dir, 'ids.jsonl');
    writeFileSync(ids, `${JSON.stringify({ ids: [12092] })}\n\n${JSON.stringify({ ids: [1533, 187] })}\n`);
    expect(dcformer(['tokenize', '--tokenizer', NEOX, '--decode', '--jsonl', ids]).stdout).toBe(
      `${JSON.stringify({ text: 'Hello' })}\n${JSON.stringify({ text: ' world\n' })}\n`,
    );
    const file = join(dir, 'ids.txt');
    writeFileSync(file, '12092\n1533\n');
    expect(dcformer(['tokenize', '--tokenizer', NEOX, '--decode', '--file', file]).stdout).toBe('Hello world\n');
  });

  it('--decode with an id outside the vocabulary, or not an id, is one line, exit 1', () => {
    const big = dcformer(['tokenize', '--tokenizer', NEOX, '--decode', '--text', '12092 50277']);
    expect([big.status, big.stderr]).toEqual([
      1,
      'dcformer tokenize: --text: token id 50277 is outside the vocabulary [0, 50277)\n',
    ]);
    const word = dcformer(['tokenize', '--tokenizer', NEOX, '--decode', '--text', '12 hello']);
    expect([word.status, word.stderr]).toEqual([
      1,
      "dcformer tokenize: --text: 'hello' is not a token id (expected integers separated by spaces or commas)\n",
    ]);
  });

  it('a folder holding only 20B_tokenizer.json is found', () => {
    const neox = join(dir, 'neox');
    execFileSync('mkdir', ['-p', neox]);
    writeFileSync(join(neox, '20B_tokenizer.json'), gunzipSync(readFileSync(NEOX)));
    const r = dcformer(['tokenize', '--tokenizer', neox, '--text', 'Hello world']);
    expect([r.status, r.stdout, r.stderr]).toEqual([0, '12092 1533\n', '']);
    // two candidates: which one is meant is not guessed
    copyFileSync(join(neox, '20B_tokenizer.json'), join(neox, 'other_tokenizer.json'));
    const two = dcformer(['tokenize', '--tokenizer', neox, '--text', 'Hello world']);
    expect(two.status).toBe(1);
    expect(two.stderr).toMatch(
      /no tokenizer found \(looked for tokenizer\.json\[\.gz\] or a single \*tokenizer\.json\[\.gz\]/,
    );
  });
});
