/** Issue 16: a hostile row (20k levels deep) is a one-line DataError naming the line, not a stack overflow. */
import { describe, expect, it } from 'vitest';
import { parseRollingRequests } from '../src/index.js';

describe('rolling requests', () => {
  it('a row nested 20k levels deep is a one-line DataError, not a stack overflow', () => {
    const deep = '['.repeat(20_000) + ']'.repeat(20_000);
    expect(() => parseRollingRequests(`{"ids": ${deep}}`, 'req.jsonl')).toThrow(
      /req\.jsonl:1: 'ids' must be .*; got a deeply nested array/,
    );
  });
});
