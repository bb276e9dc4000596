import { describe, expect, it } from 'vitest';
import { InputError } from '@dcformer/kernels';
import { applyRepetitionPenalty, argmax, filteredProbs, tokenChooser, validateSampling } from '../src/sampling.js';

const logitsOf = (probs: number[]) => Float32Array.from(probs.map(Math.log));

describe('logits processors on known distributions', () => {
  const p = [0.1, 0.4, 0.2, 0.25, 0.05];

  it('temperature 1 and no filter reproduce the softmax', () => {
    const out = filteredProbs(logitsOf(p), {});
    p.forEach((v, i) => expect(out[i]).toBeCloseTo(v, 6));
  });

  it('top-k keeps the k most likely, renormalised', () => {
    const out = filteredProbs(logitsOf(p), { topK: 2 });
    expect(out[1]).toBeCloseTo(0.4 / 0.65, 6);
    expect(out[3]).toBeCloseTo(0.25 / 0.65, 6);
    expect(out[0] + out[2] + out[4]).toBe(0);
  });

  it('top-p keeps the smallest prefix reaching p', () => {
    // sorted: .4, .25, .2, .1, .05 → cumulative .4, .65, .85: p = .8 keeps three tokens
    const out = filteredProbs(logitsOf(p), { topP: 0.8 });
    expect(out[1]).toBeCloseTo(0.4 / 0.85, 6);
    expect(out[2]).toBeCloseTo(0.2 / 0.85, 6);
    expect(out[0]).toBe(0);
    expect(out[4]).toBe(0);
    // p below the top token's mass keeps exactly one token
    expect([...filteredProbs(logitsOf(p), { topP: 0.3 })].filter((v) => v > 0)).toEqual([1]);
  });

  it('temperature sharpens: t → small concentrates on the argmax', () => {
    const out = filteredProbs(logitsOf(p), { temperature: 0.05 });
    expect(out[1]).toBeGreaterThan(0.999);
  });

  it('sampling frequencies follow the filtered distribution, and a seed reproduces the draws', () => {
    const choose = tokenChooser({ topK: 3, seed: 11 });
    const counts = new Array(5).fill(0);
    const draws: number[] = [];
    for (let i = 0; i < 20000; i++) {
      const id = choose(logitsOf(p), []);
      counts[id]++;
      if (i < 50) draws.push(id);
    }
    expect(counts[0] + counts[4]).toBe(0);
    expect(counts[1] / 20000).toBeCloseTo(0.4 / 0.85, 1);
    const again = tokenChooser({ topK: 3, seed: 11 });
    expect(Array.from({ length: 50 }, () => again(logitsOf(p), []))).toEqual(draws);
  });

  it('repetition penalty divides positive and multiplies negative logits of seen tokens', () => {
    const l = Float32Array.from([2, -2, 1]);
    applyRepetitionPenalty(l, [0, 1, 1], 2);
    expect([...l]).toEqual([1, -4, 1]);
  });

  it('argmax takes the first maximum, as torch.argmax', () => {
    expect(argmax([1, 3, 3, 2])).toBe(1);
  });

  it('bad options are InputErrors naming the option', () => {
    expect(() => validateSampling({ topP: 0 }, 'generate')).toThrow(InputError);
    expect(() => validateSampling({ temperature: -1 }, 'generate')).toThrow(
      /'temperature' must be a number ≥ 0 \(0: argmax\); got -1/,
    );
    expect(() => validateSampling({ topK: 1.5 }, 'generate')).toThrow(/'topK'/);
  });
});
