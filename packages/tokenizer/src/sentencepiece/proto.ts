/**
 * A minimal protobuf wire-format reader for SentencePiece's `ModelProto` (sentencepiece_model.proto).
 *
 * Only the fields that change encoding or decoding are kept; every other field is skipped by wire
 * type, so models written by newer SentencePiece versions (with fields we do not know) still load.
 * The schema is proto2, so an absent field means the declared default, which we fill in here.
 * Errors name the byte offset and the field path, because a truncated download is the usual cause
 * and "where" is what tells it apart from a wrong file.
 */

import { TokenizerError } from '../errors.js';

/** `SentencePiece.Type` values (plain constants rather than enums so isolated-module builds inline nothing). */
export const PieceType = { NORMAL: 1, UNKNOWN: 2, CONTROL: 3, USER_DEFINED: 4, UNUSED: 5, BYTE: 6 } as const;
export type PieceType = (typeof PieceType)[keyof typeof PieceType];

/** `TrainerSpec.ModelType` values. */
export const ModelType = { UNIGRAM: 1, BPE: 2, WORD: 3, CHAR: 4 } as const;

export interface PieceProto {
  piece: string;
  score: number;
  type: PieceType;
}

export interface TrainerSpecProto {
  modelType: number;
  vocabSize: number;
  byteFallback: boolean;
  treatWhitespaceAsSuffix: boolean;
  splitByWhitespace: boolean;
  unkId: number;
  bosId: number;
  eosId: number;
  padId: number;
  unkPiece: string;
  bosPiece: string;
  eosPiece: string;
  padPiece: string;
  /** What decode prints for `<unk>` (proto default " ⁇ "). */
  unkSurface: string;
}

export interface NormalizerSpecProto {
  name: string;
  precompiledCharsmap: Uint8Array;
  addDummyPrefix: boolean;
  removeExtraWhitespaces: boolean;
  escapeWhitespaces: boolean;
}

export interface ModelProto {
  pieces: PieceProto[];
  trainerSpec: TrainerSpecProto;
  normalizerSpec: NormalizerSpecProto;
}

const WIRE_VARINT = 0;
const WIRE_FIXED64 = 1;
const WIRE_LEN = 2;
const WIRE_FIXED32 = 5;

// ignoreBOM: a piece may be U+FEFF itself (Llama id 30143), which a default TextDecoder would drop.
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

function fail(message: string, offset: number, field: string): never {
  throw new TokenizerError(`sentencepiece .model: ${message} at byte ${offset} (field ${field})`, {
    offset,
    field,
  });
}

/** Cursor over one message's bytes; `field` is the path used in error messages. */
class Reader {
  pos: number;
  constructor(
    readonly bytes: Uint8Array,
    start: number,
    readonly end: number,
    readonly view: DataView,
  ) {
    this.pos = start;
  }

