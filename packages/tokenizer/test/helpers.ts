/**
 * Fixture access for the tests. Everything the tests need is committed under test/fixtures
 * (see PROVENANCE.md), gzipped where large, so a fresh clone passes without ../shared. The one
 * exception is the Llama-2 tokenizer.model (Meta's licence): read from ../shared when present.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { gpt2FromFiles, tokenizerFromJson, type Tokenizer } from '../src/index.js';

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

export const gpt2 = (): Tokenizer => memo('gpt2', () => gpt2FromFiles(readText('gpt2/encoder.json.gz'), readText('gpt2/vocab.bpe.gz')));
export const neox = (): Tokenizer => memo('neox', () => tokenizerFromJson(readText('gpt-neox-20b/tokenizer.json.gz')));
export const qwen = (): Tokenizer =>
  memo('qwen', () => tokenizerFromJson(readText('qwen3/tokenizer.json.gz'), { tokenizerConfig: readText('qwen3/tokenizer_config.json') }));

export const CORPORA: Record<string, string> = {
  'corpora/tinyshakespeare/input.txt': 'corpora/tinyshakespeare.txt.gz',
  'corpora/wikitext-2-raw/wiki.test.nonblank.raw': 'corpora/wikitext-2-test-nonblank.txt.gz',
};

/** The Llama-2 tokenizer.model from ../shared, or null (tests then skip with the reason printed). */
export function llama2ModelPath(): string | null {
  const p = join(SHARED, 'data/tokenizers/llama2-spm/tokenizer.model');
  return existsSync(p) ? p : null;
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
