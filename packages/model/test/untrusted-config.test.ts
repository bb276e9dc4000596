/**
 * Regression tests for issue 16, the config.json half: a config.json from a stranger ends in a typed
 * ConfigError (or loads), never a stack overflow, a hang on a FIFO, or a size that sizes gigabytes.
 * The weight-file half is @dcformer/checkpoint's test/untrusted.test.ts.
 */
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { MAX_JSON_DEPTH } from '@dcformer/checkpoint';
import { ConfigError } from '@dcformer/kernels';
import { parseConfig } from '../src/config.js';
import { readConfig } from '../src/node.js';

const dirs: string[] = [];
async function tempDir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'dcf-untrusted-config-'));
  dirs.push(d);
  return d;
}
afterEach(async () => {
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});

async function expectConfigError(p: Promise<unknown>, pattern: RegExp): Promise<void> {
  const error = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error, 'expected a ConfigError').toBeInstanceOf(ConfigError);
  expect((error as Error).message).toMatch(pattern);
  expect((error as Error).message).not.toContain('\n');
}

describe('class 2: deep JSON is a typed error, not a stack overflow', () => {
  const deep = (n: number) => '['.repeat(n) + ']'.repeat(n);

  it('config.json nested 20k levels', async () => {
    const dir = await tempDir();
    await writeFile(join(dir, 'config.json'), `{"dim": ${deep(20_000)}}`);
    await expectConfigError(readConfig(dir), new RegExp(`nests deeper than ${MAX_JSON_DEPTH} levels`));
  });

  it('a parsed config object (the browser path) with a 20k-level value is a ConfigError', () => {
    const value = JSON.parse(deep(20_000));
    expect(() =>
      parseConfig({ model_type: 'dcformer', dim: value, n_head: 4, n_layer: 2, vocab_size: 256, block_size: 64 }),
    ).toThrow(ConfigError);
    expect(() =>
      parseConfig({ model_type: 'dcformer', dim: value, n_head: 4, n_layer: 2, vocab_size: 256, block_size: 64 }),
    ).toThrow(/'dim' must be a positive integer; got a deeply nested array/);
  });
});

describe('class 5: config sizes have upper bounds, checked before anything is sized from them', () => {
  const base = {
    model_type: 'dcformer',
    dim: 64,
    n_head: 4,
    n_layer: 2,
    vocab_size: 256,
    block_size: 64,
    window_size: null,
  };
  it.each([
    ['n_layer', 2 ** 20],
    ['n_layer', 2 ** 40],
    ['block_size', 1e300],
    ['window_size', 1e300],
    ['q_chunk_size', 1e300],
    ['dim', 2 ** 30],
    ['vocab_size', 2 ** 40],
  ])('%s = %d is refused at once', (key, value) => {
    const started = Date.now();
    expect(() => parseConfig({ ...base, [key]: value }, { onWarning: () => {} })).toThrow(
      new RegExp(`'${key}' must be a positive integer (or null )?at most \\d+`),
    );
    expect(Date.now() - started).toBeLessThan(1000);
  });
});

describe('class 7: only regular files are read', () => {
  it('a FIFO as config.json is refused without blocking', async () => {
    const dir = await tempDir();
    execFileSync('mkfifo', [join(dir, 'config.json')]);
    await expectConfigError(readConfig(dir), /config\.json is a FIFO \(named pipe\); expected a regular file/);
  });
});
