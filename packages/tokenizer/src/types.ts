/**
 * The one interface every tokenizer format implements (tokenizer.json BPE, GPT-2 files,
 * SentencePiece, byte-level). Apps code against this, never against a format.
 */

/**
 * Whether *special* added tokens (tokenizer.json `special: true`, GPT-2's `<|endoftext|>`,
 * SentencePiece control pieces) are recognised when they appear literally in the text.
 * - `'all'`: matched, so `"<|endoftext|>"` in the text becomes its id;
 * - `'none'`: encoded as the plain text it is;
 * - `'default'`: the format's convention (tokenizer.json: matched; encoder.json+vocab.bpe and
 *   SentencePiece .model: plain text).
 * Non-special added tokens (e.g. GPT-NeoX's runs of spaces) are always matched.
 */
export type SpecialsMode = 'all' | 'none' | 'default';

export interface EncodeOptions {
  specials?: SpecialsMode;
}

export interface DecodeOptions {
  /** Drop special tokens (e.g. `<|endoftext|>`) from the output text. Default false. */
  skipSpecial?: boolean;
}

/**
 * Streaming decode for generation: push ids one at a time, get the text that is now certain.
 * Never emits half a UTF-8 character: bytes of an incomplete character wait for the next push;
 * `flush()` emits what is left (an incomplete tail becomes U+FFFD).
 */
export interface IncrementalDecoder {
  push(id: number): string;
  flush(): string;
}

export interface Tokenizer {
  /** 'bpe-tokenizer.json' | 'gpt2-files' | 'sentencepiece-bpe' | 'sentencepiece-unigram' | 'byte-level' */
  readonly kind: string;
  /** One more than the largest id (model vocab and added tokens together). */
  readonly vocabSize: number;
  readonly bosId: number | null;
  readonly eosId: number | null;
  readonly padId: number | null;
  readonly unkId: number | null;
  /** Text to ids. Never adds BOS/EOS (DCFormer convention). */
  encode(text: string, options?: EncodeOptions): number[];
  encodeBatch(texts: string[], options?: EncodeOptions): number[][];
  /** Ids to text. An id outside [0, vocabSize) or with no token is a TokenizerError. */
  decode(ids: ArrayLike<number>, options?: DecodeOptions): string;
  /** The token string in the format's own spelling (byte-level 'Ġworld', SentencePiece '▁world'). */
  tokenToId(token: string): number | undefined;
  idToToken(id: number): string | undefined;
  isSpecial(id: number): boolean;
  decoder(options?: DecodeOptions): IncrementalDecoder;
}
