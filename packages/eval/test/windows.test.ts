import { describe, expect, it } from 'vitest';
import { requestInput, rollingWindows } from '../src/windows.js';

describe('rollingWindows', () => {
  it('scores every token but the first exactly once, each with ≥ L − stride + 1 tokens of context, never feeding more than L', () => {
    for (let n = 0; n <= 30; n++) {
      for (let L = 1; L <= 9; L++) {
        for (let stride = 1; stride <= L; stride++) {
          const counts = new Array(n).fill(0);
          for (const w of rollingWindows(n, L, stride)) {
            expect(w.end - w.begin).toBeLessThanOrEqual(L);
            expect(w.first).toBeGreaterThan(w.begin);
            for (let t = w.first; t <= w.end; t++) {
              counts[t]++;
              // token t is predicted from ids[begin, t)
              expect(t - w.begin).toBeGreaterThanOrEqual(Math.min(t, L - stride + 1));
            }
          }
          expect(counts, `n=${n} L=${L} stride=${stride}`).toEqual(
            Array.from({ length: n }, (_, t) => (t === 0 ? 0 : 1)),
          );
        }
      }
    }
  });

  it('is one window over the whole text when it fits (n ≤ L + 1)', () => {
    expect(rollingWindows(9, 8, 3)).toEqual([{ begin: 0, end: 8, first: 1 }]);
    expect(rollingWindows(1, 8)).toEqual([]);
  });

  it('default stride = L: lm-eval disjoint windows overlapping by the one feeding token', () => {
    expect(rollingWindows(10, 4)).toEqual([
      { begin: 0, end: 4, first: 1 },
      { begin: 4, end: 8, first: 5 },
      { begin: 5, end: 9, first: 9 },
    ]);
  });

  it.each([
    [0, 1],
    [4, 0],
    [4, 5],
    [4, 1.5],
  ])('rejects maxLength %d, stride %d', (L, stride) => {
    expect(() => rollingWindows(10, L, stride)).toThrow(/rolling: '(maxLength|stride)' must be/);
  });
});

describe('requestInput', () => {
  it('feeds context ++ continuation without its last token, left-truncated to maxLength', () => {
    expect(requestInput([1, 2, 3], [4, 5], 10)).toEqual([1, 2, 3, 4]);
    expect(requestInput([1, 2, 3], [4, 5], 3)).toEqual([2, 3, 4]);
    expect(requestInput([1], [4], 3)).toEqual([1]);
  });
});
