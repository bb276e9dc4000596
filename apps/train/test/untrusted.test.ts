/**
 * Issue 16 (classes 7, 8) in dcformer-train: the tokenizer files copied into every checkpoint must be
 * regular files inside the tokenizer's folder (or its HF cache blobs).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { InputError } from '@dcformer/kernels';
import { byteLevelTokenizerJson } from '@dcformer/tokenizer';
import { resolveTokenizer } from '../src/tokenizers.js';

const dirs: string[] = [];
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'dcf-train-tok-'));
  dirs.push(d);
  return d;
}
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

async function refusal(path: string): Promise<string> {
  const error = await resolveTokenizer(path).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(InputError.isInstance(error), String(error)).toBe(true);
  return (error as Error).message;
}

describe('--tokenizer DIR: files copied into checkpoints', () => {
  it('a FIFO beside tokenizer.json is refused instead of blocking the copy', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'tokenizer.json'), JSON.stringify(byteLevelTokenizerJson()));
    execFileSync('mkfifo', [join(dir, 'merges.txt')]);
    expect(await refusal(dir)).toMatch(/merges\.txt is a FIFO \(named pipe\); expected a regular file/);
  });

  it('a side file linking out of the folder is refused instead of copied', async () => {
    const dir = tempDir();
    const outside = tempDir();
    writeFileSync(join(dir, 'tokenizer.json'), JSON.stringify(byteLevelTokenizerJson()));
    writeFileSync(join(outside, 'secret.json'), '{}');
    symlinkSync(join(outside, 'secret.json'), join(dir, 'special_tokens_map.json'));
    expect(await refusal(dir)).toMatch(/special_tokens_map\.json is a symlink to .*secret\.json, outside the/);
  });
});
