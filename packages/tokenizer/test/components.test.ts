/**
 * tokenizer.json components on small synthetic files: split behaviours, normalizers, decoders,
 * and a character-level (Llama-style, Metaspace) BPE with byte fallback.
 */
import { describe, expect, it } from 'vitest';
import { buildPreTokenizer } from '../src/pre-tokenizers.js';
import { buildNormalizer } from '../src/normalizers.js';
import { buildDecoder } from '../src/decoders.js';
import { tokenizerFromJson } from '../src/index.js';

function pieces(config: unknown, text: string, first = true): string[] {
  const out: string[] = [];
  buildPreTokenizer(config).run(text, first, (p) => out.push(p));
  return out;
}

describe('pre-tokenizers', () => {
  it.each([
    ['Removed', ['a', 'b', 'c']],
    ['Isolated', ['a', '-', 'b', '-', '-', 'c']],
    ['MergedWithPrevious', ['a-', 'b-', '-', 'c']],
    ['MergedWithNext', ['a', '-b', '-', '-c']],
    ['Contiguous', ['a', '-', 'b', '--', 'c']],
  ])('Split %s', (behavior, expected) => {
    expect(pieces({ type: 'Split', pattern: { String: '-' }, behavior, invert: false }, 'a-b--c')).toEqual(expected);
  });

  it('Split with invert keeps what the regex matches as the pieces', () => {
    expect(
      pieces({ type: 'Split', pattern: { Regex: '\\w+' }, behavior: 'Removed', invert: true }, 'hi, you!'),
    ).toEqual(['hi', 'you']);
  });

  it('Digits, Whitespace, WhitespaceSplit, Punctuation', () => {
    expect(pieces({ type: 'Digits', individual_digits: false }, 'Hey 123 friend!')).toEqual([
      'Hey ',
      '123',
      ' friend!',
    ]);
    expect(pieces({ type: 'Digits', individual_digits: true }, 'Hey 123')).toEqual(['Hey ', '1', '2', '3']);
    expect(pieces({ type: 'Whitespace' }, 'Hey man!! ok')).toEqual(['Hey', 'man', '!!', 'ok']);
    expect(pieces({ type: 'WhitespaceSplit' }, 'Hey  man!!\u00a0ok')).toEqual(['Hey', 'man!!', 'ok']);
    expect(pieces({ type: 'Punctuation' }, 'Hey, you…')).toEqual(['Hey', ',', ' you', '…']);
  });

  it('ByteLevel: add_prefix_space prefixes each segment that lacks a space', () => {
    expect(pieces({ type: 'ByteLevel', add_prefix_space: true }, 'Hello world')).toEqual([' Hello', ' world']);
    expect(pieces({ type: 'ByteLevel', add_prefix_space: true }, ' Hello')).toEqual([' Hello']);
    expect(pieces({ type: 'ByteLevel', add_prefix_space: false, use_regex: false }, 'Hello world')).toEqual([
      'Hello world',
    ]);
  });

  it('Metaspace: spaces become ▁, prefix per prepend_scheme, split before each ▁', () => {
    const always = { type: 'Metaspace', replacement: '▁', prepend_scheme: 'always', split: true };
    expect(pieces(always, 'Hey friend')).toEqual(['▁Hey', '▁friend']);
    expect(pieces({ ...always, prepend_scheme: 'first' }, 'Hey', false)).toEqual(['Hey']);
    expect(pieces({ ...always, prepend_scheme: 'never', split: false }, 'a b')).toEqual(['a▁b']);
  });

  it('Sequence of Split + ByteLevel (Qwen-style) applies both', () => {
    const seq = {
      type: 'Sequence',
      pretokenizers: [
        { type: 'Split', pattern: { Regex: '\\p{N}' }, behavior: 'Isolated', invert: false },
        { type: 'ByteLevel', add_prefix_space: false, use_regex: false },
      ],
    };
    expect(pieces(seq, 'ab12c')).toEqual(['ab', '1', '2', 'c']);
    expect(buildPreTokenizer(seq).byteLevel).toBe(true);
  });
});

describe('normalizers', () => {
  const run = (config: unknown, text: string): string => buildNormalizer(config)!(text);
  it('unicode forms, Lowercase, Strip, StripAccents, Replace, Prepend, Sequence', () => {
    expect(run({ type: 'NFC' }, 'e\u0301')).toBe('\u00e9');
    expect(run({ type: 'NFKC' }, 'ﬁ①')).toBe('fi1');
    expect(run({ type: 'NFD' }, '\u00e9')).toBe('e\u0301');
    expect(run({ type: 'Lowercase' }, 'ÀB')).toBe('àb');
    expect(run({ type: 'Strip', strip_left: true, strip_right: false }, ' \u3000a ')).toBe('a ');
    expect(run({ type: 'Sequence', normalizers: [{ type: 'NFD' }, { type: 'StripAccents' }] }, 'café')).toBe('cafe');
    expect(run({ type: 'Replace', pattern: { String: ' ' }, content: '▁' }, 'a b c')).toBe('a▁b▁c');
    expect(run({ type: 'Replace', pattern: { Regex: '\\s+' }, content: '$1' }, 'a  b')).toBe('a$1b');
    expect(run({ type: 'Prepend', prepend: '▁' }, 'a')).toBe('▁a');
    expect(run({ type: 'Prepend', prepend: '▁' }, '')).toBe('');
  });
});

