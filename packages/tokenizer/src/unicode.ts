/**
 * Character classes and UTF-8 helpers shared by the pre-tokenizer scanners and the byte-level
 * model. Classes follow the Rust regex / Oniguruma meaning that the canonical tokenizers use:
 * `\s` is the Unicode White_Space property (so U+0085 is whitespace and U+FEFF is not, unlike a
 * JavaScript `\s`), `\p{L}` letters, `\p{N}` numbers.
 */

export const CLASS_OTHER = 1;
export const CLASS_LETTER = 2;
export const CLASS_NUMBER = 3;
export const CLASS_SPACE = 4;

const LETTER = /^\p{L}$/u;
const NUMBER = /^\p{N}$/u;
const SPACE = /^\p{White_Space}$/u;

function classify(codePoint: number): number {
  const ch = String.fromCodePoint(codePoint);
  if (LETTER.test(ch)) return CLASS_LETTER;
  if (NUMBER.test(ch)) return CLASS_NUMBER;
  if (SPACE.test(ch)) return CLASS_SPACE;
  return CLASS_OTHER;
}

// Filled lazily: 0 = not yet classified. A regex test per distinct BMP character, once per process,
// is far cheaper than building the whole 64K table up front for text that is mostly ASCII.
const bmpClass = new Uint8Array(0x10000);
const astralClass = new Map<number, number>();
for (let c = 0; c < 0x80; c++) bmpClass[c] = classify(c);

/** CLASS_* of a code point (lone surrogates are CLASS_OTHER). */
export function charClass(codePoint: number): number {
  if (codePoint < 0x10000) {
    const known = bmpClass[codePoint];
    if (known !== 0) return known;
    const computed = classify(codePoint);
    bmpClass[codePoint] = computed;
    return computed;
  }
  let known = astralClass.get(codePoint);
  if (known === undefined) {
    known = classify(codePoint);
    astralClass.set(codePoint, known);
  }
  return known;
}

/** The code point at UTF-16 index i (a lone surrogate is returned as itself). */
export function codePointAt(text: string, i: number): number {
  const c = text.charCodeAt(i);
  if (c >= 0xd800 && c <= 0xdbff && i + 1 < text.length) {
    const d = text.charCodeAt(i + 1);
    if (d >= 0xdc00 && d <= 0xdfff) return ((c - 0xd800) << 10) + (d - 0xdc00) + 0x10000;
  }
  return c;
}

/**
 * Lone surrogates cannot be UTF-8 encoded; like TextEncoder (and Rust, which cannot hold them at
 * all), every tokenizer here replaces each one by U+FFFD before anything else.
 */
export function wellFormed(text: string): string {
  const s = text as string & { isWellFormed?: () => boolean; toWellFormed?: () => string };
  if (typeof s.isWellFormed === 'function' && typeof s.toWellFormed === 'function') {
    return s.isWellFormed() ? text : s.toWellFormed();
  }
  return LONE_SURROGATE.test(text) ? text.replace(LONE_SURROGATE_ALL, '\uFFFD') : text;
}

// Fallback for engines without String.prototype.toWellFormed (ES2024).
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
const LONE_SURROGATE_ALL = new RegExp(LONE_SURROGATE.source, 'g');

/**
 * Writes the UTF-8 bytes of text[start, end) into out (which must have room for 3 bytes per UTF-16
 * unit) and returns the byte count. The text must be well formed.
 */
export function utf8Encode(text: string, start: number, end: number, out: Uint8Array): number {
  let n = 0;
  for (let i = start; i < end; i++) {
    let c = text.charCodeAt(i);
    if (c < 0x80) {
      out[n++] = c;
    } else if (c < 0x800) {
      out[n++] = 0xc0 | (c >> 6);
      out[n++] = 0x80 | (c & 63);
    } else if (c >= 0xd800 && c <= 0xdbff && i + 1 < end) {
      c = ((c - 0xd800) << 10) + (text.charCodeAt(++i) - 0xdc00) + 0x10000;
      out[n++] = 0xf0 | (c >> 18);
      out[n++] = 0x80 | ((c >> 12) & 63);
      out[n++] = 0x80 | ((c >> 6) & 63);
      out[n++] = 0x80 | (c & 63);
    } else {
      out[n++] = 0xe0 | (c >> 12);
      out[n++] = 0x80 | ((c >> 6) & 63);
      out[n++] = 0x80 | (c & 63);
    }
  }
  return n;
}

/** True when every UTF-16 unit of text is below 0x80. */
export function isAscii(text: string): boolean {
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) >= 0x80) return false;
  return true;
}
