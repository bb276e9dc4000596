/**
 * Fixture access for the tests. Everything the tests need is committed under test/fixtures
 * (see PROVENANCE.md), gzipped where large, so a fresh clone passes without ../shared. The one
 * exception is the Llama-2 tokenizer.model (Meta's licence): read from ../shared (llama2ModelBytes).
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { gpt2FromFiles, tokenizerFromJson, type Tokenizer } from '../src/index.js';
import { skipUnlessCI } from '../../../tools/test-env.mjs';

export const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), 'fixtures');
const REPO_ROOT = resolve(FIXTURES, '../../../..');
/** ../shared relative to the repository root (absent on CI machines without it). */
export const SHARED = resolve(REPO_ROOT, '../shared');

export function fixturePath(name: string): string {
  return join(FIXTURES, name);
}

export function readText(name: string): string {
  const raw = readFileSync(fixturePath(name));
  return (name.endsWith('.gz') ? gunzipSync(raw) : raw).toString('utf8');
}

export function readJson<T = unknown>(name: string): T {
  return JSON.parse(readText(name)) as T;
}

export interface FixtureCase {
  name: string;
  text: string;
  ids: number[];
  tokens?: string[];
  pieces?: string[];
  ids_allow_special?: number[];
}

export function fixtureCases(file: string): FixtureCase[] {
  return readJson<{ cases: FixtureCase[] }>(file).cases;
}

const cache = new Map<string, Tokenizer>();
function memo(key: string, make: () => Tokenizer): Tokenizer {
  let t = cache.get(key);
  if (t === undefined) {
    t = make();
    cache.set(key, t);
  }
  return t;
}

export const gpt2 = (): Tokenizer =>
  memo('gpt2', () => gpt2FromFiles(readText('gpt2/encoder.json.gz'), readText('gpt2/vocab.bpe.gz')));
export const neox = (): Tokenizer => memo('neox', () => tokenizerFromJson(readText('gpt-neox-20b/tokenizer.json.gz')));
export const qwen = (): Tokenizer =>
  memo('qwen', () =>
    tokenizerFromJson(readText('qwen3/tokenizer.json.gz'), {
      tokenizerConfig: readText('qwen3/tokenizer_config.json'),
    }),
  );

export const CORPORA: Record<string, string> = {
  'corpora/tinyshakespeare/input.txt': 'corpora/tinyshakespeare.txt.gz',
  'corpora/wikitext-2-raw/wiki.test.nonblank.raw': 'corpora/wikitext-2-test-nonblank.txt.gz',
};

export const LLAMA2_MODEL = join(SHARED, 'data/tokenizers/llama2-spm/tokenizer.model');

/**
 * The Llama-2 tokenizer.model from ../shared, or null when the Llama-2 tests must skip (`label` names
 * them in the printed reason). Meta's licence keeps the model out of the repository, so without
 * ../shared they skip, under CI too, with a reason that names ../shared. With ../shared present they
 * must run: under CI a missing model then fails the file (MissingTestToolError) instead of skipping.
 */
export function llama2ModelBytes(label: string): Uint8Array | null {
  if (!existsSync(SHARED)) {
    console.warn(
      `[${label}] skipping: ${SHARED} (../shared next to the checkout) not found; the Meta-licensed Llama-2 tokenizer.model is read only from there, never committed`,
    );
    return null;
  }
  const missing = existsSync(LLAMA2_MODEL) ? null : `${LLAMA2_MODEL} not found although ${SHARED} (../shared) exists`;
  return skipUnlessCI(label, missing) ? null : new Uint8Array(readFileSync(LLAMA2_MODEL));
}

/** Where files are looked for: test/fixtures first, then ../shared (URL forms for `readFirst`). */
export const FIXTURES_URL = new URL('./fixtures/', import.meta.url);
export const SHARED_URL = new URL('../../../../shared/', import.meta.url);

/** The bytes of the first candidate that exists (`.gz` files gunzipped), or null when none does. */
export function readFirst(candidates: URL[]): Uint8Array | null {
  for (const url of candidates) {
    const path = fileURLToPath(url);
    if (!existsSync(path)) continue;
    const bytes = readFileSync(path);
    return new Uint8Array(path.endsWith('.gz') ? gunzipSync(bytes) : bytes);
  }
  return null;
}
