import { describe, expect, it } from 'vitest';
import { learningRate } from '../src/schedule.js';
import { clipCoefficient } from '../src/trainer.js';

describe('learningRate', () => {
  const s = { lr: 1e-3, warmupSteps: 10, totalSteps: 110, finalFraction: 0.1 };
  it('warms up linearly, peaks after the warmup, ends at the final fraction', () => {
    expect(learningRate(s, 0)).toBeCloseTo(1e-4, 12);
    expect(learningRate(s, 4)).toBeCloseTo(5e-4, 12);
    expect(learningRate(s, 10)).toBeCloseTo(1e-3, 12);
    expect(learningRate(s, 109)).toBeCloseTo(1e-4, 12);
    expect(learningRate(s, 500)).toBeCloseTo(1e-4, 12);
  });
  it('is half way between peak and floor in the middle of the cosine', () => {
    const mid = 10 + 99 / 2;
    expect(learningRate(s, mid)).toBeCloseTo(0.55e-3, 12);
  });
  it('handles no warmup and a one-step schedule', () => {
    expect(learningRate({ ...s, warmupSteps: 0 }, 0)).toBe(1e-3);
    expect(learningRate({ lr: 1, warmupSteps: 0, totalSteps: 1, finalFraction: 0 }, 0)).toBe(1);
  });
});

describe('clipCoefficient', () => {
  it('follows clip_grad_norm_: max_norm / (norm + 1e-6), at most 1; 0 disables', () => {
    expect(clipCoefficient(4, 1)).toBeCloseTo(0.25, 6);
    expect(clipCoefficient(0.5, 1)).toBe(1);
    expect(clipCoefficient(100, 0)).toBe(1);
  });
});
