/**
 * Acceptance, bad input: empty data, data shorter than one sequence, unknown preset, unwritable
 * output directory, resume with a mismatching config → one line on stderr, non-zero exit, nothing
 * overwritten.
 */
import { readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BYTE_TOKENIZER, microFlags, run, workspace } from './support.js';

const w = workspace();
const existing = join(w.dir, 'existing');
let snapshot: Map<string, string>;

/** name → mtime + size of every file under dir, to show nothing was rewritten. */
function files(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else out.set(p, `${statSync(p).mtimeMs}:${statSync(p).size}`);
    }
  };
  walk(dir);
  return out;
}

beforeAll(async () => {
  const r = await run(microFlags(w, existing, ['--steps', '2', '--progress', 'none', '--sample-tokens', '0']));
  expect(r.code, r.stderr).toBe(0);
  snapshot = files(existing);
});
afterAll(() => rmSync(w.dir, { recursive: true, force: true }));

async function expectOneLineError(argv: string[], pattern: RegExp): Promise<void> {
  const r = await run(argv);
  expect(r.code).not.toBe(0);
  expect(r.stdout).toBe('');
  const lines = r.stderr.split('\n').filter((l) => l !== '');
  expect(lines, r.stderr).toHaveLength(1);
  expect(lines[0]).toMatch(/^dcformer-train: /);
  expect(lines[0]).toMatch(pattern);
}

describe('bad input: one line, non-zero exit, nothing overwritten', () => {
  it('empty data', async () => {
    const empty = join(w.dir, 'empty.txt');
    writeFileSync(empty, '');
    const flags = microFlags(w, join(w.dir, 'o1'), ['--data', empty]);
    // The byte-level tokenizer still appends end-of-text: one token, shorter than any sequence.
    await expectOneLineError(flags, /shorter than one sequence|no tokens/);
  });

  it('data shorter than one sequence', async () => {
    const short = join(w.dir, 'short.txt');
    writeFileSync(short, 'To be, or not to be');
    const flags = microFlags(w, join(w.dir, 'o2'), ['--data', short]);
    await expectOneLineError(
      flags,
      /shorter than one sequence per split: 20 tokens give 18 train \+ 2 validation.*seq_len = 16/,
    );
  });

  it('unknown preset', async () => {
    await expectOneLineError(
      ['--preset', 'tinyy', '--data', w.corpus, '--out', join(w.dir, 'o3')],
      /unknown preset 'tinyy'; did you mean tiny\? \(one of: tiny, /,
    );
  });

  it('unwritable output directory', async () => {
    await expectOneLineError(
      microFlags(w, join(w.corpus, 'sub')),
      /--out .*corpus\.txt\/sub: not writable \(ENOTDIR\)/,
    );
  });

  it('resume with a mismatching config', async () => {
    const other = join(w.dir, 'other.json');
    const cfg = JSON.parse(readFileSync(w.config, 'utf8'));
    writeFileSync(other, JSON.stringify({ ...cfg, n_layer: 3 }));
    const flags = microFlags(w, existing, ['--resume', '--steps', '4', '--config', other]);
    await expectOneLineError(
      flags,
      /--resume: the model config differs from the checkpoint's \(n_layer: 2 in the checkpoint vs 3 requested\)/,
    );
    expect(files(existing)).toEqual(snapshot);
  });

  it('an existing run without --resume', async () => {
    await expectOneLineError(microFlags(w, existing), /already holds a run \(checkpoint at step 2\); pass --resume/);
    expect(files(existing)).toEqual(snapshot);
  });

  it('usage mistakes', async () => {
    await expectOneLineError(['--data', w.corpus], /missing --out DIR/);
    await expectOneLineError(['--preset', 'tiny', '--out', join(w.dir, 'o4')], /missing --data PATH/);
    await expectOneLineError(
      ['--preset', 'tiny', '--data', w.corpus, '--out', join(w.dir, 'o5'), '--lr', 'fast'],
      /--lr must be a number; got 'fast'/,
    );
    await expectOneLineError(
      ['--preset', 'tiny', '--data', w.corpus, '--out', join(w.dir, 'o6'), '--backend', 'tpu'],
      /--backend must be one of cpu, wasm, webgpu, cuda/,
    );
    await expectOneLineError(
      ['--config', w.config, '--seq-len', '16', '--data', w.corpus, '--out', join(w.dir, 'o7')],
      /--config needs --tokenizer PATH/,
    );
    await expectOneLineError(
      ['--preset', 'tiny', '--data', join(w.dir, 'nope.txt'), '--out', join(w.dir, 'o8')],
      /--data .*nope\.txt: no such file or directory/,
    );
    await expectOneLineError(
      microFlags(w, join(w.dir, 'o9'), ['--seq-len', '64']),
      /--seq-len 64 exceeds the model's block_size 16/,
    );
    await expectOneLineError(
      [
        '--preset',
        'tiny',
        '--tokenizer',
        BYTE_TOKENIZER,
        '--data',
        w.corpus,
        '--out',
        join(w.dir, 'o10'),
        '--warmup',
        '-1',
      ],
      /--warmup must be an integer >= 0; got -1/,
    );
  });
});
