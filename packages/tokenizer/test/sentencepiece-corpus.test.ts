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
import { FIXTURES_URL, SHARED_URL, llama2ModelBytes, readFirst } from './helpers.js';

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

// Each model's bytes, or null when its tests must skip (the reason is printed by the loader).
const models: Record<string, () => Uint8Array | null> = {
  // Committed with the tests: absent means a broken checkout, so the tests below fail rather than skip.
  maxtext_c4_spm32k: () => {
    const urls = [
      new URL('sentencepiece/maxtext-c4-spm32k.model', fixtures),
      new URL('maxtext-c4-spm32k/tokenizer.model.gz', fixtures),
      new URL('data/tokenizers/maxtext-c4-spm32k/tokenizer.model', shared),
    ];
    const bytes = readFirst(urls);
    if (bytes === null)
      throw new Error(`MaxText tokenizer.model not found (${urls.map((u) => fileURLToPath(u)).join(' | ')})`);
    return bytes;
  },
  // Meta-licensed: only ever read from ../shared, never committed; skipped only without ../shared.
  llama2_spm: () => llama2ModelBytes('sentencepiece llama2_spm whole-corpus tests'),
};

function sha256OfIds(ids: number[]): string {
  return createHash('sha256')
    .update(new Uint8Array(Uint32Array.from(ids).buffer))
    .digest('hex');
}

for (const [key, loadModel] of Object.entries(models)) {
  const modelBytes = loadModel();
  describe.skipIf(modelBytes === null)(`${key} whole-corpus tokenization`, () => {
    let tokenizer: SentencePieceTokenizer | undefined;
    for (const [corpus, corpusUrls] of Object.entries(corpora)) {
      it(`${corpus}: token count and sha256 of ids match`, () => {
        // The corpora and checksums are committed: a missing one fails the test, it does not skip it.
        const text = readFirst(corpusUrls);
        if (text === null) throw new Error(`corpus not found (${corpusUrls.map((u) => fileURLToPath(u)).join(' | ')})`);
        const expected = checksums?.corpora[corpus]?.[key];
        if (expected === undefined)
          throw new Error(`corpus_tokenization_checksums.json not found or has no ${key} entry for ${corpus}`);
        tokenizer ??= sentencePieceFromModel(modelBytes!);
        const str = new TextDecoder().decode(text);
        const t0 = performance.now();
        const ids = tokenizer.encode(str);
        const ms = performance.now() - t0;
        console.log(
          `[sentencepiece] ${key} ${corpus}: ${ids.length} tokens, encode ${(text.length / 1e6 / (ms / 1000)).toFixed(2)} MB/s (single run)`,
        );
        expect(ids.slice(0, 256)).toEqual(expected.first_256);
        expect(ids.length).toBe(expected.n_tokens);
        expect(sha256OfIds(ids)).toBe(expected.sha256_uint32le);
        if (key === 'llama2_spm') expect(tokenizer.decode(ids)).toBe(str);
      });
    }
  });
}
