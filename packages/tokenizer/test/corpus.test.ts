/**
 * Whole-corpus checksums (corpus_tokenization_checksums.json; Qwen3's in qwen3_corpus_checksums.json,
 * made by make-qwen3-corpus-checksums.mjs with two Hugging Face libraries that agree): each corpus
 * encoded as ONE string, token count and sha256 of the ids as uint32 little-endian must match the
 * canonical tokenizers.
 */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { CORPORA, gpt2, neox, qwen, readJson, readText } from './helpers.js';
import type { Tokenizer } from '../src/index.js';

interface Sum {
  n_tokens: number;
  sha256_uint32le: string;
  first_256: number[];
}
const SUMS = readJson<{ corpora: Record<string, Record<string, Sum>> }>('corpus_tokenization_checksums.json').corpora;
const QWEN3_SUMS = readJson<{ corpora: Record<string, Record<string, Sum>> }>('qwen3_corpus_checksums.json').corpora;

export function idsSha256(ids: readonly number[]): string {
  return createHash('sha256')
    .update(new Uint8Array(Uint32Array.from(ids).buffer))
    .digest('hex');
}

const TOKENIZERS: [string, () => Tokenizer, (t: string) => string][] = [
  ['gpt2_r50k', gpt2, (t) => t],
  ['gpt_neox_20b', neox, (t) => t.normalize('NFC')],
  ['qwen3', qwen, (t) => t.normalize('NFC')],
];

for (const [corpus, file] of Object.entries(CORPORA)) {
  describe(corpus, () => {
    const text = readText(file);
    for (const [name, load, roundTrip] of TOKENIZERS) {
      it(`${name}: token count, sha256 and round-trip`, () => {
        const expected = (name === 'qwen3' ? QWEN3_SUMS : SUMS)[corpus][name];
        expect(expected, `${name} has a checksum for ${corpus}`).toBeDefined();
        const tok = load();
        const ids = tok.encode(text);
        expect(ids.slice(0, 256)).toEqual(expected.first_256);
        expect(ids.length).toBe(expected.n_tokens);
        expect(idsSha256(ids)).toBe(expected.sha256_uint32le);
        expect(tok.decode(ids) === roundTrip(text)).toBe(true);
      });
    }
  });
}
