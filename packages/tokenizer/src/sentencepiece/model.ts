/**
 * A SentencePiece `.model` as a `Tokenizer`: the pieces table, the normalizer, and the BPE or
 * Unigram encoder, glued the way SentencePieceProcessor glues them (normalize the whole text, run
 * the model, then turn unknown pieces into byte pieces or merge runs of `<unk>`).
 */

import { TokenizerError } from '../errors.js';
import type { DecodeOptions, EncodeOptions, IncrementalDecoder, SpecialsMode, Tokenizer } from '../types.js';
import { BpeEncoder } from './bpe.js';
import { SentencePieceDecoder, checkId, type DecodeTables } from './decoder.js';
import { Normalizer } from './normalizer.js';
import { ModelType, PieceType, parseModelProto, type ModelProto } from './proto.js';
import { ByteTrie } from './trie.js';
import { UnigramEncoder } from './unigram.js';

const encoder = new TextEncoder();
const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
const BYTE_PIECE = /^<0x([0-9A-F]{2})>$/;

interface Encoder {
  encode(text: Uint8Array, emit: (id: number, start: number, end: number) => void): void;
}

export class SentencePieceTokenizer implements Tokenizer {
  readonly kind: 'sentencepiece-bpe' | 'sentencepiece-unigram';
  readonly vocabSize: number;
  readonly bosId: number | null;
  readonly eosId: number | null;
  readonly padId: number | null;
  readonly unkId: number;

  private readonly pieces: string[];
  private readonly types: Uint8Array;
  private readonly pieceIds = new Map<string, number>();
  /** Pieces the encoder never produces from text (control, unknown, byte), by text. */
  private readonly reserved = new Map<string, number>();
  /** Id of `<0xXX>` per byte, or -1 (then the byte falls back to `<unk>`, as in SentencePiece). */
  private readonly byteIds = new Int32Array(256).fill(-1);
  private readonly byteFallback: boolean;
  private readonly normalizer: Normalizer;
  private readonly model: Encoder;
  private readonly tables: DecodeTables;
  /** Control pieces, longest first, for `specials: 'all'`. */
  private readonly controls: string[];
  private readonly controlFirstChars: Set<number>;

  // Output state of the encode in progress (fields so the emit callback is allocated once).
  private out: number[] = [];
  private prevUnk = false;
  private normalized: Uint8Array = new Uint8Array(0);
  private readonly emit = (id: number, start: number, end: number): void => {
    if (id !== this.unkId) {
      this.out.push(id);
      this.prevUnk = false;
    } else if (this.byteFallback) {
      for (let i = start; i < end; i++) {
        const b = this.byteIds[this.normalized[i]];
        this.out.push(b >= 0 ? b : this.unkId);
      }
    } else if (!this.prevUnk) {
      // A run of unknown characters is one `<unk>` (SentencePiece merges adjacent unknown pieces).
      this.out.push(id);
      this.prevUnk = true;
    }
  };

