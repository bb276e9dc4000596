/**
 * Whole-corpus checksums for the SentencePiece models: each corpus file is encoded as ONE string
 * (no BOS/EOS) and the ids, as uint32 little-endian, must hash to the reference sha256. One wrong
 * id anywhere in ~320k tokens fails this, which is what catches tie-breaking and float32 details
 * of the Unigram Viterbi. Throughput is printed, not asserted (CI machines vary).
 */
import { createHash } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { sentencePieceFromModel, type SentencePieceTokenizer } from '../src/sentencepiece/index.js';
import { FIXTURES_URL, SHARED_URL, readFirst } from './helpers.js';

const shared = SHARED_URL;
const fixtures = FIXTURES_URL;

interface Expected {
  n_tokens: number;
  sha256_uint32le: string;
  first_256: number[];
}
interface Checksums {
  corpora: Record<string, { bytes: number; sha256_file: string } & Record<string, Expected>>;
}

const checksumBytes = readFirst([
  new URL('corpus_tokenization_checksums.json', fixtures),
  new URL('fixtures/tokenizers/corpus_tokenization_checksums.json', shared),
]);
const checksums: Checksums | null = checksumBytes && JSON.parse(new TextDecoder().decode(checksumBytes));

/** The corpora: gzipped copies in test/fixtures/corpora, else the originals in ../shared. */
const corpora: Record<string, URL[]> = {
  'corpora/tinyshakespeare/input.txt': [
    new URL('corpora/tinyshakespeare.txt.gz', fixtures),
    new URL('data/corpora/tinyshakespeare/input.txt', shared),
  ],
  'corpora/wikitext-2-raw/wiki.test.nonblank.raw': [
    new URL('corpora/wikitext-2-test-nonblank.txt.gz', fixtures),
    new URL('data/corpora/wikitext-2-raw/wiki.test.nonblank.raw', shared),
  ],
};

const models: Record<string, URL[]> = {
  maxtext_c4_spm32k: [
    new URL('sentencepiece/maxtext-c4-spm32k.model', fixtures),
    new URL('maxtext-c4-spm32k/tokenizer.model.gz', fixtures),
    new URL('data/tokenizers/maxtext-c4-spm32k/tokenizer.model', shared),
  ],
  // Meta-licensed: only ever read from ../shared, never committed.
  llama2_spm: [new URL('data/tokenizers/llama2-spm/tokenizer.model', shared)],
};

function sha256OfIds(ids: number[]): string {
  return createHash('sha256').update(new Uint8Array(Uint32Array.from(ids).buffer)).digest('hex');
}

for (const [key, modelUrls] of Object.entries(models)) {
  describe(`${key} whole-corpus tokenization`, () => {
    const modelBytes = readFirst(modelUrls);
    let tokenizer: SentencePieceTokenizer | undefined;
    for (const [corpus, corpusUrls] of Object.entries(corpora)) {
      const text = readFirst(corpusUrls);
      const expected = checksums?.corpora[corpus]?.[key];
      const missing =
        modelBytes === null ? `model not found (${modelUrls.map((u) => fileURLToPath(u)).join(' | ')})`
        : text === null ? `corpus not found (${corpusUrls.map((u) => fileURLToPath(u)).join(' | ')})`
        : expected === undefined ? 'corpus_tokenization_checksums.json not found or has no entry'
        : null;
      if (missing !== null) {
        console.warn(`[sentencepiece] skipping ${key} on ${corpus}: ${missing}`);
        it.skip(`${corpus}: ${missing}`, () => {});
        continue;
      }
      it(`${corpus}: token count and sha256 of ids match`, () => {
        tokenizer ??= sentencePieceFromModel(modelBytes!);
        const str = new TextDecoder().decode(text!);
        const t0 = performance.now();
        const ids = tokenizer.encode(str);
        const ms = performance.now() - t0;
        console.log(`[sentencepiece] ${key} ${corpus}: ${ids.length} tokens, encode ${(text!.length / 1e6 / (ms / 1000)).toFixed(2)} MB/s (single run)`);
        expect(ids.slice(0, 256)).toEqual(expected!.first_256);
        expect(ids.length).toBe(expected!.n_tokens);
        expect(sha256OfIds(ids)).toBe(expected!.sha256_uint32le);
        if (key === 'llama2_spm') expect(tokenizer.decode(ids)).toBe(str);
      });
    }
  });
}
