/**
 * The incremental decoder: pushing ids one at a time yields the same text as one decode, and never
 * a partial UTF-8 character.
 */
import { describe, expect, it } from 'vitest';
import { byteLevelTokenizer, type Tokenizer } from '../src/index.js';
import { fixtureCases, gpt2, neox, qwen } from './helpers.js';

function stream(tok: Tokenizer, ids: number[], skipSpecial = false): string[] {
  const d = tok.decoder({ skipSpecial });
  const parts = ids.map((id) => d.push(id));
  parts.push(d.flush());
  return parts;
}

describe.each([
  ['gpt2', gpt2, 'gpt2_r50k_fixtures.json'],
  ['neox', neox, 'gpt_neox_20b_fixtures.json'],
  ['qwen', qwen, 'qwen3_fixtures.json'],
] as const)('%s incremental decoder', (_name, load, file) => {
  it('streams every fixture to the same text as decode, without U+FFFD in between', () => {
    const tok = load();
    for (const c of fixtureCases(file)) {
      const parts = stream(tok, c.ids);
      expect(parts.join('')).toBe(tok.decode(c.ids));
      if (!tok.decode(c.ids).includes('\uFFFD')) for (const p of parts) expect(p).not.toContain('\uFFFD');
    }
  });
});

describe('byte-level incremental decoder', () => {
  const tok = byteLevelTokenizer();
  it('holds back the bytes of a character until it is complete', () => {
    const d = tok.decoder();
    expect(d.push(0xf0)).toBe('');
    expect(d.push(0x9f)).toBe('');
    expect(d.push(0xa4)).toBe('');
    expect(d.push(0x97)).toBe('🤗');
    expect(d.push(0x61)).toBe('a');
    expect(d.flush()).toBe('');
  });
  it('flush turns an unfinished character into U+FFFD; invalid bytes are U+FFFD at once', () => {
    const d = tok.decoder();
    expect(d.push(0xe6)).toBe('');
    expect(d.flush()).toBe('\uFFFD');
    expect(d.push(0xff)).toBe('\uFFFD');
  });
  it('skipSpecial drops <|endoftext|>', () => {
    expect(stream(tok, [104, 256, 105], true).join('')).toBe('hi');
    expect(stream(tok, [104, 256, 105]).join('')).toBe('h<|endoftext|>i');
  });
});
