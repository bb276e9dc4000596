/**
 * The tokenizer.json pipeline as one Tokenizer: added tokens on the raw text, normalizer,
 * added tokens on the normalized text, pre-tokenizer, BPE model; and the decoder back. GPT-2's
 * encoder.json + vocab.bpe and the byte-level tokenizer are configurations of the same pipeline.
 */
import { AddedTokenMatcher, type AddedToken } from './added-tokens.js';
import type { BpeModel } from './bpe.js';
import { CHAR_TO_BYTE } from './byte-level.js';
import type { TokenDecoder } from './decoders.js';
import { TokenizerError } from './errors.js';
import { ByteStreamDecoder, WindowDecoder } from './incremental.js';
import type { Normalizer } from './normalizers.js';
import type { PreTokenizer } from './pre-tokenizers.js';
import type { DecodeOptions, EncodeOptions, IncrementalDecoder, SpecialsMode, Tokenizer } from './types.js';
import { wellFormed } from './unicode.js';

export interface SpecialIds {
  bosId: number | null;
  eosId: number | null;
  padId: number | null;
  unkId: number | null;
}

export interface PipelineParts {
  kind: string;
  normalizer: Normalizer | null;
  preTokenizer: PreTokenizer;
  model: BpeModel;
  addedTokens: AddedToken[];
  decoder: TokenDecoder;
  /** What `specials: 'default'` means for this format. */
  matchSpecialsByDefault: boolean;
}

const utf8 = new TextDecoder('utf-8');

export class PipelineTokenizer implements Tokenizer {
  readonly kind: string;
  readonly vocabSize: number;
  bosId: number | null = null;
  eosId: number | null = null;
  padId: number | null = null;
  unkId: number | null = null;
  private readonly parts: PipelineParts;
  private readonly rawMatcher: AddedTokenMatcher;
  private readonly normalizedMatcher: AddedTokenMatcher;
  private readonly tokens: (string | undefined)[];
  private readonly added = new Map<string, number>();
  private readonly special: Uint8Array;
  // Byte-level decoding: the bytes of id k are bytes[starts[k], starts[k] + lengths[k]).
  private readonly bytes: Uint8Array | null = null;
  private readonly starts: Int32Array | null = null;
  private readonly lengths: Int32Array | null = null;

  constructor(parts: PipelineParts) {
    this.parts = parts;
    this.kind = parts.kind;
    let maxId = parts.model.tokens.length - 1;
    for (const t of parts.addedTokens) if (t.id > maxId) maxId = t.id;
    this.vocabSize = maxId + 1;
    this.tokens = parts.model.tokens.slice();
    this.tokens.length = this.vocabSize;
    this.special = new Uint8Array(this.vocabSize);
    for (const t of parts.addedTokens) {
      this.tokens[t.id] = t.content;
      if (!this.added.has(t.content)) this.added.set(t.content, t.id);
      if (t.special) this.special[t.id] = 1;
    }
    const raw = parts.addedTokens.filter((t) => !t.normalized);
    const normalized = parts.addedTokens.filter((t) => t.normalized);
    this.rawMatcher = new AddedTokenMatcher(raw);
    const normalize = parts.normalizer ?? ((s: string) => s);
    this.normalizedMatcher = new AddedTokenMatcher(
      normalized,
      normalized.map((t) => normalize(t.content)),
    );
    if (parts.decoder.byteLevelOnly) {
      const table = buildByteTable(this.tokens);
      this.bytes = table.bytes;
      this.starts = table.starts;
      this.lengths = table.lengths;
    }
  }

  /** The BPE model's unk_token id, or -1. */
  get modelUnkId(): number {
    return this.parts.model.unkId;
  }

  private matchSpecials(mode: SpecialsMode | undefined): boolean {
    if (mode === undefined || mode === 'default') return this.parts.matchSpecialsByDefault;
    if (mode === 'all') return true;
    if (mode === 'none') return false;
    throw new TokenizerError(
      `encode: options.specials must be 'all', 'none' or 'default'; got ${JSON.stringify(mode)}`,
      { field: 'specials' },
    );
  }

  encode(text: string, options?: EncodeOptions): number[] {
    if (typeof text !== 'string')
      throw new TokenizerError(`encode: text must be a string; got ${typeof text}`, { field: 'text' });
    const matchSpecial = this.matchSpecials(options?.specials);
    const input = wellFormed(text);
    const out: number[] = [];
    const pushId = (id: number): void => {
      out.push(id);
    };
    this.rawMatcher.split(
      input,
      matchSpecial,
      (start, end) => {
        const segment = input.slice(start, end);
        const normalized = this.parts.normalizer === null ? segment : this.parts.normalizer(segment);
        this.normalizedMatcher.split(
          normalized,
          matchSpecial,
          (s, e) => this.encodePlain(normalized.slice(s, e), start === 0 && s === 0, out),
          pushId,
        );
      },
      pushId,
    );
    return out;
  }