  /**
   * Reads a varint and returns its low 32 bits as an unsigned number. That is all an int32, enum or
   * bool needs: protobuf writes a negative int32 (pad_id = -1) as a 10-byte varint whose low 32
   * bits are the two's complement, so `| 0` on the result gives the signed value back.
   */
  varint(field: string): number {
    const start = this.pos;
    let lo = 0;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) fail('truncated varint', start, field);
      const b = this.bytes[this.pos++];
      if (i < 4) lo |= (b & 0x7f) << (7 * i);
      else if (i === 4) lo |= (b & 0x0f) << 28;
      if ((b & 0x80) === 0) return lo >>> 0;
    }
    fail('varint longer than 10 bytes', start, field);
  }

  tag(field: string): { num: number; wire: number; at: number } {
    const at = this.pos;
    const key = this.varint(field);
    const num = key >>> 3;
    if (num === 0) fail('field number 0 is invalid', at, field);
    return { num, wire: key & 7, at };
  }

  /** Returns [start, end) of a length-delimited payload and moves past it. */
  lengthDelimited(field: string, wire: number, at: number): [number, number] {
    if (wire !== WIRE_LEN) fail(`wire type ${wire} where length-delimited (2) was expected`, at, field);
    const lenAt = this.pos;
    const len = this.varint(field);
    const start = this.pos;
    if (len > this.end - start)
      fail(`length ${len} runs past the end of its message (${this.end - start} bytes left)`, lenAt, field);
    this.pos = start + len;
    return [start, start + len];
  }

  string(field: string, wire: number, at: number): string {
    const [s, e] = this.lengthDelimited(field, wire, at);
    try {
      return utf8.decode(this.bytes.subarray(s, e));
    } catch {
      fail('string is not valid UTF-8', s, field);
    }
  }

  float(field: string, wire: number, at: number): number {
    if (wire !== WIRE_FIXED32) fail(`wire type ${wire} where a float (5) was expected`, at, field);
    if (this.end - this.pos < 4) fail('truncated float', this.pos, field);
    const v = this.view.getFloat32(this.pos, true);
    this.pos += 4;
    return v;
  }

  int(field: string, wire: number, at: number): number {
    if (wire !== WIRE_VARINT) fail(`wire type ${wire} where a varint (0) was expected`, at, field);
    return this.varint(field) | 0;
  }

  bool(field: string, wire: number, at: number): boolean {
    return this.int(field, wire, at) !== 0;
  }

  /** Skips a field we do not use, so unknown or newer fields never break loading. */
  skip(field: string, wire: number, at: number): void {
    switch (wire) {
      case WIRE_VARINT:
        this.varint(field);
        return;
      case WIRE_FIXED64:
        if (this.end - this.pos < 8) fail('truncated fixed64', this.pos, field);
        this.pos += 8;
        return;
      case WIRE_LEN:
        this.lengthDelimited(field, wire, at);
        return;
      case WIRE_FIXED32:
        if (this.end - this.pos < 4) fail('truncated fixed32', this.pos, field);
        this.pos += 4;
        return;
      default:
        // Groups (3/4) never appear in sentencepiece_model.proto; 6/7 are not wire types at all.
        fail(`unsupported wire type ${wire}`, at, field);
    }
  }
}

function readPiece(r: Reader, path: string): PieceProto {
  const out: PieceProto = { piece: '', score: 0, type: PieceType.NORMAL };
  let sawPiece = false;
  while (r.pos < r.end) {
    const { num, wire, at } = r.tag(path);
    switch (num) {
      case 1:
        out.piece = r.string(`${path}.piece`, wire, at);
        sawPiece = true;
        break;
      case 2:
        out.score = r.float(`${path}.score`, wire, at);
        break;
      case 3: {
        const t = r.int(`${path}.type`, wire, at);
        if (t < PieceType.NORMAL || t > PieceType.BYTE) fail(`unknown piece type ${t}`, at, `${path}.type`);
        out.type = t as PieceType;
        break;
      }
      default:
        r.skip(`${path}.#${num}`, wire, at);
    }
  }
  if (!sawPiece || out.piece === '') fail('piece is missing or empty', r.end, `${path}.piece`);
  return out;
}

function readTrainerSpec(r: Reader): TrainerSpecProto {
  const s: TrainerSpecProto = {
    modelType: ModelType.UNIGRAM,
    vocabSize: 8000,
    byteFallback: false,
    treatWhitespaceAsSuffix: false,
    splitByWhitespace: true,
    unkId: 0,
    bosId: 1,
    eosId: 2,
    padId: -1,
    unkPiece: '<unk>',
    bosPiece: '<s>',
    eosPiece: '</s>',
    padPiece: '<pad>',
    unkSurface: ' \u2047 ',
  };
  const p = 'trainer_spec';
  while (r.pos < r.end) {
    const { num, wire, at } = r.tag(p);
    switch (num) {
      case 3:
        s.modelType = r.int(`${p}.model_type`, wire, at);
        break;
      case 4:
        s.vocabSize = r.int(`${p}.vocab_size`, wire, at);
        break;
      case 22:
        s.splitByWhitespace = r.bool(`${p}.split_by_whitespace`, wire, at);
        break;
      case 24:
        s.treatWhitespaceAsSuffix = r.bool(`${p}.treat_whitespace_as_suffix`, wire, at);
        break;
      case 35:
        s.byteFallback = r.bool(`${p}.byte_fallback`, wire, at);
        break;
      case 40:
        s.unkId = r.int(`${p}.unk_id`, wire, at);
        break;
      case 41:
        s.bosId = r.int(`${p}.bos_id`, wire, at);
        break;
      case 42:
        s.eosId = r.int(`${p}.eos_id`, wire, at);
        break;
      case 43:
        s.padId = r.int(`${p}.pad_id`, wire, at);
        break;
      case 44:
        s.unkSurface = r.string(`${p}.unk_surface`, wire, at);
        break;
      case 45:
        s.unkPiece = r.string(`${p}.unk_piece`, wire, at);
        break;
      case 46:
        s.bosPiece = r.string(`${p}.bos_piece`, wire, at);
        break;
      case 47:
        s.eosPiece = r.string(`${p}.eos_piece`, wire, at);
        break;
      case 48:
        s.padPiece = r.string(`${p}.pad_piece`, wire, at);
        break;
      default:
        r.skip(`${p}.#${num}`, wire, at);
    }
  }
  return s;
}