  constructor(proto: ModelProto) {
    const { pieces: protoPieces, trainerSpec: ts, normalizerSpec: ns } = proto;
    const n = protoPieces.length;
    this.vocabSize = n;
    this.pieces = new Array<string>(n);
    this.types = new Uint8Array(n);
    const scores = new Float32Array(n);
    const trie = new ByteTrie(n * 4);
    let userDefined: ByteTrie | null = null;
    let unkId = -1;
    let splitBefore = ns.escapeWhitespaces && !ts.treatWhitespaceAsSuffix;
    let splitAfter = ns.escapeWhitespaces && ts.treatWhitespaceAsSuffix;
    this.byteFallback = ts.byteFallback;
    const surfaces = new Array<string>(n);
    const startsWithSpace = new Uint8Array(n);
    const byteValues = new Uint8Array(n);
    const controls: string[] = [];

    for (let id = 0; id < n; id++) {
      const { piece, score, type } = protoPieces[id];
      const field = `pieces[${id}]`;
      if (this.pieceIds.has(piece)) {
        throw new TokenizerError(
          `sentencepiece .model: ${field} "${piece}" repeats pieces[${this.pieceIds.get(piece)}]`,
          { field },
        );
      }
      this.pieceIds.set(piece, id);
      this.pieces[id] = piece;
      this.types[id] = type;
      scores[id] = score;
      surfaces[id] = piece.replaceAll('\u2581', ' ');
      startsWithSpace[id] = piece.startsWith('\u2581') ? 1 : 0;
      const bytes = encoder.encode(piece);
      if (type === PieceType.NORMAL || type === PieceType.USER_DEFINED || type === PieceType.UNUSED) {
        trie.insert(bytes, id);
        if (type === PieceType.USER_DEFINED) (userDefined ??= new ByteTrie(64)).insert(bytes, id);
        // Word-by-word BPE is only exact when no piece could join a word to the space after/before it.
        if (/[^\u2581]\u2581/u.test(piece)) splitBefore = false;
        if (/\u2581[^\u2581]/u.test(piece)) splitAfter = false;
      } else {
        this.reserved.set(piece, id);
        if (type === PieceType.CONTROL) controls.push(piece);
        if (type === PieceType.UNKNOWN) {
          if (unkId >= 0)
            throw new TokenizerError(
              `sentencepiece .model: ${field} is a second UNKNOWN piece (first: pieces[${unkId}])`,
              { field: `${field}.type` },
            );
          unkId = id;
        }
        if (type === PieceType.BYTE) {
          if (!ts.byteFallback)
            throw new TokenizerError(
              `sentencepiece .model: ${field} is a BYTE piece but trainer_spec.byte_fallback is false`,
              { field: `${field}.type` },
            );
          const m = BYTE_PIECE.exec(piece);
          if (m === null)
            throw new TokenizerError(
              `sentencepiece .model: ${field} is a BYTE piece but "${piece}" is not of the form <0xXX>`,
              { field: `${field}.piece` },
            );
          const b = parseInt(m[1], 16);
          byteValues[id] = b;
          if (this.byteIds[b] < 0) this.byteIds[b] = id;
        }
      }
    }
    if (unkId < 0)
      throw new TokenizerError('sentencepiece .model: no piece has type UNKNOWN (<unk> is required)', {
        field: 'pieces',
      });
    this.unkId = unkId;
    const idOrNull = (id: number): number | null => (id >= 0 && id < n ? id : null);
    this.bosId = idOrNull(ts.bosId);
    this.eosId = idOrNull(ts.eosId);
    this.padId = idOrNull(ts.padId);
    this.controls = controls.sort((a, b) => b.length - a.length);
    this.controlFirstChars = new Set(controls.map((c) => c.charCodeAt(0)));

    this.normalizer = new Normalizer({ spec: ns, userDefined, treatWhitespaceAsSuffix: ts.treatWhitespaceAsSuffix });
    if (ts.modelType === ModelType.UNIGRAM) {
      this.kind = 'sentencepiece-unigram';
      this.model = new UnigramEncoder({ trie, scores, types: this.types, unkId });
    } else if (ts.modelType === ModelType.BPE) {
      this.kind = 'sentencepiece-bpe';
      this.model = new BpeEncoder({
        trie,
        scores,
        types: this.types,
        unkId,
        userDefined,
        reservedId: (text, start, end) => this.reserved.get(strictUtf8.decode(text.subarray(start, end))) ?? -1,
        splitBeforeSpace: splitBefore,
        splitAfterSpace: splitAfter,
      });
    } else {
      const name =
        ts.modelType === ModelType.WORD ? 'WORD' : ts.modelType === ModelType.CHAR ? 'CHAR' : String(ts.modelType);
      throw new TokenizerError(
        `sentencepiece .model: trainer_spec.model_type ${name} is not supported (only UNIGRAM and BPE)`,
        { field: 'trainer_spec.model_type' },
      );
    }
    this.tables = {
      size: n,
      types: this.types,
      surfaces,
      pieces: this.pieces,
      startsWithSpace,
      byteValues,
      unkSurface: ts.unkSurface,
      stripLeadingSpace: ns.addDummyPrefix || ns.removeExtraWhitespaces,
      removeExtraWhitespaces: ns.removeExtraWhitespaces,
    };
  }

