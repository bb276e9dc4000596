import { describe, expect, it } from 'vitest';
import { describeValue } from '../src/describe.js';

describe('describeValue', () => {
  it('quotes the value as JSON with its type', () => {
    expect(describeValue('64')).toBe('"64" (string)');
    expect(describeValue(64.5)).toBe('64.5 (number)');
    expect(describeValue(Number.NaN)).toBe('NaN (number)');
    expect(describeValue(true)).toBe('true (boolean)');
    expect(describeValue([1, 2])).toBe('[1,2] (array)');
    expect(describeValue({ a: 1 })).toBe('{"a":1} (object)');
    expect(describeValue(2n ** 70n)).toBe('1180591620717411303424 (bigint)');
    expect(describeValue(null)).toBe('null');
    expect(describeValue(undefined)).toBe('nothing');
  });

  it('stays one short line: long text cut at 60 characters, newlines escaped, no function source', () => {
    const long = describeValue('x'.repeat(500));
    expect(long).toBe(`"${'x'.repeat(56)}... (string)`);
    expect(describeValue('a\nb')).toBe('"a\\nb" (string)');
    expect(
      describeValue(() => {
        return 1;
      }),
    ).toBe('a function');
  });

  it('names a value too deeply nested for JSON.stringify instead of throwing', () => {
    let deep: unknown[] = [];
    for (let i = 0; i < 20_000; i++) deep = [deep];
    expect(describeValue(deep)).toBe('a deeply nested array');
    let obj: Record<string, unknown> = {};
    for (let i = 0; i < 20_000; i++) obj = { a: obj };
    expect(describeValue(obj)).toBe('a deeply nested value');
  });
});