function readNormalizerSpec(r: Reader): NormalizerSpecProto {
  const s: NormalizerSpecProto = {
    name: '',
    precompiledCharsmap: new Uint8Array(0),
    addDummyPrefix: true,
    removeExtraWhitespaces: true,
    escapeWhitespaces: true,
  };
  const p = 'normalizer_spec';
  while (r.pos < r.end) {
    const { num, wire, at } = r.tag(p);
    switch (num) {
      case 1:
        s.name = r.string(`${p}.name`, wire, at);
        break;
      case 2: {
        const [a, b] = r.lengthDelimited(`${p}.precompiled_charsmap`, wire, at);
        s.precompiledCharsmap = r.bytes.subarray(a, b);
        break;
      }
      case 3:
        s.addDummyPrefix = r.bool(`${p}.add_dummy_prefix`, wire, at);
        break;
      case 4:
        s.removeExtraWhitespaces = r.bool(`${p}.remove_extra_whitespaces`, wire, at);
        break;
      case 5:
        s.escapeWhitespaces = r.bool(`${p}.escape_whitespaces`, wire, at);
        break;
      default:
        r.skip(`${p}.#${num}`, wire, at);
    }
  }
  return s;
}

/** Parses a serialized `ModelProto` (the bytes of a `.model` file). */
export function parseModelProto(bytes: Uint8Array): ModelProto {
  if (!(bytes instanceof Uint8Array)) {
    throw new TokenizerError('sentencepiece .model: expected the file bytes as a Uint8Array', { field: 'ModelProto' });
  }
  if (bytes.length === 0) fail('the file is empty', 0, 'ModelProto');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const r = new Reader(bytes, 0, bytes.length, view);
  const pieces: PieceProto[] = [];
  let trainerSpec: TrainerSpecProto | null = null;
  let normalizerSpec: NormalizerSpecProto | null = null;
  while (r.pos < r.end) {
    const { num, wire, at } = r.tag('ModelProto');
    if (num === 1) {
      const path = `pieces[${pieces.length}]`;
      const [s, e] = r.lengthDelimited(path, wire, at);
      pieces.push(readPiece(new Reader(bytes, s, e, view), path));
    } else if (num === 2) {
      const [s, e] = r.lengthDelimited('trainer_spec', wire, at);
      trainerSpec = readTrainerSpec(new Reader(bytes, s, e, view));
    } else if (num === 3) {
      const [s, e] = r.lengthDelimited('normalizer_spec', wire, at);
      normalizerSpec = readNormalizerSpec(new Reader(bytes, s, e, view));
    } else {
      // self_test_data (4), denormalizer_spec (5) and anything newer do not affect ids.
      r.skip(`ModelProto.#${num}`, wire, at);
    }
  }
  if (pieces.length === 0) fail('the model has no pieces (not a SentencePiece .model?)', bytes.length, 'pieces');
  return {
    pieces,
    trainerSpec: trainerSpec ?? readTrainerSpec(new Reader(bytes, 0, 0, view)),
    normalizerSpec: normalizerSpec ?? readNormalizerSpec(new Reader(bytes, 0, 0, view)),
  };
}