  /**
   * Ids of `text`, exactly as SentencePiece's `encode` (no BOS/EOS). With `specials: 'all'`, control
   * pieces written in the text (`<s>`, `</s>`) become their ids and each stretch of text between
   * them is encoded as a text of its own (so it gets its own dummy-prefix space, like HF's legacy
   * Llama tokenizer); decode() mirrors that, so decode(encode(x, { specials: 'all' })) = x.
   * USER_DEFINED pieces are always matched, whatever `specials` says.
   */
  encode(text: string, options?: EncodeOptions): number[] {
    if (typeof text !== 'string')
      throw new TokenizerError(`sentencepiece encode: expected a string, got ${typeof text}`, { field: 'text' });
    const specials: SpecialsMode = options?.specials ?? 'default';
    if (specials !== 'all' && specials !== 'none' && specials !== 'default') {
      throw new TokenizerError(
        `sentencepiece encode: specials must be 'all', 'none' or 'default', got ${String(specials)}`,
        { field: 'specials' },
      );
    }
    const out: number[] = [];
    // .model files have no "added tokens": by default control-piece text like "<s>" is plain text,
    // which is what SentencePiece itself does.
    if (specials !== 'all' || this.controls.length === 0) {
      this.encodeText(text, out);
      return out;
    }
    // Leftmost-longest control pieces; the text between them is encoded as separate texts.
    let segStart = 0;
    for (let i = 0; i < text.length; ) {
      const hit = this.controlAt(text, i);
      if (hit === null) {
        i++;
        continue;
      }
      this.encodeText(text.slice(segStart, i), out);
      out.push(this.pieceIds.get(hit)!);
      i += hit.length;
      segStart = i;
    }
    this.encodeText(text.slice(segStart), out);
    return out;
  }

  encodeBatch(texts: string[], options?: EncodeOptions): number[][] {
    return texts.map((t) => this.encode(t, options));
  }

  decode(ids: ArrayLike<number>, options?: DecodeOptions): string {
    const d = this.decoder(options);
    const parts: string[] = [];
    for (let i = 0; i < ids.length; i++) parts.push(d.push(ids[i]));
    parts.push(d.flush());
    return parts.join('');
  }

  decoder(options?: DecodeOptions): IncrementalDecoder {
    return new SentencePieceDecoder(this.tables, options?.skipSpecial ?? false);
  }

  tokenToId(token: string): number | undefined {
    return this.pieceIds.get(token);
  }

  idToToken(id: number): string | undefined {
    return Number.isInteger(id) && id >= 0 && id < this.vocabSize ? this.pieces[id] : undefined;
  }

  isSpecial(id: number): boolean {
    return Number.isInteger(id) && id >= 0 && id < this.vocabSize && this.types[id] === PieceType.CONTROL;
  }

  /** The piece type (1 NORMAL … 6 BYTE) of `id`. */
  pieceType(id: number): number {
    checkId(this.tables, id, 'id');
    return this.types[id];
  }

  /** The normalized text the model segments, with `▁` for spaces (for tests and debugging). */
  normalize(text: string): string {
    return strictUtf8.decode(this.normalizer.normalize(encoder.encode(text)));
  }

  /** Lone surrogates cannot be UTF-8: TextEncoder turns each into U+FFFD first, and so do we. */
  private encodeText(text: string, out: number[]): void {
    if (text.length === 0) return;
    const normalized = this.normalizer.normalize(encoder.encode(text));
    if (normalized.length === 0) return;
    this.out = out;
    this.prevUnk = false;
    this.normalized = normalized;
    try {
      this.model.encode(normalized, this.emit);
    } finally {
      this.out = [];
      this.normalized = new Uint8Array(0);
    }
  }

  private controlAt(text: string, i: number): string | null {
    if (!this.controlFirstChars.has(text.charCodeAt(i))) return null;
    for (const c of this.controls) if (text.startsWith(c, i)) return c;
    return null;
  }
}

/** Loads a SentencePiece `.model` file (its bytes). Browser-safe: no Node APIs. */
export function sentencePieceFromModel(bytes: Uint8Array): SentencePieceTokenizer {
  return new SentencePieceTokenizer(parseModelProto(bytes));
}
