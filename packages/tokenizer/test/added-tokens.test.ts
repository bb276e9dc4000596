/**
 * Added-token matching with HF's AddedVocabulary semantics: leftmost-longest, single_word,
 * lstrip/rstrip, normalized vs raw matching, and specials on/off.
 */
import { describe, expect, it } from 'vitest';
import { AddedTokenMatcher, type AddedToken } from '../src/added-tokens.js';
import { tokenizerFromJson } from '../src/index.js';
import { BYTE_TO_CHAR } from '../src/byte-level.js';

function token(id: number, content: string, flags: Partial<AddedToken> = {}): AddedToken {
  return { id, content, special: false, singleWord: false, lstrip: false, rstrip: false, normalized: false, ...flags };
}

function split(matcher: AddedTokenMatcher, text: string, matchSpecial = true): (string | number)[] {
  const out: (string | number)[] = [];
  matcher.split(
    text,
    matchSpecial,
    (s, e) => out.push(text.slice(s, e)),
    (id) => out.push(id),
  );
  return out;
}

describe('AddedTokenMatcher', () => {
  it('is leftmost, then longest', () => {
    const m = new AddedTokenMatcher([token(1, 'ab'), token(2, 'abc'), token(3, 'bcd')]);
    expect(split(m, 'xabcdx')).toEqual(['x', 2, 'dx']);
    expect(split(m, 'xbcdab')).toEqual(['x', 3, 1]);
  });

  it('NeoX-style runs of spaces: the longest run wins', () => {
    const m = new AddedTokenMatcher([token(10, '  '), token(11, '   '), token(12, '    ')]);
    expect(split(m, 'a       b')).toEqual(['a', 12, 11, 'b']);
    expect(split(m, 'a b')).toEqual(['a b']);
  });

  it('single_word: not inside words (Unicode \\w, combining marks count as word)', () => {
    const m = new AddedTokenMatcher([token(5, '<mask>', { singleWord: true })]);
    expect(split(m, '<mask> my <mask> A<mask> <mask>ony <mask>')).toEqual([5, ' my ', 5, ' A<mask> <mask>ony ', 5]);
    expect(split(m, '<mask>, <mask>- \u25cc\u0330<mask>')).toEqual([5, ', ', 5, '- \u25cc\u0330<mask>']);
  });

  it('lstrip / rstrip swallow whitespace (any White_Space) but not text already consumed', () => {
    const m = new AddedTokenMatcher([token(7, '<mask>', { lstrip: true, rstrip: true })]);
    expect(split(m, 'Hi <mask> there\t<mask>\t<mask>\u2000')).toEqual(['Hi', 7, 'there', 7, 7]);
    const left = new AddedTokenMatcher([token(8, '<m>', { lstrip: true })]);
    expect(split(left, 'a  <m> b')).toEqual(['a', 8, ' b']);
  });

  it('skipped specials still consume their text (HF encode_special_tokens)', () => {
    const m = new AddedTokenMatcher([token(1, '<|endoftext|>', { special: true }), token(2, 'text')]);
    expect(split(m, 'a<|endoftext|>b', true)).toEqual(['a', 1, 'b']);
    expect(split(m, 'a<|endoftext|>b', false)).toEqual(['a<|endoftext|>b']);
    expect(split(m, 'a text', false)).toEqual(['a ', 2]);
  });
});

/** A tiny byte-level tokenizer.json (256 bytes, no merges) with the given extras. */
function tinyJson(extra: Record<string, unknown>): Record<string, unknown> {
  const vocab: Record<string, number> = {};
  for (let b = 0; b < 256; b++) vocab[BYTE_TO_CHAR[b]] = b;
  return {
    added_tokens: [],
    normalizer: null,
    pre_tokenizer: { type: 'ByteLevel', add_prefix_space: false, use_regex: true },
    decoder: { type: 'ByteLevel' },
    model: { type: 'BPE', vocab, merges: [] },
    ...extra,
  };
}

describe('normalized vs non-normalized added tokens in the pipeline', () => {
  it('normalized tokens match the normalized text; raw ones the original text', () => {
    const tok = tokenizerFromJson(
      tinyJson({
        normalizer: { type: 'Lowercase' },
        added_tokens: [
          { id: 300, content: 'Hello', special: false, normalized: true },
          { id: 301, content: 'World', special: false, normalized: false },
        ],
      }),
    );
    // 'HELLO' lowercases to 'hello', the normalized form of 'Hello' ('hello'): matched.
    expect(tok.encode('HELLO')).toEqual([300]);
    // 'World' matches only the raw text, before lowercasing.
    expect(tok.encode('World')).toEqual([301]);
    expect(tok.encode('WORLD')).toEqual(Array.from(new TextEncoder().encode('world')));
  });

  it('the raw segments around a special are normalized separately (NFC cannot join across it)', () => {
    const tok = tokenizerFromJson(
      tinyJson({
        normalizer: { type: 'NFC' },
        added_tokens: [{ id: 300, content: '<s>', special: true, normalized: false }],
      }),
    );
    const bytes = (s: string): number[] => Array.from(new TextEncoder().encode(s));
    expect(tok.encode('e\u0301<s>\u0301')).toEqual([...bytes('\u00e9'), 300, ...bytes('\u0301')]);
    expect(tok.encode('e\u0301<s>\u0301', { specials: 'none' })).toEqual(bytes('\u00e9<s>\u0301'));
  });
});
