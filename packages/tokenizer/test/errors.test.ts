/**
 * Bad input gets a TokenizerError that says where: malformed or truncated tokenizer.json (the
 * JSON field or offset), vocab.bpe (the line), ids outside the vocabulary (the position). Lone
 * surrogates are defined behaviour: each becomes U+FFFD before tokenization, like TextEncoder.
 */
import { describe, expect, it } from 'vitest';
import { byteLevelTokenizer, gpt2FromFiles, tokenizerFromJson, TokenizerError } from '../src/index.js';
import { gpt2, neox, qwen, readText } from './helpers.js';

function error(fn: () => unknown): TokenizerError {
  try {
    fn();
  } catch (e) {
    expect(TokenizerError.isInstance(e)).toBe(true);
    return e as TokenizerError;
  }
  throw new Error('expected a TokenizerError');
}

const ENCODER = '{"a": 0, "b": 1, "ab": 2, "<|endoftext|>": 3}';

function json(overrides: Record<string, unknown>, model: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    added_tokens: [],
    pre_tokenizer: { type: 'ByteLevel', add_prefix_space: false },
    decoder: { type: 'ByteLevel' },
    model: { type: 'BPE', vocab: { a: 0, b: 1, ab: 2 }, merges: ['a b'], ...model },
    ...overrides,
  };
}

describe('malformed tokenizer.json', () => {
  it('truncated text: the offset, and a hint', () => {
    const text = readText('gpt-neox-20b/tokenizer.json.gz');
    const e = error(() => tokenizerFromJson(text.slice(0, 5000)));
    expect(e.offset).toBe(5000);
    expect(e.message).toMatch(/truncated/);
  });

  it.each([
    [{ model: null }, 'model'],
    [{}, 'model.vocab["b"]', { vocab: { a: 0, b: -1 } }],
    [{}, 'model.merges[0]', { merges: ['a b c'] }],
    [{}, 'model.merges[1]', { merges: ['a b', 7] }],
    [{}, 'model.type', { type: 'WordPiece' }],
    [{ normalizer: { type: 'Precompiled' } }, 'normalizer.type'],
    [
      { normalizer: { type: 'Sequence', normalizers: [{ type: 'NFC' }, { type: 'Nope' }] } },
      'normalizer.normalizers[1].type',
    ],
    [
      { pre_tokenizer: { type: 'Split', pattern: { Regex: '(?x)a' }, behavior: 'Isolated' } },
      'pre_tokenizer.pattern.Regex',
    ],
    [{ pre_tokenizer: { type: 'Split', pattern: { Regex: 'a' }, behavior: 'Sideways' } }, 'pre_tokenizer.behavior'],
    [{ decoder: { type: 'CTC' } }, 'decoder.type'],
    [{ added_tokens: [{ id: 'x', content: '<s>' }] }, 'added_tokens[0].id'],
    [{ added_tokens: [{ id: 5 }] }, 'added_tokens[0].content'],
  ] as [Record<string, unknown>, string, Record<string, unknown>?][])(
    'names the field %#: %s',
    (overrides, field, model) => {
      const e = error(() => tokenizerFromJson(json(overrides, model)));
      expect(e.field).toBe(field);
      expect(e.message).toContain(field);
    },
  );

  it('a merge whose tokens are not in the vocabulary names the merge', () => {
    const e = error(() => tokenizerFromJson(json({}, { merges: ['a b', 'b c'] })));
    expect(e.field).toBe('model.merges[1]');
    expect(e.message).toMatch(/"c"/);
  });
});

describe('malformed GPT-2 files', () => {
  it('vocab.bpe: the line number', () => {
    const e = error(() => gpt2FromFiles(ENCODER, '#version: 0.2\na b\nab\n'));
    expect(e.line).toBe(3);
    expect(e.message).toMatch(/line 3/);
    expect(error(() => gpt2FromFiles(ENCODER, '#version: 0.2\na b\nb x\n')).line).toBe(3);
  });

  it('truncated vocab.bpe: the cut line is reported', () => {
    const bpe = readText('gpt2/vocab.bpe.gz');
    const cut = bpe.slice(0, bpe.indexOf('\n', 1000) + 3);
    const e = error(() => gpt2FromFiles(readText('gpt2/encoder.json.gz'), cut));
    expect(e.line).toBeGreaterThan(1);
  });

  it('encoder.json: bad ids and truncation', () => {
    expect(error(() => gpt2FromFiles('{"a": "zero"}', '')).message).toMatch(/"a"/);
    expect(error(() => gpt2FromFiles('{"a": 0, "b"', '')).message).toMatch(/encoder\.json/);
  });
});

describe('decode of ids outside the vocabulary', () => {
  it.each([
    ['gpt2', gpt2, 50257],
    ['neox', neox, 50277],
    ['qwen', qwen, 151669],
    ['byte-level', byteLevelTokenizer, 257],
  ])('%s: a clear error naming the id and its position', (_name, load, size) => {
    const tok = load();
    expect(() => tok.decode([1, size])).toThrow(new RegExp(`id ${size} at position 1 .*0\\.\\.${size - 1}`));
    expect(() => tok.decode([-1])).toThrow(/id -1 at position 0/);
    expect(() => tok.decode([1.5])).toThrow(TokenizerError);
    expect(() => tok.decoder().push(size)).toThrow(TokenizerError);
    expect(tok.idToToken(size)).toBeUndefined();
  });
});

describe('lone surrogates', () => {
  it('are encoded as U+FFFD (like TextEncoder), so decode gives the well-formed text', () => {
    for (const tok of [gpt2(), neox(), qwen(), byteLevelTokenizer()]) {
      expect(tok.encode('a\ud800b')).toEqual(tok.encode('a\ufffdb'));
      expect(tok.encode('\udc00')).toEqual(tok.encode('\ufffd'));
      expect(tok.encode('x\ud83d')).toEqual(tok.encode('x\ufffd'));
      expect(tok.decode(tok.encode('ok \ud83d\ude00 \ud83d'))).toBe('ok \ud83d\ude00 \ufffd');
    }
  });

  it('a non-string text is a TokenizerError', () => {
    // @ts-expect-error a number where text belongs
    expect(() => neox().encode(42)).toThrow(TokenizerError);
  });
});
