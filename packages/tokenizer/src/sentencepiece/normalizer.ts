/**
 * SentencePiece's normalizer, over UTF-8 bytes.
 *
 * A model's NormalizerSpec carries a `precompiled_charsmap`: a little-endian uint32 trie size, a
 * darts-clone double-array trie over UTF-8 byte strings, then a blob of NUL-terminated replacement
 * strings that the trie's leaf values point into. Normalizing is: at each position take the
 * longest trie match (or, when there is none, one UTF-8 character unchanged), then apply the
 * whitespace rules (drop leading/trailing/repeated spaces, add the dummy-prefix space, escape ' ' as
 * U+2581). Doing the match over bytes and not over JS code units is what makes the output equal to
 * the C++ library's, whose trie keys are bytes.
 */

import { TokenizerError } from '../errors.js';
import type { NormalizerSpecProto } from './proto.js';
import type { ByteTrie } from './trie.js';

/** U+2581 LOWER ONE EIGHTH BLOCK, SentencePiece's visible space, in UTF-8. */
export const SPACE_SYMBOL = [0xe2, 0x96, 0x81] as const;
const REPLACEMENT = new Uint8Array([0xef, 0xbf, 0xbd]);
/** SentencePiece keeps at most this many prefix matches per position and takes the longest of them. */
const MAX_TRIE_RESULTS = 32;

/** Byte length of the UTF-8 character whose first byte is `b` (stray continuation bytes count as 1). */
export function utf8CharLength(b: number): number {
  return b < 0xc0 ? 1 : b < 0xe0 ? 2 : b < 0xf0 ? 3 : 4;
}

export interface NormalizerOptions {
  spec: NormalizerSpecProto;
  /** USER_DEFINED pieces: copied through unnormalized, as whole symbols. */
  userDefined: ByteTrie | null;
  treatWhitespaceAsSuffix: boolean;
}

export class Normalizer {
  private readonly trie: Uint32Array | null = null;
  private readonly replacements: Uint8Array = new Uint8Array(0);
  private readonly userDefined: ByteTrie | null;
  private readonly addDummyPrefix: boolean;
  private readonly removeExtraWhitespaces: boolean;
  private readonly escapeWhitespaces: boolean;
  private readonly suffix: boolean;
  private out = new Uint8Array(1024);
  private n = 0;
  // The current prefix's replacement: src[spStart, spEnd), consuming `consumed` input bytes.
  // Fields, not a returned tuple, because this runs once per character of every text.
  private src: Uint8Array = REPLACEMENT;
  private spStart = 0;
  private spEnd = 0;
  private consumed = 0;

  constructor(opts: NormalizerOptions) {
    const { spec } = opts;
    this.userDefined = opts.userDefined;
    this.addDummyPrefix = spec.addDummyPrefix;
    this.removeExtraWhitespaces = spec.removeExtraWhitespaces;
    this.escapeWhitespaces = spec.escapeWhitespaces;
    this.suffix = opts.treatWhitespaceAsSuffix;
    const blob = spec.precompiledCharsmap;
    // An empty charsmap means no character mapping at all (the "identity" normalizer), whatever the name.
    if (blob.length > 0) {
      const field = 'normalizer_spec.precompiled_charsmap';
      if (blob.length <= 4)
        throw new TokenizerError(
          `sentencepiece .model: ${field} is ${blob.length} bytes, too short to hold its trie size`,
          { field, offset: 0 },
        );
      const view = new DataView(blob.buffer, blob.byteOffset, blob.byteLength);
      const trieBytes = view.getUint32(0, true);
      if (trieBytes >= blob.length - 4 || trieBytes % 4 !== 0 || trieBytes === 0) {
        throw new TokenizerError(
          `sentencepiece .model: ${field} declares a ${trieBytes}-byte trie, which does not fit its ${blob.length} bytes`,
          { field, offset: 0 },
        );
      }
      // Copied into an aligned array: the blob sits at an arbitrary offset inside the file.
      const units = new Uint32Array(trieBytes / 4);
      for (let i = 0; i < units.length; i++) units[i] = view.getUint32(4 + i * 4, true);
      this.trie = units;
      this.replacements = blob.subarray(4 + trieBytes);
    }
  }

  /**
   * Normalizes UTF-8 `input`. The result is a view into a buffer this object reuses: read it before
   * the next call.
   */
  normalize(input: Uint8Array): Uint8Array {
    const len = input.length;
    this.n = 0;
    let pos = 0;
    if (this.removeExtraWhitespaces) {
      // Leading whitespace goes, but only prefixes that normalize to exactly one ' ' count as such.
      while (pos < len) {
        this.prefix(input, pos, len);
        if (this.spEnd - this.spStart !== 1 || this.src[this.spStart] !== 0x20) break;
        pos += this.consumed;
      }
    }
    if (pos >= len) return this.out.subarray(0, 0);
    if (!this.suffix && this.addDummyPrefix) this.addWhitespace();
    if (this.trie === null && this.userDefined === null) this.copyIdentity(input, pos, len);
    else this.copyMapped(input, pos, len);
    if (this.removeExtraWhitespaces) {
      if (this.escapeWhitespaces) {
        while (
          this.n >= 3 &&
          this.out[this.n - 3] === 0xe2 &&
          this.out[this.n - 2] === 0x96 &&
          this.out[this.n - 1] === 0x81
        )
          this.n -= 3;
      } else {
        while (this.n >= 1 && this.out[this.n - 1] === 0x20) this.n -= 1;
      }
    }
    if (this.suffix && this.addDummyPrefix) this.addWhitespace();
    return this.out.subarray(0, this.n);
  }

