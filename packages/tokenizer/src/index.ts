/**
 * @dcformer/tokenizer, browser-safe entry: build tokenizers from file contents you already have.
 * Node users who want to load from a path import `@dcformer/tokenizer/node`.
 */
export type { DecodeOptions, EncodeOptions, IncrementalDecoder, SpecialsMode, Tokenizer } from './types.js';
export { TokenizerError, type TokenizerErrorDetails } from './errors.js';
export { tokenizerFromJson, type TokenizerExtras } from './tokenizer-json.js';
export { gpt2FromFiles } from './gpt2-files.js';
export { sentencePieceFromModel } from './sentencepiece/index.js';
export { byteLevelTokenizer, byteLevelTokenizerJson, BYTE_LEVEL_EOS_ID } from './byte-level-tokenizer.js';
