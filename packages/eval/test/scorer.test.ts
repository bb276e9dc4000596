import { describe, expect, it } from 'vitest';
import { referenceScorer } from '../src/scorer.js';

/** A deterministic toy LM over 7 tokens whose logits depend on the last 3 fed tokens. */
function toyLogits(fed: readonly number[]): Float64Array {
  const out = new Float64Array(7);
  const tail = fed.slice(-3);
  for (let v = 0; v < 7; v++) out[v] = Math.sin(1 + v * 1.7 + tail.reduce((a, t, i) => a + t * (i + 2.3), 0));
  return out;
}

function logp(fed: readonly number[], token: number): number {
  const l = toyLogits(fed);
  const m = Math.max(...l);
  return l[token] - m - Math.log(l.reduce((a, x) => a + Math.exp(x - m), 0));
}

describe('referenceScorer', () => {
  const scorer = referenceScorer(toyLogits, { maxLength: 5 });

  it('loglikelihood sums next-token log-probabilities over the continuation, with left truncation', async () => {
    const ids = [3, 1, 4, 1, 5, 2, 6];
    const [r] = await scorer.loglikelihood([{ context: ids.slice(0, 4), continuation: ids.slice(4) }]);
    // maxLength 5: fed = ids[1..6); token 4 predicted from ids[1..4), token 5 from ids[1..5), token 6 from ids[1..6)
    const expected = logp(ids.slice(1, 4), 5) + logp(ids.slice(1, 5), 2) + logp(ids.slice(1, 6), 6);
    expect(r.logprob).toBeCloseTo(expected, 12);
  });

  it('rolling equals the full-context sum when the text fits, and any stride scores the same tokens', async () => {
    const ids = [0, 6, 2, 5, 3];
    let full = 0;
    for (let t = 1; t < ids.length; t++) full += logp(ids.slice(0, t), ids[t]);
    const r = await scorer.rolling(ids, { maxLength: 5, stride: 2 });
    expect(r.tokens).toBe(4);
    expect(r.logprob).toBeCloseTo(full, 12);
    // toyLogits looks at 3 tokens, so any window that gives ≥ 3 tokens of context matches the full context
    const long = Array.from({ length: 23 }, (_, i) => (i * 5 + 1) % 7);
    let longFull = 0;
    for (let t = 1; t < long.length; t++) longFull += logp(long.slice(0, t), long[t]);
    const windowed = await scorer.rolling(long, { maxLength: 5, stride: 3 });
    expect(windowed.tokens).toBe(22);
    expect(windowed.logprob).toBeCloseTo(longFull, 10);
  });

  it('rejects empty contexts and continuations longer than maxLength', async () => {
    await expect(scorer.loglikelihood([{ context: [], continuation: [1] }])).rejects.toThrow(
      /request 0 has an empty context/,
    );
    await expect(scorer.loglikelihood([{ context: [1], continuation: [1, 2, 3, 4, 5, 6] }])).rejects.toThrow(
      /6 continuation tokens, more than maxLength 5/,
    );
  });
});
