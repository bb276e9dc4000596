/**
 * GPT-2's byte <-> "unicode" alphabet: every byte gets a printable character so that byte-level
 * BPE vocabularies can be stored as JSON strings. Printable Latin-1 bytes map to themselves; the
 * other 68 (controls, space, DEL, NBSP, soft hyphen...) map to U+0100 upwards in byte order, which
 * is why a space is 'Ġ' (U+0120) and a newline 'Ċ' (U+010A).
 */

function isSelfMapped(byte: number): boolean {
  return (byte >= 0x21 && byte <= 0x7e) || (byte >= 0xa1 && byte <= 0xac) || (byte >= 0xae && byte <= 0xff);
}

/** BYTE_TO_CHAR[b] is the one-character string that stands for byte b. */
export const BYTE_TO_CHAR: readonly string[] = (() => {
  const table: string[] = new Array(256);
  let next = 0x100;
  for (let b = 0; b < 256; b++) table[b] = String.fromCharCode(isSelfMapped(b) ? b : next++);
  return table;
})();

/** CHAR_TO_BYTE[code unit] is the byte a byte-level character stands for, or -1. Code units < 0x144. */
export const CHAR_TO_BYTE: Int16Array = (() => {
  const table = new Int16Array(0x144).fill(-1);
  for (let b = 0; b < 256; b++) table[BYTE_TO_CHAR[b].charCodeAt(0)] = b;
  return table;
})();

/**
 * The bytes a byte-level token string stands for, or null when some character is outside the
 * alphabet (then, as in HF's ByteLevel decoder, the token is taken as literal UTF-8 text).
 */
export function byteLevelToBytes(token: string): Uint8Array | null {
  const out = new Uint8Array(token.length);
  for (let i = 0; i < token.length; i++) {
    const c = token.charCodeAt(i);
    const b = c < CHAR_TO_BYTE.length ? CHAR_TO_BYTE[c] : -1;
    if (b < 0) return null;
    out[i] = b;
  }
  return out;
}

/** The byte-level spelling of some bytes ('Ġworld' for " world"). */
export function bytesToByteLevel(bytes: ArrayLike<number>): string {
  let s = '';
  for (let i = 0; i < bytes.length; i++) s += BYTE_TO_CHAR[bytes[i]];
  return s;
}
