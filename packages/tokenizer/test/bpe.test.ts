/**
 * BPE internals that the fixtures reach only rarely: the heap merge for long words must equal the
 * linear merge, and the bounded piece cache must stay correct when it overflows and is cleared.
 */
import { describe, expect, it } from 'vitest';
import { BYTE_TO_CHAR } from '../src/byte-level.js';
import { gpt2, readText } from './helpers.js';

interface BpeInternals {
  symbols: Int32Array;
  mergeAll(count: number): number[];
  mergeWithHeap(count: number): number[];
}

describe('BpeModel', () => {
  it('merges long words with the heap exactly as with the linear scan', () => {
    const tok = gpt2();
    // the model inside the tokenizer, by its private field names (Reflect.get: an untyped look inside)
    const model: BpeInternals = Reflect.get(Reflect.get(tok, 'parts'), 'model');
    const text = readText('corpora/wikitext-2-test-nonblank.txt.gz').slice(0, 200_000);
    const words = text
      .split(/\s+/)
      .filter((w) => w.length >= 2)
      .slice(0, 3000);
    words.push(
      'a'.repeat(300),
      '0123456789'.repeat(20),
      'ab'.repeat(120),
      '🤗'.repeat(40),
      'antidisestablishmentarianism'.repeat(4),
    );
    const utf8 = new TextEncoder();
    for (const word of words) {
      const ids = Array.from(utf8.encode(word), (b) => tok.tokenToId(BYTE_TO_CHAR[b])!);
      model.symbols = Int32Array.from(ids);
      // The linear path takes at most 48 symbols; compare both on (a prefix of) each word.
      const linear = model.mergeAll(Math.min(ids.length, 48));
      model.symbols = Int32Array.from(ids);
      const viaHeap = model.mergeWithHeap(Math.min(ids.length, 48));
      expect(viaHeap, word).toEqual(linear);
    }
    // And whole long words against the decoder: what comes back is the word.
    for (const word of words.slice(-5)) expect(tok.decode(tok.encode(word))).toBe(word);
  });

  it('stays correct when the piece cache overflows and is cleared', () => {
    const tok = gpt2();
    const before = tok.encode('Hello world, the cache test.');
    const many = Array.from({ length: 70_000 }, (_, k) => `w${k.toString(36)}`).join(' ');
    const ids = tok.encode(many);
    expect(tok.decode(ids)).toBe(many);
    expect(tok.encode('Hello world, the cache test.')).toEqual(before);
  });
});
