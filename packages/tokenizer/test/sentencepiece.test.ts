/**
 * SentencePiece `.model` loading: exact ids against the reference fixtures (SentencePiece C++ via
 * WASM, cross-checked with python-sentencepiece), decoding rules, the streaming decoder, specials,
 * and typed errors for bad input. Llama-2 tests need the Meta-licensed model, which stays out of the
 * repository: they read it from ../shared and are skipped, with the reason printed, only when ../shared
 * is absent (under CI with ../shared present a missing model fails the file).
 */
import { describe, expect, it } from 'vitest';
import { TokenizerError } from '../src/errors.js';
import { sentencePieceFromModel, type SentencePieceTokenizer } from '../src/sentencepiece/index.js';
import { FIXTURES_URL, SHARED_URL, llama2ModelBytes, readFirst } from './helpers.js';

const shared = SHARED_URL;
const fixtures = FIXTURES_URL;

interface FixtureCase {
  name: string;
  text: string;
  ids: number[];
  pieces: string[];
}

function readFixture(name: string): FixtureCase[] {
  const bytes = readFirst([
    new URL(`sentencepiece/${name}`, fixtures),
    new URL(name, fixtures),
    new URL(`fixtures/tokenizers/${name}`, shared),
  ]);
  if (bytes === null) throw new Error(`fixture ${name} not found under test/fixtures or ../shared`);
  return (JSON.parse(new TextDecoder().decode(bytes)) as { cases: FixtureCase[] }).cases;
}

// The MaxText model (Apache-2.0) is committed with the tests, so these always run.
const maxtextBytes = readFirst([
  new URL('sentencepiece/maxtext-c4-spm32k.model', fixtures),
  new URL('maxtext-c4-spm32k/tokenizer.model.gz', fixtures),
  new URL('data/tokenizers/maxtext-c4-spm32k/tokenizer.model', shared),
]);
// Skipped (reason printed) only without ../shared; with ../shared present under CI they must run.
const llamaBytes = llama2ModelBytes('sentencepiece Llama-2 tests');
const itLlama = llamaBytes === null ? it.skip : it;

const maxtext = (): SentencePieceTokenizer => {
  if (maxtextBytes === null) throw new Error('MaxText tokenizer.model fixture is missing');
  return (cachedMaxtext ??= sentencePieceFromModel(maxtextBytes));
};
const llama = (): SentencePieceTokenizer => (cachedLlama ??= sentencePieceFromModel(llamaBytes!));
let cachedMaxtext: SentencePieceTokenizer | undefined;
let cachedLlama: SentencePieceTokenizer | undefined;

const maxtextCases = readFixture('maxtext_c4_spm32k_fixtures.json');
const llamaCases = readFixture('llama2_spm_fixtures.json');

describe('MaxText C4 Unigram (nmt_nfkc, no byte fallback)', () => {
  it('reads the model header', () => {
    const t = maxtext();
    expect(t.kind).toBe('sentencepiece-unigram');
    expect(t.vocabSize).toBe(32768);
    expect([t.unkId, t.bosId, t.eosId, t.padId]).toEqual([0, 1, 2, null]);
    expect(t.isSpecial(1)).toBe(true);
    expect(t.isSpecial(0)).toBe(false);
    expect(t.idToToken(3)).toBe('.');
    expect(t.tokenToId('.')).toBe(3);
    expect(t.tokenToId('no such piece')).toBeUndefined();
  });

  it('has all 52 fixture cases', () => expect(maxtextCases).toHaveLength(52));

  it.each(maxtextCases.map((c) => [c.name, c] as const))('encodes %s exactly', (_name, c) => {
    const t = maxtext();
    const ids = t.encode(c.text);
    expect(ids).toEqual(c.ids);
    // The reference lists an <unk>'s surface text (e.g. '안녕하세요') as its piece; ours is '<unk>'.
    expect(ids.map((id, i) => (id === t.unkId ? c.pieces[i] : t.idToToken(id)))).toEqual(c.pieces);
  });

  it('decodes to the normalized text wherever there is no <unk>', () => {
    const t = maxtext();
    let checked = 0;
    for (const c of maxtextCases) {
      const ids = t.encode(c.text);
      const text = t.decode(ids);
      if (ids.includes(t.unkId)) {
        expect(text).toContain(' \u2047 ');
        continue;
      }
      // Normalized = NFKC-ish text with one leading dummy ▁, single ▁ between words, none at the end.
      const normalized = t.normalize(c.text).replaceAll('\u2581', ' ').replace(/^ /, '');
      expect(text, c.name).toBe(normalized);
      // The normalized text is a fixed point: encoding it again gives the same ids.
      expect(t.encode(text), c.name).toEqual(ids);
      checked++;
    }
    expect(checked).toBeGreaterThan(30);
  });

  it('collapses whitespace and merges runs of unknown characters into one <unk>', () => {
    const t = maxtext();
    expect(t.encode('   ')).toEqual([]);
    expect(t.encode('\n\t ')).toEqual([]);
    expect(t.encode('a    b')).toEqual(t.encode('a b'));
    expect(t.normalize('  a \u3000 b  ')).toBe('\u2581a\u2581b');
    // Hangul is not in this C4 English vocabulary: each word is ▁ + one merged <unk>.
    expect(t.encode('\uc548\ub155\ud558\uc138\uc694 \uc138\uacc4')).toEqual([29, 0, 29, 0]);
    expect(t.decode([29, 0, 29, 0])).toBe(' \u2047   \u2047 ');
  });
});

