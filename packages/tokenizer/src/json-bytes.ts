/**
 * A low-memory reader for tokenizer.json bytes. `JSON.parse` needs the whole file as a JS string
 * (two bytes per character once any token is non-Latin-1: 21 MB for Qwen's 11 MB file) and then
 * builds an object per merge; together that is most of a load's peak memory. Here the UTF-8 bytes
 * are scanned once: `model.vocab` goes straight into a Map, `model.merges` is streamed from the
 * bytes into the merge table, and only the small rest of the file (normalizer, pre-tokenizer,
 * added tokens...) goes through `JSON.parse`.
 *
 * Anything unexpected (a syntax error, invalid UTF-8, a layout not handled here) returns null and
 * the caller falls back to `JSON.parse`, whose error then names the offset.
 */
import { TokenizerError } from './errors.js';
import { jsonDepthViolation } from '@dcformer/checkpoint';
import { bad, MAX_ID } from './json-fields.js';

const QUOTE = 0x22;
const BACKSLASH = 0x5c;

class Malformed extends Error {}

function skipSpace(b: Uint8Array, i: number): number {
  while (i < b.length && (b[i] === 0x20 || b[i] === 0x0a || b[i] === 0x0d || b[i] === 0x09)) i++;
  return i;
}

function expect(b: Uint8Array, i: number, byte: number): number {
  if (b[i] !== byte) throw new Malformed();
  return i + 1;
}

/** Index after the closing quote of the string starting at b[i] === '"'. */
function skipString(b: Uint8Array, i: number): number {
  for (i++; i < b.length; i++) {
    if (b[i] === QUOTE) return i + 1;
    if (b[i] === BACKSLASH) i++;
  }
  throw new Malformed();
}

/** Index after the JSON value starting at b[i]. */
function skipValue(b: Uint8Array, i: number): number {
  const c = b[i];
  if (c === QUOTE) return skipString(b, i);
  if (c === 0x7b || c === 0x5b) {
    let depth = 0;
    for (; i < b.length; i++) {
      const d = b[i];
      if (d === QUOTE) i = skipString(b, i) - 1;
      else if (d === 0x7b || d === 0x5b) depth++;
      else if ((d === 0x7d || d === 0x5d) && --depth === 0) return i + 1;
    }
    throw new Malformed();
  }
  const start = i;
  while (i < b.length && b[i] !== 0x2c && b[i] !== 0x7d && b[i] !== 0x5d && b[i] > 0x20) i++;
  if (i === start) throw new Malformed();
  return i;
}

const units = new Uint16Array(4096);

function isContinuation(byte: number): boolean {
  return (byte & 0xc0) === 0x80;
}

/**
 * The string whose quoted JSON form is b[start, end) (quotes included). UTF-8 is decoded here
 * (strictly: invalid sequences throw Malformed, and the caller's fallback decides); strings with
 * escapes, rare in vocabularies, go through JSON.parse.
 */
function readString(b: Uint8Array, start: number, end: number): string {
  if (end - start > units.length)
    return JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(b.subarray(start, end))) as string;
  let n = 0;
  for (let i = start + 1; i < end - 1; ) {
    const c = b[i];
    if (c < 0x80) {
      if (c === BACKSLASH)
        return JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(b.subarray(start, end))) as string;
      units[n++] = c;
      i++;
    } else if (c >= 0xc2 && c <= 0xdf && isContinuation(b[i + 1])) {
      units[n++] = ((c & 0x1f) << 6) | (b[i + 1] & 0x3f);
      i += 2;
    } else if (c >= 0xe0 && c <= 0xef && isContinuation(b[i + 1]) && isContinuation(b[i + 2])) {
      const cp = ((c & 0x0f) << 12) | ((b[i + 1] & 0x3f) << 6) | (b[i + 2] & 0x3f);
      if (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff)) throw new Malformed();
      units[n++] = cp;
      i += 3;
    } else if (
      c >= 0xf0 &&
      c <= 0xf4 &&
      isContinuation(b[i + 1]) &&
      isContinuation(b[i + 2]) &&
      isContinuation(b[i + 3])
    ) {
      const cp = ((c & 0x07) << 18) | ((b[i + 1] & 0x3f) << 12) | ((b[i + 2] & 0x3f) << 6) | (b[i + 3] & 0x3f);
      if (cp < 0x10000 || cp > 0x10ffff) throw new Malformed();
      units[n++] = 0xd800 + ((cp - 0x10000) >> 10);
      units[n++] = 0xdc00 + ((cp - 0x10000) & 0x3ff);
      i += 4;
    } else {
      throw new Malformed();
    }
  }
  return Reflect.apply(String.fromCharCode, null, units.subarray(0, n));
}

/** Positions of the keys of the object starting at b[i] === '{': calls visit(key, valueStart) and expects it to return the value's end. */
function walkObject(b: Uint8Array, i: number, visit: (key: string, valueStart: number) => number): number {
  i = skipSpace(b, expect(b, i, 0x7b));
  if (b[i] === 0x7d) return i + 1;
  for (;;) {
    const keyEnd = skipString(b, expect(b, i, QUOTE) - 1);
    const key = readString(b, i, keyEnd);
    i = skipSpace(b, expect(b, skipSpace(b, keyEnd), 0x3a));
    i = skipSpace(b, visit(key, i));
    if (b[i] === 0x7d) return i + 1;
    i = skipSpace(b, expect(b, i, 0x2c));
  }
}

export interface TokenizerJsonParts {
  /** The file with `model.vocab` replaced by {} and `model.merges` by [] (parsed normally). */
  skeleton: unknown;
  vocab: Map<string, number>;
  mergeCount: number;
  forEachMerge: (add: (a: string, b: string) => void) => void;
}

