/**
 * Identical ids to the canonical implementations on the 52 fixture texts per tokenizer
 * (test/fixtures/*_fixtures.json, made with tiktoken / HF tokenizers, see PROVENANCE.md), and the
 * round-trips DESIGN.md states: GPT-2 decode(encode(x)) = x; NeoX and Qwen = NFC(x).
 */
import { describe, expect, it } from 'vitest';
import { fixtureCases, gpt2, neox, qwen, type FixtureCase } from './helpers.js';
import type { Tokenizer } from '../src/index.js';

const SUITES: [string, () => Tokenizer, string, (text: string) => string][] = [
  ['gpt2 r50k (encoder.json + vocab.bpe)', gpt2, 'gpt2_r50k_fixtures.json', (t) => t],
  ['gpt-neox-20b (tokenizer.json)', neox, 'gpt_neox_20b_fixtures.json', (t) => t.normalize('NFC')],
  ['qwen3 (tokenizer.json.gz)', qwen, 'qwen3_fixtures.json', (t) => t.normalize('NFC')],
];

for (const [title, load, file, roundTrip] of SUITES) {
  describe(title, () => {
    const cases: FixtureCase[] = fixtureCases(file);

    it('has the 52 fixture texts', () => {
      expect(cases).toHaveLength(52);
    });

    it.each(cases.map((c) => [c.name, c] as const))('%s: ids, tokens and round-trip', (_name, c) => {
      const tok = load();
      expect(tok.encode(c.text)).toEqual(c.ids);
      if (c.tokens !== undefined) expect(c.ids.map((id) => tok.idToToken(id))).toEqual(c.tokens);
      if (c.ids_allow_special !== undefined)
        expect(tok.encode(c.text, { specials: 'all' })).toEqual(c.ids_allow_special);
      expect(tok.decode(c.ids)).toBe(roundTrip(c.text));
    });

    it('encodeBatch equals encode per text', () => {
      const tok = load();
      const texts = cases.slice(0, 10).map((c) => c.text);
      expect(tok.encodeBatch(texts)).toEqual(texts.map((t) => tok.encode(t)));
    });
  });
}

describe('special ids and specials modes', () => {
  it('GPT-2 files: <|endoftext|> is plain text by default, 50256 with specials all', () => {
    const tok = gpt2();
    expect(tok.kind).toBe('gpt2-files');
    expect(tok.vocabSize).toBe(50257);
    expect([tok.bosId, tok.eosId, tok.unkId, tok.padId]).toEqual([50256, 50256, 50256, null]);
    expect(tok.encode('a<|endoftext|>b')).toEqual(tok.encode('a<|endoftext|>b', { specials: 'none' }));
    expect(tok.encode('a<|endoftext|>b', { specials: 'all' })).toEqual([64, 50256, 65]);
    expect(tok.isSpecial(50256)).toBe(true);
    expect(tok.isSpecial(64)).toBe(false);
  });

  it('NeoX: specials matched by default, runs of spaces always (non-special added tokens)', () => {
    const tok = neox();
    expect(tok.kind).toBe('bpe-tokenizer.json');
    expect(tok.vocabSize).toBe(50277);
    expect(tok.eosId).toBe(0);
    expect(tok.padId).toBe(1);
    expect(tok.encode('a<|endoftext|>b')[1]).toBe(0);
    const none = tok.encode('a<|endoftext|>b', { specials: 'none' });
    expect(none).not.toContain(0);
    expect(tok.decode(none)).toBe('a<|endoftext|>b');
    // 'a   b': a, the 3-space token (50275), b — with every specials mode.
    for (const specials of ['all', 'none', 'default'] as const) {
      expect(tok.encode('a   b', { specials })).toEqual([66, 50275, 67]);
    }
    expect(tok.isSpecial(50275)).toBe(false);
    expect(tok.decode([66, 0, 67], { skipSpecial: true })).toBe('ab');
    expect(tok.decode([66, 0, 67])).toBe('a<|endoftext|>b');
  });

  it('Qwen3: ids from tokenizer_config.json (eos <|im_end|>, pad <|endoftext|>, no bos)', () => {
    const tok = qwen();
    expect(tok.vocabSize).toBe(151669);
    expect([tok.bosId, tok.eosId, tok.padId, tok.unkId]).toEqual([null, 151645, 151643, null]);
    expect(tok.encode('<|im_start|>user')).toEqual([151644, 872]);
    expect(tok.encode('<think>x</think>', { specials: 'none' })).toEqual(tok.encode('<think>x</think>'));
    expect(tok.tokenToId('<think>')).toBe(151667);
    expect(tok.isSpecial(151667)).toBe(false);
  });

  it('rejects an unknown specials mode', () => {
    expect(() => neox().encode('x', { specials: 'some' as 'all' })).toThrow(/specials/);
  });
});
