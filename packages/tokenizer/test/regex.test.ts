/**
 * regex.ts translates Oniguruma / fancy-regex / Rust regex syntax to an equivalent JS regex.
 */
import { describe, expect, it } from 'vitest';
import { compileRegex, translateRegex } from '../src/regex.js';
import { TokenizerError } from '../src/errors.js';

const all = (pattern: string, text: string): string[] =>
  Array.from(text.matchAll(compileRegex(pattern, 'test')), (m) => m[0]);

describe('translateRegex', () => {
  it('\\s, \\S, \\d, \\w take their Unicode (Rust) meaning', () => {
    expect(all('\\s+', 'a\u0085\u00a0b\ufeffc')).toEqual(['\u0085\u00a0']);
    expect(all('\\S+', 'a\ufeff b')).toEqual(['a\ufeff', 'b']);
    expect(all('\\d+', '12٣x')).toEqual(['12٣']);
    expect(all('\\w+', 'héllo_1 ok')).toEqual(['héllo_1', 'ok']);
    expect(all('[^\\s\\p{L}]+', 'ab 12\ufeff')).toEqual(['12\ufeff']);
  });

  it('(?i:...) is scoped case-insensitivity with Unicode simple folds', () => {
    expect(all("(?i:'s|'ll)x", "'Sx 'sx 'LLx 'ſx 'Lx")).toEqual(["'Sx", "'sx", "'LLx", "'ſx"]);
    expect(all('(?i:a)b', 'Ab AB ab')).toEqual(['Ab', 'ab']);
    expect(all('(?i)k', 'kK\u212a')).toEqual(['k', 'K', '\u212a']);
  });

  it('possessive quantifiers and atomic groups never give characters back', () => {
    // Backtracking would let a+ give back an 'a' for the final 'a'; possessive cannot.
    expect(all('a++a', 'aaaa')).toEqual([]);
    expect(all('a+a', 'aaaa')).toEqual(['aaaa']);
    expect(all('(?>a+)a', 'aaaa')).toEqual([]);
    expect(all('\\p{N}{1,3}+', '12345')).toEqual(['123', '45']);
    // Llama-3 / cl100k style pattern pieces
    expect(all(' ?[^\\s\\p{L}\\p{N}]++[\\r\\n]*', ' !!\n')).toEqual([' !!\n']);
  });

  it('lookahead is kept: \\s+(?!\\S)', () => {
    expect(all('\\s+(?!\\S)|\\s+', 'a   b')).toEqual(['  ', ' ']);
  });

  it('escaped punctuation that JS u-mode rejects is taken literally', () => {
    expect(all("\\'\\-\\#", "'-#")).toEqual(["'-#"]);
    expect(all('[\\-a]+', '-a-')).toEqual(['-a-']);
  });

  it('unsupported syntax is a TokenizerError naming the field', () => {
    expect(() => translateRegex('(?x)a', 'pre_tokenizer.pattern.Regex')).toThrow(TokenizerError);
    expect(() => translateRegex('a\\G', 'pre_tokenizer.pattern.Regex')).toThrow(/pre_tokenizer\.pattern\.Regex/);
    expect(() => translateRegex('(a', 'f')).toThrow(/unbalanced/);
    expect(() => translateRegex('[a', 'f')).toThrow(/unterminated/);
  });
});
