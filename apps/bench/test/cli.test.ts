// dcformer-bench as a command line: --help, --version, one-line usage errors, and the suites that
// train and decode running on wasm (gradients there included) at smoke sizes. No timing is asserted.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { main } from '../src/main.js';

async function run(argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const code = await main(argv, {
    stdout: { write: (t: string) => (stdout += t) },
    stderr: { write: (t: string) => (stderr += t) },
  });
  return { code, stdout, stderr };
}

describe('dcformer-bench', () => {
  it('--help lists the suites and backends; --version prints the package version', async () => {
    const help = await run(['--help']);
    expect(help.code).toBe(0);
    for (const word of ['gemm', 'compose', 'train', 'decode', 'cpu-native', 'wasm', '--smoke'])
      expect(help.stdout).toContain(word);
    const version = await run(['--version']);
    expect(version.code).toBe(0);
    expect(version.stdout).toBe(
      `${JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')).version}\n`,
    );
  });

  it.each([
    [
      ['--backend', 'gpu'],
      /^dcformer-bench: --backend must be cpu \(stock tfjs kernels\), cpu-native or wasm; got 'gpu'\n$/,
    ],
    [
      ['--suite', 'gemm,nope'],
      /^dcformer-bench: unknown suite nope; --suite takes gemm, compose, train, decode, decode-compact, memory, attention or all\n$/,
    ],
    [['--runs', '0'], /^dcformer-bench: --runs must be at least 1; got 0\n$/],
    [['--warmup', 'x'], /^dcformer-bench: --warmup must be an integer; got 'x'\n$/],
    [
      ['--smok'],
      /^dcformer-bench: unknown flag --smok\b.*\(valid: --suite, --backend, --runs, --warmup, --smoke, --help, --version\)\n$/,
    ],
  ])('%j: one line on stderr, exit 2', async (argv, message) => {
    const r = await run(argv);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(message);
  });

  it('--backend wasm trains and decodes there', async () => {
    const r = await run(['--smoke', '--backend', 'wasm', '--suite', 'train,decode', '--runs', '1', '--warmup', '0']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/^dcformer-bench: backend wasm\n/);
    const records = r.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { bench: string; backend: string; metric: string; value: number });
    expect(new Set(records.map((x) => x.backend))).toEqual(new Set(['wasm']));
    const tokensPerS = records.find((x) => x.bench === 'train' && x.metric === 'tokens_per_s');
    expect(tokensPerS?.value).toBeGreaterThan(0);
    expect(records.some((x) => x.bench === 'decode')).toBe(true);
  });
});