  /** Pre-tokenizes one run of normalized text with no added tokens in it and encodes the pieces. */
  private encodePlain(text: string, first: boolean, out: number[]): void {
    const { preTokenizer, model } = this.parts;
    if (preTokenizer.scanner !== null) {
      preTokenizer.scanner(text, (start, end) => model.encodeRange(text, start, end, out));
    } else {
      preTokenizer.run(text, first, (piece) => model.encodePiece(piece, out));
    }
  }

  encodeBatch(texts: string[], options?: EncodeOptions): number[][] {
    return texts.map((t) => this.encode(t, options));
  }

  private checkId(id: number, position: number): void {
    if (!Number.isInteger(id) || id < 0 || id >= this.vocabSize || this.tokens[id] === undefined) {
      throw new TokenizerError(
        `decode: id ${id} at position ${position} is not in the vocabulary (valid ids: 0..${this.vocabSize - 1}${
          Number.isInteger(id) && id >= 0 && id < this.vocabSize ? '; this one has no token' : ''
        })`,
        { field: 'ids', offset: position },
      );
    }
  }

  decode(ids: ArrayLike<number>, options?: DecodeOptions): string {
    const skip = options?.skipSpecial === true;
    if (this.bytes !== null) {
      let total = 0;
      for (let k = 0; k < ids.length; k++) {
        this.checkId(ids[k], k);
        if (!(skip && this.special[ids[k]] === 1)) total += this.lengths![ids[k]];
      }
      const out = new Uint8Array(total);
      let at = 0;
      for (let k = 0; k < ids.length; k++) {
        const id = ids[k];
        if (skip && this.special[id] === 1) continue;
        const start = this.starts![id];
        const n = this.lengths![id];
        for (let j = 0; j < n; j++) out[at + j] = this.bytes[start + j];
        at += n;
      }
      return utf8.decode(out);
    }
    const tokens: string[] = [];
    for (let k = 0; k < ids.length; k++) {
      this.checkId(ids[k], k);
      if (!(skip && this.special[ids[k]] === 1)) tokens.push(this.tokens[ids[k]]!);
    }
    return this.parts.decoder.chain(tokens).join('');
  }

  tokenToId(token: string): number | undefined {
    return this.added.get(token) ?? this.parts.model.vocab.get(token);
  }

  idToToken(id: number): string | undefined {
    return Number.isInteger(id) && id >= 0 && id < this.vocabSize ? this.tokens[id] : undefined;
  }

  isSpecial(id: number): boolean {
    return Number.isInteger(id) && id >= 0 && id < this.vocabSize && this.special[id] === 1;
  }

  decoder(options?: DecodeOptions): IncrementalDecoder {
    const skip = options?.skipSpecial === true;
    if (this.bytes !== null) {
      let position = 0;
      return new ByteStreamDecoder((id) => {
        this.checkId(id, position++);
        if (skip && this.special[id] === 1) return null;
        return this.bytes!.subarray(this.starts![id], this.starts![id] + this.lengths![id]);
      });
    }
    return new WindowDecoder((ids) => this.decode(ids, options));
  }

  /** Sets bos/eos/pad/unk (done once by the loaders). */
  setSpecialIds(ids: SpecialIds): this {
    this.bosId = ids.bosId;
    this.eosId = ids.eosId;
    this.padId = ids.padId;
    this.unkId = ids.unkId;
    return this;
  }
}

const textEncoder = new TextEncoder();

/**
 * The bytes of every token under ByteLevel decoding, in one flat buffer (a Uint8Array per token
 * would cost ~150 bytes of overhead each: 20+ MB for Qwen's 151k tokens).
 */
function buildByteTable(tokens: readonly (string | undefined)[]): {
  bytes: Uint8Array;
  starts: Int32Array;
  lengths: Int32Array;
} {
  const lengths = new Int32Array(tokens.length).fill(-1);
  const starts = new Int32Array(tokens.length);
  let bytes = new Uint8Array(tokens.length * 8 + 16);
  let total = 0;
  for (let id = 0; id < tokens.length; id++) {
    const token = tokens[id];
    if (token === undefined) continue;
    if (bytes.length - total < token.length * 3) {
      const grown = new Uint8Array((bytes.length + token.length * 3) * 2);
      grown.set(bytes.subarray(0, total));
      bytes = grown;
    }
    let n = 0;
    for (; n < token.length; n++) {
      const c = token.charCodeAt(n);
      const b = c < CHAR_TO_BYTE.length ? CHAR_TO_BYTE[c] : -1;
      if (b < 0) break;
      bytes[total + n] = b;
    }
    // A character outside the byte alphabet: the token is literal text (HF's ByteLevel decoder).
    if (n < token.length) n = textEncoder.encodeInto(token, bytes.subarray(total)).written;
    starts[id] = total;
    lengths[id] = n;
    total += n;
  }
  return { bytes: bytes.slice(0, total), starts, lengths };
}
