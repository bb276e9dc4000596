/**
 * Hand-written scanners for the two split regexes that almost every byte-level BPE uses. They
 * produce exactly the matches of the regex under Rust/Oniguruma semantics (leftmost alternative
 * wins, greedy with backtracking), at several times the speed of a JS regex. Tests compare them
 * with the translated regex (regex.ts) on every fixture text and on random strings.
 *
 * GPT-2 (r50k, GPT-NeoX, HF ByteLevel's default):
 *   's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
 * Qwen2/3 (also cl100k without the possessive/{1,3} forms):
 *   (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+
 */
import { CLASS_LETTER, CLASS_NUMBER, CLASS_OTHER, CLASS_SPACE, charClass, codePointAt } from './unicode.js';

export const GPT2_PATTERN = "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";
export const QWEN_PATTERN =
  "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

/** Called with [start, end) UTF-16 offsets of each match, in order. */
export type Emit = (start: number, end: number) => void;

// Class of the code point at i, or 0 past the end. ASCII is resolved inline by the callers.
function classAt(text: string, i: number): number {
  if (i >= text.length) return 0;
  const c = text.charCodeAt(i);
  return c < 0x80 ? ASCII_CLASS[c] : charClass(codePointAt(text, i));
}

const ASCII_CLASS = new Uint8Array(128);
for (let c = 0; c < 128; c++) ASCII_CLASS[c] = charClass(c);

// Width in UTF-16 units of the code point at i.
function widthAt(text: string, i: number): number {
  const c = text.charCodeAt(i);
  return c >= 0xd800 && c <= 0xdbff && i + 1 < text.length ? ((text.charCodeAt(i + 1) & 0xfc00) === 0xdc00 ? 2 : 1) : 1;
}

/** End of the run of code points of class cls starting at i. */
function runEnd(text: string, i: number, cls: number): number {
  const n = text.length;
  while (i < n) {
    const c = text.charCodeAt(i);
    if (c < 0x80) {
      if (ASCII_CLASS[c] !== cls) return i;
      i++;
    } else {
      if (charClass(codePointAt(text, i)) !== cls) return i;
      i += widthAt(text, i);
    }
  }
  return i;
}

/** Length of a contraction ('s 't 're 've 'm 'll 'd) at i, or 0. Case-folded for Qwen. */
function contraction(text: string, i: number, foldCase: boolean): number {
  let a = text.charCodeAt(i + 1);
  if (foldCase) {
    if (a === 0x17f) return 2; // U+017F LATIN SMALL LETTER LONG S folds to 's'
    a |= a >= 0x41 && a <= 0x5a ? 0x20 : 0;
  }
  if (a === 0x73 || a === 0x74 || a === 0x6d || a === 0x64) return 2; // s t m d
  let b = text.charCodeAt(i + 2);
  if (foldCase) b |= b >= 0x41 && b <= 0x5a ? 0x20 : 0;
  if ((a === 0x72 && b === 0x65) || (a === 0x76 && b === 0x65) || (a === 0x6c && b === 0x6c)) return 3; // re ve ll
  return 0;
}

/** `\s+(?!\S)|\s+` at a whitespace position i (the run is [i, end)). */
function whitespaceEnd(text: string, i: number): number {
  const end = runEnd(text, i, CLASS_SPACE);
  if (end === text.length) return end;
  // Give back the last whitespace character so that it can prefix the next word; a single one
  // cannot be given back (the \s+ alternative then takes it).
  const last = text.charCodeAt(end - 1);
  const lastWidth = (last & 0xfc00) === 0xdc00 ? 2 : 1;
  return end - lastWidth > i ? end - lastWidth : end;
}

/** Scans text with the GPT-2 pattern. */
export function scanGpt2(text: string, emit: Emit): void {
  const n = text.length;
  let i = 0;
  while (i < n) {
    const c = text.charCodeAt(i);
    let end: number;
    if (c === 0x27 /* ' */ && i + 1 < n && (end = contraction(text, i, false)) > 0) {
      end += i;
    } else {
      let start = i;
      let cls = c < 0x80 ? ASCII_CLASS[c] : charClass(codePointAt(text, i));
      if (c === 0x20) {
        const next = classAt(text, i + 1);
        if (next !== CLASS_SPACE && next !== 0) {
          start = i + 1;
          cls = next;
        }
      }
      end = cls === CLASS_SPACE ? whitespaceEnd(text, i) : runEnd(text, start, cls);
    }
    emit(i, end);
    i = end;
  }
}

/** End of `[\r\n]*` from i. */
function newlinesEnd(text: string, i: number): number {
  while (i < text.length) {
    const c = text.charCodeAt(i);
    if (c !== 0x0a && c !== 0x0d) break;
    i++;
  }
  return i;
}

/** Scans text with the Qwen2/3 pattern. */
export function scanQwen(text: string, emit: Emit): void {
  const n = text.length;
  let i = 0;
  while (i < n) {
    const c = text.charCodeAt(i);
    const cls = c < 0x80 ? ASCII_CLASS[c] : charClass(codePointAt(text, i));
    let end = 0;
    if (c === 0x27 && i + 1 < n) end = contraction(text, i, true);
    if (end > 0) {
      end += i;
    } else if (cls === CLASS_LETTER) {
      end = runEnd(text, i, CLASS_LETTER);
    } else if (cls === CLASS_NUMBER) {
      end = i + widthAt(text, i); // \p{N}: one at a time
    } else {
      const w = widthAt(text, i);
      const isNewline = c === 0x0a || c === 0x0d;
      if (!isNewline && classAt(text, i + w) === CLASS_LETTER) {
        end = runEnd(text, i + w, CLASS_LETTER); // [^\r\n\p{L}\p{N}]?\p{L}+
      } else if (cls === CLASS_OTHER || (c === 0x20 && classAt(text, i + 1) === CLASS_OTHER)) {
        end = newlinesEnd(text, runEnd(text, cls === CLASS_OTHER ? i : i + 1, CLASS_OTHER));
      } else {
        // Whitespace: \s*[\r\n]+ ends at the last newline of the run, else \s+(?!\S)|\s+.
        const runStop = runEnd(text, i, CLASS_SPACE);
        let lastNewline = -1;
        for (let k = runStop - 1; k >= i; k--) {
          const d = text.charCodeAt(k);
          if (d === 0x0a || d === 0x0d) {
            lastNewline = k;
            break;
          }
        }
        end = lastNewline >= 0 ? lastNewline + 1 : whitespaceEnd(text, i);
      }
    }
    emit(i, end);
    i = end;
  }
}

export { CLASS_OTHER };
