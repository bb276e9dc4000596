/**
 * The byte-level tokenizer of the `tiny` preset: a real tokenizer.json shipped with the package,
 * whose ids are the UTF-8 bytes of the text, plus <|endoftext|> = 256.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { byteLevelTokenizer, byteLevelTokenizerJson, BYTE_LEVEL_EOS_ID, tokenizerFromJson } from '../src/index.js';
import { BYTE_TO_CHAR } from '../src/byte-level.js';
import { FIXTURES, readJson } from './helpers.js';

const ASSET = join(FIXTURES, '../../assets/byte-level/tokenizer.json');
const utf8 = (s: string): number[] => Array.from(new TextEncoder().encode(s));

describe('byteLevelTokenizer', () => {
  const tok = byteLevelTokenizer();

  it('is the shipped tokenizer.json: 256 byte tokens (id = byte) + <|endoftext|> 256, no merges', () => {
    const json = JSON.parse(readFileSync(ASSET, 'utf8'));
    expect(byteLevelTokenizerJson()).toEqual(json);
    expect(Object.keys(json.model.vocab)).toHaveLength(256);
    for (let b = 0; b < 256; b++) expect(json.model.vocab[BYTE_TO_CHAR[b]]).toBe(b);
    expect(json.model.merges).toEqual([]);
    expect(json.added_tokens).toEqual([expect.objectContaining({ id: 256, content: '<|endoftext|>', special: true })]);
    expect(tok.kind).toBe('byte-level');
    expect(tok.vocabSize).toBe(257);
    expect([tok.bosId, tok.eosId, tok.padId, tok.unkId]).toEqual([null, BYTE_LEVEL_EOS_ID, null, null]);
  });

  it('encodes every text to its UTF-8 bytes and decodes back exactly', () => {
    const texts = readJson<{ name: string; text: string }[]>('tokenizer_test_texts.json').map((c) => c.text);
    for (const text of [...texts, 'hé', '\u0000\u00ff', '  many   spaces  ', '日本語 🤗']) {
      expect(tok.encode(text, { specials: 'none' })).toEqual(utf8(text));
      expect(tok.decode(tok.encode(text))).toBe(text);
    }
    expect(tok.encode('hé')).toEqual([104, 195, 169]);
  });

  it('matches <|endoftext|> as a special by default (tokenizer.json convention), not with specials none', () => {
    expect(tok.encode('a<|endoftext|>b')).toEqual([97, 256, 98]);
    expect(tok.encode('a<|endoftext|>b', { specials: 'none' })).toEqual(utf8('a<|endoftext|>b'));
    expect(tok.decode([97, 256, 98], { skipSpecial: true })).toBe('ab');
    expect(tok.isSpecial(256)).toBe(true);
  });

  it('loads through tokenizerFromJson the same way (as a plain tokenizer.json)', () => {
    const viaJson = tokenizerFromJson(readFileSync(ASSET, 'utf8'));
    expect(viaJson.encode('Héllo<|endoftext|>')).toEqual(tok.encode('Héllo<|endoftext|>'));
    expect(viaJson.eosId).toBe(256);
  });

  it('decodes bytes that are not valid UTF-8 to U+FFFD, like a lossy UTF-8 decoder', () => {
    expect(tok.decode([0xff, 104])).toBe('\uFFFDh');
    expect(tok.decode([0xe6, 0x97])).toBe('\uFFFD');
  });
});
