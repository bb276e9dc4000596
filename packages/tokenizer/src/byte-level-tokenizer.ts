/**
 * The byte-level tokenizer of the `tiny` training preset: ids 0..255 are the UTF-8 bytes of the
 * text and 256 is `<|endoftext|>`. It is a real tokenizer.json (shipped as
 * `@dcformer/tokenizer/assets/byte-level/tokenizer.json`, loadable by HF `tokenizers` too) and
 * goes through the same code path as any other tokenizer.json.
 */
import asset from '../assets/byte-level/tokenizer.json';
import { pipelineFromJson } from './tokenizer-json.js';
import type { Tokenizer } from './types.js';

export const BYTE_LEVEL_EOS_ID = 256;

/**
 * A fresh copy of the byte-level tokenizer.json, e.g. to write into a checkpoint directory.
 *
 * @example
 * writeFileSync(join(checkpointDir, 'tokenizer.json'), JSON.stringify(byteLevelTokenizerJson()));
 */
export function byteLevelTokenizerJson(): Record<string, unknown> {
  return structuredClone(asset) as Record<string, unknown>;
}

let cached: Tokenizer | null = null;

/**
 * The byte-level tokenizer (kind 'byte-level', vocabSize 257, eosId 256).
 *
 * @example
 * const tok = byteLevelTokenizer();
 * tok.encode('hé'); // [104, 195, 169]
 */
export function byteLevelTokenizer(): Tokenizer {
  if (cached === null) {
    cached = pipelineFromJson(asset, 'byte-level').setSpecialIds({
      bosId: null,
      eosId: BYTE_LEVEL_EOS_ID,
      padId: null,
      unkId: null,
    });
  }
  return cached;
}
