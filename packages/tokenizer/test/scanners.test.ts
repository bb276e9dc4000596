/**
 * The hand-written scanners must produce exactly the matches of their regexes under Rust /
 * Oniguruma semantics. The reference here is the regex translated to JS (regex.ts), whose own
 * semantics are pinned by the hard cases in regex.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { compileRegex } from '../src/regex.js';
import { GPT2_PATTERN, QWEN_PATTERN, scanGpt2, scanQwen } from '../src/scanners.js';
import { readJson } from './helpers.js';

function viaRegex(pattern: string, text: string): string[] {
  return Array.from(text.matchAll(compileRegex(pattern, 'test')), (m) => m[0]);
}

function viaScanner(scan: (t: string, emit: (s: number, e: number) => void) => void, text: string): string[] {
  const out: string[] = [];
  scan(text, (s, e) => out.push(text.slice(s, e)));
  return out;
}

// Deterministic pseudo-random strings over an alphabet full of edge cases.
function randomTexts(count: number, seed: number): string[] {
  const alphabet = [
    'a',
    'Z',
    'é',
    'ß',
    'ſ',
    'S',
    's',
    't',
    'T',
    'r',
    'e',
    'v',
    'l',
    'L',
    'm',
    'd',
    'D',
    "'",
    '’',
    '1',
    '٣',
    '½',
    'Ⅻ',
    ' ',
    '  ',
    '\t',
    '\n',
    '\r',
    '\r\n',
    '\u00a0',
    '\u0085',
    '\u2003',
    '\u3000',
    '\ufeff',
    '\u200b',
    '\u2028',
    '.',
    ',',
    '!',
    '-',
    '_',
    '(',
    '😀',
    '👩‍💻',
    '🇩🇪',
    '𝐀',
    '漢',
    'あ',
    '\u0301',
    '\u0000',
    '$',
    '<',
    '>',
    '|',
  ];
  let state = seed;
  const next = (): number => {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0;
    return state >>> 8;
  };
  return Array.from({ length: count }, () =>
    Array.from({ length: 1 + (next() % 24) }, () => alphabet[next() % alphabet.length]).join(''),
  );
}

const TEXTS = [
  ...readJson<{ text: string }[]>('tokenizer_test_texts.json').map((c) => c.text),
  ...randomTexts(3000, 7),
];

describe.each([
  ['GPT-2', GPT2_PATTERN, scanGpt2],
  ['Qwen', QWEN_PATTERN, scanQwen],
] as const)('%s scanner', (_name, pattern, scan) => {
  it('matches the regex on the fixture texts and 3000 random strings', () => {
    for (const text of TEXTS) expect(viaScanner(scan, text), JSON.stringify(text)).toEqual(viaRegex(pattern, text));
  });

  it('covers the text exactly (no gaps, no overlaps)', () => {
    for (const text of TEXTS) expect(viaScanner(scan, text).join('')).toBe(text);
  });
});

describe('hard cases, spelled out', () => {
  const gpt2 = (t: string): string[] => viaScanner(scanGpt2, t);
  const qwen = (t: string): string[] => viaScanner(scanQwen, t);

  it('GPT-2: a run of spaces gives its last space to the next word', () => {
    expect(gpt2('a   b')).toEqual(['a', '  ', ' b']);
    expect(gpt2('a   ')).toEqual(['a', '   ']);
    expect(gpt2('x\n\ny')).toEqual(['x', '\n', '\n', 'y']);
  });

  it('GPT-2: contractions are case-sensitive; Qwen folds case, including U+017F', () => {
    expect(gpt2("I'M")).toEqual(['I', "'", 'M']);
    expect(qwen("I'M")).toEqual(['I', "'M"]);
    expect(qwen("it'ſ")).toEqual(['it', "'ſ"]);
    expect(qwen("we'LL")).toEqual(['we', "'LL"]);
  });

  it('\\s is White_Space: U+0085 is whitespace, U+FEFF is not (unlike JS \\s)', () => {
    expect(gpt2('a\u0085b')).toEqual(['a', '\u0085', 'b']);
    expect(gpt2('a \ufeffb')).toEqual(['a', ' \ufeff', 'b']);
  });

  it('Qwen: digits one at a time; newline runs keep their leading spaces', () => {
    expect(qwen('12345')).toEqual(['1', '2', '3', '4', '5']);
    expect(qwen('a  \n\n  b')).toEqual(['a', '  \n\n', ' ', ' b']);
    expect(qwen('x.\n\ny')).toEqual(['x', '.\n\n', 'y']);
    expect(qwen('\thello')).toEqual(['\thello']);
  });
});
