/**
 * Ids to text, the way SentencePiece's Decode does it, one id at a time.
 *
 * - `▁` becomes ' '; the first piece loses one leading `▁` (the dummy prefix the encoder added),
 *   and with remove_extra_whitespaces every leading `▁` until some text has been produced.
 * - Runs of byte pieces (`<0xE4><0xBD><0xA0>`) are joined and read as UTF-8; a byte that does not
 *   start a complete valid character becomes U+FFFD and the reading resumes at the next byte.
 * - `<unk>` prints as the model's unk surface (" ⁇ " by default).
 * - Control pieces (`<s>`, `</s>`) print nothing with `skipSpecial`; otherwise they print as
 *   their piece text and start a new "sentence", so the next piece's dummy-prefix space is dropped
 *   again. That makes decode(encode(x, { specials: 'all' })) = x, as each text segment between
 *   control pieces is encoded on its own.
 *
 * The streaming decoder emits a byte-piece character only once it is complete, so concatenating
 * every push() and the final flush() equals decode() of the whole sequence.
 */

import { TokenizerError } from '../errors.js';
import type { IncrementalDecoder } from '../types.js';
import { PieceType } from './proto.js';

// Local copies: a module-level const is a plain load, an imported object's property is not (in
// dev/test transforms every access to an import goes through a getter).
const BYTE = PieceType.BYTE;
const CONTROL = PieceType.CONTROL;
const UNKNOWN = PieceType.UNKNOWN;

export interface DecodeTables {
  readonly size: number;
  readonly types: Uint8Array;
  /** Piece text with `▁` replaced by ' ' (unused for byte, control and unknown pieces). */
  readonly surfaces: readonly string[];
  readonly pieces: readonly string[];
  /** 1 when the piece starts with `▁`. */
  readonly startsWithSpace: Uint8Array;
  /** The byte of each BYTE piece. */
  readonly byteValues: Uint8Array;
  readonly unkSurface: string;
  /** add_dummy_prefix || remove_extra_whitespaces: whether a leading space is the encoder's. */
  readonly stripLeadingSpace: boolean;
  readonly removeExtraWhitespaces: boolean;
}

export function checkId(t: DecodeTables, id: number, where: string): void {
  if (!Number.isInteger(id) || id < 0 || id >= t.size) {
    throw new TokenizerError(
      `sentencepiece decode: ${where} = ${id} is not a token id (the vocabulary has ids 0..${t.size - 1})`,
      { field: where },
    );
  }
}

/** True when `b` can follow as a UTF-8 continuation byte. */
const isTrail = (b: number): boolean => (b & 0xc0) === 0x80;

export class SentencePieceDecoder implements IncrementalDecoder {
  private bosWs = true;
  private pending: number[] = [];
  private count = 0;

  constructor(
    private readonly t: DecodeTables,
    private readonly skipSpecial: boolean,
  ) {}

  push(id: number): string {
    checkId(this.t, id, `ids[${this.count}]`);
    this.count++;
    const type = this.t.types[id];
    if (type === BYTE) {
      this.pending.push(this.t.byteValues[id]);
      return this.drain(false);
    }
    const bytes = this.pending.length > 0 ? this.drain(true) : '';
    return bytes + this.piece(id, type);
  }

  flush(): string {
    return this.drain(true);
  }

  private piece(id: number, type: number): string {
    const t = this.t;
    if (type === CONTROL) {
      if (this.skipSpecial) return '';
      this.bosWs = true;
      return t.pieces[id];
    }
    if (type === UNKNOWN) {
      if (t.unkSurface !== '') this.bosWs = false;
      return t.unkSurface;
    }
    let s = t.surfaces[id];
    if (this.bosWs) {
      let consumedSpace = false;
      if (t.stripLeadingSpace && t.startsWithSpace[id]) {
        s = s.slice(1);
        // With remove_extra_whitespaces the encoder never leaves a leading space, so keep
        // stripping until real text appears.
        consumedSpace = !t.removeExtraWhitespaces;
      }
      if (s !== '' || consumedSpace) this.bosWs = false;
    }
    return s;
  }

  /**
   * Turns pending bytes into text. Unless `final`, an incomplete character whose bytes so far
   * could still be valid waits for more byte pieces.
   */
  private drain(final: boolean): string {
    const p = this.pending;
    let out = '';
    let i = 0;
    while (i < p.length) {
      const b0 = p[i];
      const need = b0 < 0x80 ? 1 : (b0 & 0xe0) === 0xc0 ? 2 : (b0 & 0xf0) === 0xe0 ? 3 : (b0 & 0xf8) === 0xf0 ? 4 : 0;
      if (need === 0) {
        out += '\ufffd';
        i++;
        continue;
      }
      if (p.length - i < need) {
        let trailsOk = true;
        for (let k = i + 1; k < p.length; k++) if (!isTrail(p[k])) trailsOk = false;
        if (!final && trailsOk) break;
        out += '\ufffd';
        i++;
        continue;
      }
      const cp = decodeAt(p, i, need);
      if (cp < 0) {
        out += '\ufffd';
        i++;
      } else {
        out += String.fromCodePoint(cp);
        i += need;
      }
    }
    p.splice(0, i);
    if (out !== '') this.bosWs = false;
    return out;
  }
}

/** The code point of the `need`-byte sequence at p[i], or -1 when it is not valid UTF-8 (overlong, surrogate, > U+10FFFF). */
function decodeAt(p: readonly number[], i: number, need: number): number {
  const b0 = p[i];
  if (need === 1) return b0;
  for (let k = 1; k < need; k++) if (!isTrail(p[i + k])) return -1;
  if (need === 2) {
    const cp = ((b0 & 0x1f) << 6) | (p[i + 1] & 0x3f);
    return cp >= 0x80 ? cp : -1;
  }
  if (need === 3) {
    const cp = ((b0 & 0x0f) << 12) | ((p[i + 1] & 0x3f) << 6) | (p[i + 2] & 0x3f);
    return cp >= 0x800 && (cp < 0xd800 || cp > 0xdfff) ? cp : -1;
  }
  const cp = ((b0 & 0x07) << 18) | ((p[i + 1] & 0x3f) << 12) | ((p[i + 2] & 0x3f) << 6) | (p[i + 3] & 0x3f);
  return cp >= 0x10000 && cp <= 0x10ffff ? cp : -1;
}
