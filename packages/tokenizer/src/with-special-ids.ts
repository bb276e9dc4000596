/**
 * A Tokenizer seen through different bos/eos/pad/unk ids (from tokenizer_config.json next to a
 * SentencePiece model, whose own ids come from the model file). Everything else is delegated.
 */
import type { SpecialIds } from './pipeline.js';
import type { DecodeOptions, EncodeOptions, IncrementalDecoder, Tokenizer } from './types.js';

class SpecialIdsView implements Tokenizer {
  readonly kind: string;
  readonly vocabSize: number;
  readonly bosId: number | null;
  readonly eosId: number | null;
  readonly padId: number | null;
  readonly unkId: number | null;

  constructor(
    private readonly inner: Tokenizer,
    ids: SpecialIds,
  ) {
    this.kind = inner.kind;
    this.vocabSize = inner.vocabSize;
    this.bosId = ids.bosId;
    this.eosId = ids.eosId;
    this.padId = ids.padId;
    this.unkId = ids.unkId;
  }

  encode(text: string, options?: EncodeOptions): number[] {
    return this.inner.encode(text, options);
  }
  encodeBatch(texts: string[], options?: EncodeOptions): number[][] {
    return this.inner.encodeBatch(texts, options);
  }
  decode(ids: ArrayLike<number>, options?: DecodeOptions): string {
    return this.inner.decode(ids, options);
  }
  tokenToId(token: string): number | undefined {
    return this.inner.tokenToId(token);
  }
  idToToken(id: number): string | undefined {
    return this.inner.idToToken(id);
  }
  isSpecial(id: number): boolean {
    return this.inner.isSpecial(id);
  }
  decoder(options?: DecodeOptions): IncrementalDecoder {
    return this.inner.decoder(options);
  }
}

/** `tokenizer` itself when the ids already agree, else a view with `ids`. */
export function withSpecialIds(tokenizer: Tokenizer, ids: SpecialIds): Tokenizer {
  const same =
    tokenizer.bosId === ids.bosId &&
    tokenizer.eosId === ids.eosId &&
    tokenizer.padId === ids.padId &&
    tokenizer.unkId === ids.unkId;
  return same ? tokenizer : new SpecialIdsView(tokenizer, ids);
}