function parseVocab(b: Uint8Array, start: number, end: number): Map<string, number> {
  const vocab = new Map<string, number>();
  walkObject(b, start, (key, i) => {
    let id = 0;
    let j = i;
    while (j < end && b[j] >= 0x30 && b[j] <= 0x39) id = id * 10 + (b[j++] - 0x30);
    const valueEnd = skipValue(b, i);
    if (j !== valueEnd || j === i || id > MAX_ID) {
      bad(
        `model.vocab[${JSON.stringify(key)}]`,
        `an integer id in 0..${MAX_ID}`,
        JSON.parse(new TextDecoder().decode(b.subarray(i, valueEnd))),
      );
    }
    vocab.set(key, id);
    return valueEnd;
  });
  return vocab;
}

/** Calls visit(valueStart, valueEnd, k) for each element of the array starting at b[start] === '['. */
function walkArray(
  b: Uint8Array,
  start: number,
  visit: (valueStart: number, valueEnd: number, k: number) => void,
): void {
  let i = skipSpace(b, expect(b, start, 0x5b));
  if (b[i] === 0x5d) return;
  for (let k = 0; ; k++) {
    const end = skipValue(b, i);
    visit(i, end, k);
    i = skipSpace(b, end);
    if (b[i] === 0x5d) return;
    i = skipSpace(b, expect(b, i, 0x2c));
  }
}

function mergeAt(b: Uint8Array, start: number, end: number, k: number, add: (a: string, b: string) => void): void {
  const field = `model.merges[${k}]`;
  if (b[start] === QUOTE) {
    const item = readString(b, start, end);
    const space = item.indexOf(' ');
    if (space <= 0 || space === item.length - 1 || item.indexOf(' ', space + 1) >= 0) {
      bad(field, 'two tokens separated by one space ("a b")', item);
    }
    add(item.slice(0, space), item.slice(space + 1));
    return;
  }
  const pair: string[] = [];
  if (b[start] === 0x5b) {
    walkArray(b, start, (s, e) => pair.push(b[s] === QUOTE ? readString(b, s, e) : '\u0000not a string'));
  }
  if (pair.length !== 2 || pair.some((p) => p === '\u0000not a string')) {
    bad(field, 'a string "a b" or a pair ["a", "b"]', JSON.parse(new TextDecoder().decode(b.subarray(start, end))));
  }
  add(pair[0], pair[1]);
}

/**
 * Splits tokenizer.json bytes into a parsed skeleton plus the vocabulary and a merge stream, or
 * returns null when the bytes are not a tokenizer.json this reader handles (the caller then uses
 * JSON.parse). Errors in vocab entries or merges are TokenizerErrors naming the field.
 */
export function readTokenizerJsonBytes(b: Uint8Array): TokenizerJsonParts | null {
  let vocabRange: [number, number] | null = null;
  let mergesRange: [number, number] | null = null;
  try {
    const start = skipSpace(b, b[0] === 0xef && b[1] === 0xbb && b[2] === 0xbf ? 3 : 0);
    const end = walkObject(b, start, (key, i) => {
      if (key !== 'model' || b[i] !== 0x7b) return skipValue(b, i);
      return walkObject(b, i, (modelKey, j) => {
        const valueEnd = skipValue(b, j);
        if (modelKey === 'vocab' && b[j] === 0x7b) vocabRange = [j, valueEnd];
        if (modelKey === 'merges' && b[j] === 0x5b) mergesRange = [j, valueEnd];
        return valueEnd;
      });
    });
    if (skipSpace(b, end) !== b.length) return null;
  } catch (error) {
    if (error instanceof Malformed || error instanceof SyntaxError || error instanceof TypeError) return null;
    throw error;
  }
  const vocabAt = vocabRange as [number, number] | null;
  if (vocabAt === null) return null;
  const mergesAt = mergesRange as [number, number] | null;
  // The skeleton: the bytes outside the two big values, which are replaced by empty ones.
  const cuts = [[...vocabAt, 0x7b, 0x7d], ...(mergesAt === null ? [] : [[...mergesAt, 0x5b, 0x5d]])].sort(
    (x, y) => x[0] - y[0],
  );
  const pieces: Uint8Array[] = [];
  let at = 0;
  for (const [s, e, open, close] of cuts) {
    pieces.push(b.subarray(at, s), Uint8Array.of(open, close));
    at = e;
  }
  pieces.push(b.subarray(at));
  const skeletonBytes = new Uint8Array(pieces.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const p of pieces) {
    skeletonBytes.set(p, offset);
    offset += p.length;
  }
  let skeleton: unknown;
  let vocab: Map<string, number>;
  let mergeCount = 0;
  try {
    const text = new TextDecoder('utf-8', { fatal: true }).decode(skeletonBytes);
    // Too deep: the caller's parseJsonText of the whole file reports it as a TokenizerError.
    if (jsonDepthViolation(text) >= 0) return null;
    skeleton = JSON.parse(text);
    vocab = parseVocab(b, vocabAt[0], vocabAt[1]);
    if (mergesAt !== null) walkArray(b, mergesAt[0], () => mergeCount++);
  } catch (error) {
    if (error instanceof Malformed || error instanceof SyntaxError || error instanceof TypeError) return null;
    throw error;
  }
  return {
    skeleton,
    vocab,
    mergeCount,
    forEachMerge: (add) => {
      if (mergesAt === null) return;
      try {
        walkArray(b, mergesAt[0], (s, e, k) => mergeAt(b, s, e, k, add));
      } catch (error) {
        if (error instanceof Malformed || error instanceof SyntaxError) {
          throw new TokenizerError(
            "tokenizer.json: 'model.merges' holds a malformed string (invalid UTF-8 or escape)",
            { field: 'model.merges' },
          );
        }
        throw error;
      }
    },
  };
}