describe('decoders', () => {
  const run = (config: unknown, tokens: string[]): string => buildDecoder(config).chain(tokens).join('');
  it('ByteLevel maps the byte alphabet and takes other tokens as UTF-8 text', () => {
    expect(run({ type: 'ByteLevel' }, ['Hello', 'Ġw', 'Ã©', '  '])).toBe('Hello wé  ');
  });
  it('ByteFallback turns <0xNN> runs into text, invalid UTF-8 into one U+FFFD per byte', () => {
    expect(run({ type: 'ByteFallback' }, ['a', '<0xC3>', '<0xA9>', 'b'])).toBe('aéb');
    expect(run({ type: 'ByteFallback' }, ['<0xC3>', 'b'])).toBe('\uFFFDb');
    expect(run({ type: 'ByteFallback' }, ['<0xE6>', '<0x97>'])).toBe('\uFFFD\uFFFD');
  });
  it('Strip, Replace, Fuse, Metaspace, and no decoder (tokens joined by spaces)', () => {
    expect(run({ type: 'Strip', content: ' ', start: 1, stop: 0 }, ['  a', ' b'])).toBe(' ab');
    expect(run({ type: 'Metaspace', replacement: '▁', prepend_scheme: 'always' }, ['▁Hey', '▁you'])).toBe('Hey you');
    expect(run(null, ['a', 'b'])).toBe('a b');
  });
});

/** A Llama-style tokenizer.json: character-level BPE, byte fallback, ▁ for spaces. */
function llamaStyle(): Record<string, unknown> {
  const vocab: Record<string, number> = { '<unk>': 0, '<s>': 1, '</s>': 2 };
  for (let b = 0; b < 256; b++) vocab[`<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`] = 3 + b;
  ['▁', 'h', 'e', 'l', 'o', '▁h', 'll', '▁he', 'llo', '▁hello'].forEach((t, k) => (vocab[t] = 259 + k));
  return {
    added_tokens: [
      { id: 0, content: '<unk>', special: true, normalized: false },
      { id: 1, content: '<s>', special: true, normalized: false },
      { id: 2, content: '</s>', special: true, normalized: false },
    ],
    normalizer: {
      type: 'Sequence',
      normalizers: [
        { type: 'Prepend', prepend: '▁' },
        { type: 'Replace', pattern: { String: ' ' }, content: '▁' },
      ],
    },
    pre_tokenizer: null,
    post_processor: {
      type: 'TemplateProcessing',
      single: [{ SpecialToken: { id: '<s>', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }],
    },
    decoder: {
      type: 'Sequence',
      decoders: [
        { type: 'Replace', pattern: { String: '▁' }, content: ' ' },
        { type: 'ByteFallback' },
        { type: 'Fuse' },
        { type: 'Strip', content: ' ', start: 1, stop: 0 },
      ],
    },
    model: {
      type: 'BPE',
      unk_token: '<unk>',
      fuse_unk: true,
      byte_fallback: true,
      vocab,
      merges: ['▁ h', ['l', 'l'], '▁h e', 'll o', '▁he llo'],
    },
  };
}

describe('character-level BPE (Llama-style tokenizer.json)', () => {
  const tok = tokenizerFromJson(llamaStyle());
  it('merges both merge forms, falls back to bytes, adds no BOS', () => {
    expect(tok.encode('hello')).toEqual([268 - 259 + 259]);
    expect(tok.encode('hé')).toEqual([264, 3 + 0xc3, 3 + 0xa9]);
    expect(tok.bosId).toBe(1);
    expect(tok.eosId).toBe(2);
    expect(tok.unkId).toBe(0);
  });
  it('decodes through the decoder chain and streams through the window decoder', () => {
    const ids = tok.encode('hello hé hello');
    expect(tok.decode(ids)).toBe('hello hé hello');
    const stream = tok.decoder();
    const parts = ids.map((id) => stream.push(id));
    expect(parts.join('') + stream.flush()).toBe('hello hé hello');
    expect(parts.every((p) => !p.includes('\uFFFD'))).toBe(true);
  });
  it('ignore_merges takes a whole word from the vocabulary first', () => {
    const json = llamaStyle();
    (json.model as Record<string, unknown>).merges = [];
    expect(tokenizerFromJson(json).encode('hello')).toEqual([259, 260, 261, 262, 262, 263]);
    (json.model as Record<string, unknown>).ignore_merges = true;
    expect(tokenizerFromJson(json).encode('hello')).toEqual([268]);
  });
  it('without byte fallback, unknown characters become <unk> (fused)', () => {
    const json = llamaStyle();
    (json.model as Record<string, unknown>).byte_fallback = false;
    expect(tokenizerFromJson(json).encode('hé€')).toEqual([264, 0]);
  });
});

describe('subword prefix and suffix', () => {
  it('continuing_subword_prefix / end_of_word_suffix apply to byte-level symbols too (HF BPE)', () => {
    const json = {
      pre_tokenizer: { type: 'ByteLevel', add_prefix_space: false, use_regex: false },
      decoder: { type: 'ByteLevel' },
      model: {
        type: 'BPE',
        vocab: { h: 0, '##e': 1, he: 2, '##y</w>': 3, 'hey</w>': 4, '##e</w>': 5 },
        merges: ['h ##e', 'he ##y</w>'],
        continuing_subword_prefix: '##',
        end_of_word_suffix: '</w>',
      },
    };
    const tok = tokenizerFromJson(json);
    expect(tok.encode('hey')).toEqual([4]);
    expect(tok.encode('he')).toEqual([0, 5]);
  });
});
