/**
 * SentencePiece `.model` support: BPE with byte fallback (Llama) and Unigram (T5 / MaxText C4),
 * with the model's own normalizer (identity or nmt_nfkc). Plain TypeScript, no Node APIs.
 */

export { sentencePieceFromModel, SentencePieceTokenizer } from './model.js';
export { parseModelProto, PieceType, ModelType } from './proto.js';
export type { ModelProto, PieceProto, TrainerSpecProto, NormalizerSpecProto } from './proto.js';