describe('Llama-2 BPE (identity normalizer, byte fallback)', () => {
  itLlama('reads the model header', () => {
    const t = llama();
    expect(t.kind).toBe('sentencepiece-bpe');
    expect(t.vocabSize).toBe(32000);
    expect([t.unkId, t.bosId, t.eosId, t.padId]).toEqual([0, 1, 2, null]);
    expect(t.tokenToId('<0x41>')).toBe(3 + 0x41);
    expect(t.tokenToId('\u2581Hello')).toBe(15043);
  });

  it('has all 52 fixture cases', () => expect(llamaCases).toHaveLength(52));

  itLlama.each(llamaCases.map((c) => [c.name, c] as const))('encodes %s exactly and round-trips', (_name, c) => {
    const t = llama();
    const ids = t.encode(c.text);
    expect(ids).toEqual(c.ids);
    expect(ids.map((id) => t.idToToken(id))).toEqual(c.pieces);
    expect(t.decode(ids)).toBe(c.text);
  });

  itLlama('streams: pushes concatenate to decode(), and never split a character', () => {
    const t = llama();
    for (const c of llamaCases) {
      const ids = t.encode(c.text);
      const d = t.decoder();
      let text = '';
      for (const id of ids) {
        const chunk = d.push(id);
        // A half character would show up as a lone surrogate or U+FFFD.
        expect(chunk).not.toMatch(/[\ud800-\udfff\ufffd]/u);
        text += chunk;
      }
      text += d.flush();
      expect(text, c.name).toBe(c.text);
    }
  });

  itLlama('assembles byte pieces before emitting', () => {
    const t = llama();
    const ids = [0xe4, 0xbd, 0xa0].map((b) => 3 + b); // <0xE4><0xBD><0xA0> = 你
    expect(t.decode(ids)).toBe('\u4f60');
    const d = t.decoder();
    expect(ids.map((id) => d.push(id))).toEqual(['', '', '\u4f60']);
    // An incomplete character is one U+FFFD per byte, as SentencePiece does.
    expect(t.decode(ids.slice(0, 2))).toBe('\ufffd\ufffd');
    // Text already produced, so the next piece keeps its leading space.
    expect(t.decode([...ids.slice(0, 2), 15043])).toBe('\ufffd\ufffd Hello');
    expect(t.decode([3 + 0xff, 3 + 0x41])).toBe('\ufffdA');
  });

  itLlama('control pieces: plain text by default, matched with specials "all"', () => {
    const t = llama();
    expect(t.encode('<s>Hi</s>')).not.toContain(1);
    expect(t.encode('<s>Hi</s>', { specials: 'none' })).toEqual(t.encode('<s>Hi</s>'));
    const ids = t.encode('<s>Hi</s>', { specials: 'all' });
    expect(ids).toEqual([1, ...t.encode('Hi'), 2]);
    expect(t.decode(ids)).toBe('<s>Hi</s>');
    expect(t.decode(ids, { skipSpecial: true })).toBe('Hi');
    for (const text of ['a</s><s>b', ' x <s> y ', '<s>', 'no specials', '</s>\n<s>[INST] hi [/INST]']) {
      expect(t.decode(t.encode(text, { specials: 'all' })), text).toBe(text);
    }
  });
});

