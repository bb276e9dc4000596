import { describe, expect, it } from 'vitest';
import {
  bitsPerByte,
  corpusPerplexity,
  meanMetric,
  perplexityMetric,
  ratioOfSums,
  stderrOfMean,
} from '../src/metrics.js';
import { markdownTable, resultJson } from '../src/report.js';

describe('metrics', () => {
  it('stderr of a mean: sample sd with n − 1 over √n (lm-eval), null below two values', () => {
    // 3 of 4 correct: sd = √(0.75 · 0.25 · 4/3) = 0.5; se = sd / √4
    expect(stderrOfMean([1, 1, 1, 0])).toBeCloseTo(0.25, 12);
    expect(stderrOfMean([1])).toBeNull();
    expect(meanMetric([1, 0])).toEqual({ value: 0.5, stderr: 0.5, higherIsBetter: true });
  });

  it('perplexity = exp(−mean ll), delta-method stderr', () => {
    const m = perplexityMetric([-1, -3]);
    expect(m.value).toBeCloseTo(Math.exp(2), 12);
    expect(m.stderr).toBeCloseTo(Math.exp(2) * 1, 12);
  });

  it('ratio of sums: documents weighted by their size; equal per-unit rates have zero stderr', () => {
    expect(ratioOfSums([-2, -6], [1, 3])).toEqual({ value: -2, stderr: 0 });
    expect(corpusPerplexity([-2, -6], [1, 3]).value).toBeCloseTo(Math.exp(2), 12);
    expect(bitsPerByte([-Math.LN2 * 8], [1])).toEqual({ value: 8, stderr: null, higherIsBetter: false });
  });
});

describe('report', () => {
  const result = {
    task: 'piqa',
    format: 'official',
    n: 2,
    requests: 4,
    notes: ['first 2 of 30 documents'],
    skipped: 0,
    metrics: { acc: meanMetric([1, 0]), acc_norm: meanMetric([1, 1]) },
  };
  it('markdown: one row per metric, notes below', () => {
    const md = markdownTable([result]);
    expect(md.split('\n').slice(0, 4)).toEqual([
      '| Task | Format | n | Metric | | Value | | Stderr |',
      '|---|---|---:|---|---|---:|---|---:|',
      '| piqa | official | 2 | acc | ↑ | 0.5000 | ± | 0.5000 |',
      '|  |  |  | acc_norm | ↑ | 1.0000 | ± | 0.0000 |',
    ]);
    expect(md).toContain('- piqa: first 2 of 30 documents');
  });
  it('JSON: snake_case, values and standard errors', () => {
    expect(resultJson(result).metrics.acc).toEqual({ value: 0.5, stderr: 0.5, higher_is_better: true });
  });
});
