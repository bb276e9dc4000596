#!/usr/bin/env node
// Makes test/fixtures/qwen3_corpus_checksums.json: the whole-corpus checksums of the Qwen3 tokenizer
// (test/fixtures/qwen3), in the format of corpus_tokenization_checksums.json — each corpus encoded as
// ONE string, no special tokens added, ids hashed as uint32 little-endian — for corpus.test.ts.
//
// The ids come from two tokenizer libraries that share no code with this project and are checked
// against each other: @huggingface/tokenizers (JavaScript) and tokenizers (Hugging Face's Rust library
// through N-API), both installed as devDependencies of apps/bench. This project's tokenizer is not run
// here: the test compares it with what this script writes. Refuses to write when the two disagree.
//
//   node packages/tokenizer/test/make-qwen3-corpus-checksums.mjs      (about 30 s)
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';

const FIXTURES = new URL('./fixtures/', import.meta.url);
const require = createRequire(import.meta.url);
const read = (name) => {
  const bytes = readFileSync(new URL(name, FIXTURES));
  return name.endsWith('.gz') ? gunzipSync(bytes) : bytes;
};
// The installed version, from the package.json the resolver would find (not every package exports it).
const version = (name) => {
  for (const dir of require.resolve.paths(name) ?? []) {
    if (existsSync(join(dir, name, 'package.json')))
      return JSON.parse(readFileSync(join(dir, name, 'package.json'), 'utf8')).version;
  }
  throw new Error(`${name} is not installed (npm ci installs it with apps/bench)`);
};

// The corpora as corpus.test.ts names them (helpers.ts CORPORA), with the committed gzipped copies.
const CORPORA = {
  'corpora/tinyshakespeare/input.txt': 'corpora/tinyshakespeare.txt.gz',
  'corpora/wikitext-2-raw/wiki.test.nonblank.raw': 'corpora/wikitext-2-test-nonblank.txt.gz',
};

const tokenizerJson = read('qwen3/tokenizer.json.gz').toString('utf8');
const tokenizerConfig = JSON.parse(read('qwen3/tokenizer_config.json').toString('utf8'));
const { Tokenizer: HfJs } = await import('@huggingface/tokenizers');
const { Tokenizer: HfRust } = require('tokenizers');
const js = new HfJs(JSON.parse(tokenizerJson), tokenizerConfig);
const rust = HfRust.fromString(tokenizerJson);

const sha256 = (bytes) => createHash('sha256').update(bytes).digest('hex');
const idsSha256 = (ids) => sha256(new Uint8Array(Uint32Array.from(ids).buffer));

const corpora = {};
for (const [corpus, file] of Object.entries(CORPORA)) {
  const bytes = read(file);
  const text = bytes.toString('utf8');
  const a = js.encode(text, { add_special_tokens: false }).ids;
  const b = (await rust.encode(text, null, { addSpecialTokens: false })).getIds();
  const first = a.findIndex((id, i) => id !== b[i]);
  if (a.length !== b.length || first !== -1) {
    throw new Error(
      `${corpus}: @huggingface/tokenizers and tokenizers disagree (${a.length} vs ${b.length} ids; first difference at ${first})`,
    );
  }
  // Decoding must give the text back, NFC-normalised (Qwen's normalizer), or the ids mean something else.
  if (js.decode(a) !== text.normalize('NFC')) throw new Error(`${corpus}: @huggingface/tokenizers does not round-trip`);
  corpora[corpus] = {
    bytes: bytes.length,
    sha256_file: sha256(bytes),
    qwen3: { n_tokens: a.length, sha256_uint32le: idsSha256(a), first_256: a.slice(0, 256) },
  };
  console.log(`${corpus}: ${a.length} ids, both libraries agree`);
}

const out = {
  note: 'ids hashed as uint32 little-endian; whole file encoded as ONE string (no per-line splitting); no special tokens added. Made by test/make-qwen3-corpus-checksums.mjs',
  made_with: {
    node: process.version,
    '@huggingface/tokenizers': version('@huggingface/tokenizers'),
    tokenizers: version('tokenizers'),
    agree: true,
  },
  corpora,
};
writeFileSync(new URL('qwen3_corpus_checksums.json', FIXTURES), `${JSON.stringify(out, null, 1)}\n`);
console.log('wrote test/fixtures/qwen3_corpus_checksums.json');