describe('decoding rules shared by both models', () => {
  it('drops control pieces with skipSpecial and keeps the dummy-prefix rule', () => {
    const t = maxtext();
    const ids = t.encode('Hello world');
    expect(t.decode([1, ...ids, 2], { skipSpecial: true })).toBe('Hello world');
    expect(t.decode([1, ...ids, 2])).toBe('<s>Hello world</s>');
    const d = t.decoder({ skipSpecial: true });
    expect([1, ...ids].map((id) => d.push(id)).join('') + d.flush()).toBe('Hello world');
  });

  it('rejects ids outside the vocabulary with a TokenizerError', () => {
    const t = maxtext();
    for (const bad of [32768, -1, 1.5, Number.NaN]) {
      expect(() => t.decode([5, bad])).toThrow(TokenizerError);
    }
    expect(() => t.decode([5, 40000])).toThrow(/ids\[1\] = 40000 .*0\.\.32767/);
    expect(() => t.decoder().push(99999)).toThrow(TokenizerError);
    expect(t.idToToken(32768)).toBeUndefined();
    expect(t.isSpecial(-1)).toBe(false);
  });

  it('encodes a lone surrogate as U+FFFD (what UTF-8 encoding does with it)', () => {
    const t = maxtext();
    expect(t.encode('a\ud800b')).toEqual(t.encode('a\ufffdb'));
    expect(t.encode('x\udc00')).toEqual(t.encode('x\ufffd'));
  });

  it('encodeBatch is encode per text', () => {
    const t = maxtext();
    const texts = ['Hello', '', 'a  b', 'Grüße'];
    expect(t.encodeBatch(texts)).toEqual(texts.map((x) => t.encode(x)));
  });

  it('rejects a bad specials option', () => {
    expect(() => maxtext().encode('x', { specials: 'some' as never })).toThrow(TokenizerError);
  });
});

describe('malformed .model files', () => {
  const bytes = (): Uint8Array => maxtextBytes!;

  it('names the offset and field of a truncation inside a piece', () => {
    let err: unknown;
    try {
      sentencePieceFromModel(bytes().subarray(0, 1000));
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(TokenizerError);
    const e = err as TokenizerError;
    expect(e.message).toMatch(/at byte \d+ \(field pieces\[\d+\]/);
    expect(e.field).toMatch(/^pieces\[\d+\]/);
    expect(typeof e.offset).toBe('number');
  });

  it('a truncation throws only TokenizerError, or (cut between pieces, which protobuf allows) loads a prefix vocabulary', () => {
    const full = bytes();
    const whole = maxtext();
    const outcomes = { threw: 0, prefixVocabulary: 0 };
    for (let len = 0; len < full.length; len += 31337) {
      let cut: SentencePieceTokenizer;
      try {
        cut = sentencePieceFromModel(full.subarray(0, len));
      } catch (e) {
        expect(e, `truncated to ${len}`).toBeInstanceOf(TokenizerError);
        outcomes.threw++;
        continue;
      }
      // Loading is only right if it is the first pieces of the whole model, nothing invented.
      expect(cut.vocabSize, `truncated to ${len}`).toBeLessThan(whole.vocabSize);
      const ids = Array.from({ length: 64 }, (_, i) => Math.floor((i * (cut.vocabSize - 1)) / 63));
      expect(cut.decode(ids), `truncated to ${len}`).toBe(whole.decode(ids));
      outcomes.prefixVocabulary++;
    }
    // Pinned for this fixture (809,273 bytes: 26 cuts), so a loop that stops asserting fails here.
    expect(outcomes).toEqual({ threw: 24, prefixVocabulary: 2 });
    // Cutting into the charsmap (the normalizer spec sits at the end of the file).
    expect(() => sentencePieceFromModel(full.subarray(0, full.length - 100))).toThrow(TokenizerError);
  });

  it('rejects non-models', () => {
    expect(() => sentencePieceFromModel(new Uint8Array(0))).toThrow(/empty/);
    expect(() => sentencePieceFromModel(new TextEncoder().encode('{"model": {"type": "BPE"}}'))).toThrow(
      TokenizerError,
    );
    expect(() =>
      sentencePieceFromModel(new Uint8Array([0x0a, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff])),
    ).toThrow(/varint/);
    expect(() => sentencePieceFromModel('not bytes' as never)).toThrow(TokenizerError);
  });
});
