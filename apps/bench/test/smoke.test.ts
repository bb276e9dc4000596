// Keeps the bench from rotting: every suite runs at tiny sizes and prints well-formed records with
// the stable names of issue 7. No timing is asserted.
import { describe, expect, it } from 'vitest';
import { parseArgs, runBench, summaryTable } from '../src/bench.js';

process.env.DCFORMER_QUIET = '1';

describe('bench --smoke', () => {
  it('runs every suite and emits DESIGN.md records', async () => {
    const records = await runBench(parseArgs(['--smoke', '--runs', '1', '--warmup', '0']), () => {});
    for (const r of records) {
      expect(Object.keys(r).slice(0, 6)).toEqual(['bench', 'backend', 'config', 'metric', 'value', 'unit']);
      expect(Number.isFinite(r.value)).toBe(true);
    }
    const metrics = new Set(records.map((r) => `${r.bench}/${r.metric}`));
    for (const m of [
      'gemm/gflops',
      'compose/forward_ms',
      'compose/backward_ms',
      'train/tokens_per_s',
      'decode/decode_tokens_per_s_b1',
      'decode/decode_tokens_per_s_b4',
      'decode/prefill_ms_8',
      'decode/decode_cpu_ms_per_token',
    ]) {
      expect(metrics.has(m), m).toBe(true);
    }
    expect(summaryTable(records)).toContain('tokens_per_s');
  });

  it('rejects unknown suites and backends with a message', () => {
    expect(() => parseArgs(['--suite', 'nope'])).toThrow(/unknown suite nope/);
    expect(() => parseArgs(['--backend', 'gpu'])).toThrow(/--backend must be/);
  });
});
