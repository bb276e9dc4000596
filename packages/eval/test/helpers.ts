/** Test doubles: a byte-level encoder (one token per UTF-8 byte) and scorers with chosen answers. */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { referenceScorer, type Scorer } from '../src/scorer.js';
import type { TaskContext } from '../src/tasks/types.js';

export const FIXTURES = fileURLToPath(new URL('./fixtures/', import.meta.url));

export function fixture(path: string): string {
  return readFileSync(`${FIXTURES}${path}`, 'utf8');
}

export const bytes = {
  encode: (text: string) => [...new TextEncoder().encode(text)],
  decode: (ids: readonly number[]) => new TextDecoder().decode(new Uint8Array(ids)),
};

/** Logits over 256 byte tokens: `favoured(fed)` gets `boost`, every other byte 0. */
export function favouring(favoured: (fed: readonly number[]) => number, boost = 2): Scorer {
  return referenceScorer(
    (fed) => {
      const logits = new Float64Array(256);
      logits[favoured(fed)] = boost;
      return logits;
    },
    { maxLength: 4096 },
  );
}

/** A context for tasks over bytes, end-of-text stand-in 0. */
export function byteContext(scorer: Scorer): TaskContext {
  return { scorer, encoder: bytes, prefixToken: 0 };
}