  /**
   * No charsmap and no user-defined pieces: every character maps to itself, so the whitespace rules
   * can run byte by byte (' ' is a whole character and never occurs inside a multi-byte one).
   */
  private copyIdentity(input: Uint8Array, pos: number, len: number): void {
    this.ensure(this.n + (len - pos) * 3);
    const out = this.out;
    const escapeSpaces = this.escapeWhitespaces;
    const collapse = this.removeExtraWhitespaces;
    let n = this.n;
    let prevSpace = collapse;
    for (let i = pos; i < len; i++) {
      const b = input[i];
      if (b === 0x20) {
        if (prevSpace) continue;
        if (escapeSpaces) {
          out[n++] = 0xe2;
          out[n++] = 0x96;
          out[n++] = 0x81;
        } else out[n++] = 0x20;
        prevSpace = collapse;
      } else {
        out[n++] = b;
        prevSpace = false;
      }
    }
    this.n = n;
  }

  private copyMapped(input: Uint8Array, pos: number, len: number): void {
    let prevSpace = this.removeExtraWhitespaces;
    while (pos < len) {
      this.prefix(input, pos, len);
      const src = this.src;
      let s = this.spStart;
      const e = this.spEnd;
      // A replacement that starts with spaces right after a space loses them (runs collapse to one).
      if (prevSpace) while (s < e && src[s] === 0x20) s++;
      if (s < e) {
        this.ensure(this.n + (e - s) * 3);
        const out = this.out;
        let n = this.n;
        for (let i = s; i < e; i++) {
          const b = src[i];
          if (b === 0x20 && this.escapeWhitespaces) {
            out[n++] = 0xe2;
            out[n++] = 0x96;
            out[n++] = 0x81;
          } else out[n++] = b;
        }
        this.n = n;
        prevSpace = src[e - 1] === 0x20;
      }
      pos += this.consumed;
      if (!this.removeExtraWhitespaces) prevSpace = false;
    }
  }

  /** Finds how input[pos..] starts: a user-defined piece, the longest charsmap entry, or one character. */
  private prefix(input: Uint8Array, pos: number, len: number): void {
    if (this.userDefined !== null) {
      const m = this.userDefined.longestPrefix(input, pos, len);
      if (m > 0) {
        this.setPrefix(input, pos, pos + m, m);
        return;
      }
    }
    if (this.trie !== null && this.matchCharsmap(input, pos, len)) return;
    // Input comes from TextEncoder, so it is well-formed UTF-8; a lead byte tells the length.
    const m = Math.min(utf8CharLength(input[pos]), len - pos);
    this.setPrefix(input, pos, pos + m, m);
  }

  private setPrefix(src: Uint8Array, start: number, end: number, consumed: number): void {
    this.src = src;
    this.spStart = start;
    this.spEnd = end;
    this.consumed = consumed;
  }

  /**
   * darts-clone common-prefix search from `pos`; keeps the longest of the first 32 matches.
   * A unit packs: bit 8 has-leaf, bits 0-7 (and 31) the label, bits 10+ the child offset (scaled
   * by 256 when bit 9 is set); a leaf unit's low 31 bits are the value.
   */
  private matchCharsmap(input: Uint8Array, pos: number, len: number): boolean {
    const units = this.trie!;
    const size = units.length;
    let unit = units[0];
    let node = (unit >>> 10) << ((unit & 0x200) >>> 6);
    let bestLen = 0;
    let bestValue = 0;
    let found = 0;
    for (let i = pos; i < len; i++) {
      const c = input[i];
      node ^= c;
      if (node >= size) break;
      unit = units[node];
      if ((unit & 0x800000ff) !== c) break;
      node ^= (unit >>> 10) << ((unit & 0x200) >>> 6);
      if ((unit >>> 8) & 1) {
        if (found < MAX_TRIE_RESULTS) {
          if (node >= size) break;
          bestLen = i - pos + 1;
          bestValue = units[node] & 0x7fffffff;
        }
        found++;
      }
    }
    if (bestLen === 0) return false;
    const rep = this.replacements;
    if (bestValue >= rep.length) {
      throw new TokenizerError(
        `sentencepiece .model: normalizer_spec.precompiled_charsmap points at offset ${bestValue} past its ${rep.length}-byte string table`,
        {
          field: 'normalizer_spec.precompiled_charsmap',
          offset: bestValue,
        },
      );
    }
    let end = bestValue;
    while (end < rep.length && rep[end] !== 0) end++;
    this.setPrefix(rep, bestValue, end, bestLen);
    return true;
  }

  private addWhitespace(): void {
    this.ensure(this.n + 3);
    if (this.escapeWhitespaces) {
      this.out[this.n++] = SPACE_SYMBOL[0];
      this.out[this.n++] = SPACE_SYMBOL[1];
      this.out[this.n++] = SPACE_SYMBOL[2];
    } else this.out[this.n++] = 0x20;
  }

  private ensure(capacity: number): void {
    if (capacity <= this.out.length) return;
    let cap = this.out.length * 2;
    while (cap < capacity) cap *= 2;
    const grown = new Uint8Array(cap);
    grown.set(this.out.subarray(0, this.n));
    this.out = grown;
  }
}
