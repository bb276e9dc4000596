/**
 * The BPE result cache, keyed by a *range* of the input text. Looking a piece up without first
 * slicing it out as a string saves an allocation and a hash of a fresh string per piece: on
 * English text 90%+ of pieces are hits, so this is most of the encode time.
 * Open addressing over FNV-1a hashes of the UTF-16 units; when full it is cleared (hot words come
 * back at once), which bounds memory at CAPACITY entries.
 */

const BITS = 17;
const CAPACITY = 1 << BITS; // slots
const MAX_ENTRIES = CAPACITY >> 1;
const MAX_KEY_LENGTH = 64; // longer pieces are rare and not worth keeping

export class PieceCache {
  private keys: (string | undefined)[] = new Array(CAPACITY);
  private values: (number[] | undefined)[] = new Array(CAPACITY);
  private readonly hashes = new Int32Array(CAPACITY);
  private size = 0;

  static hash(text: string, start: number, end: number): number {
    let h = 0x811c9dc5 | 0;
    for (let i = start; i < end; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
    return h;
  }

  /** The cached ids of text[start, end) with the given hash, or undefined. */
  get(text: string, start: number, end: number, hash: number): number[] | undefined {
    const length = end - start;
    if (length > MAX_KEY_LENGTH) return undefined;
    const mask = CAPACITY - 1;
    for (let slot = hash & mask; ; slot = (slot + 1) & mask) {
      const key = this.keys[slot];
      if (key === undefined) return undefined;
      if (this.hashes[slot] === hash && key.length === length) {
        let i = 0;
        while (i < length && key.charCodeAt(i) === text.charCodeAt(start + i)) i++;
        if (i === length) return this.values[slot];
      }
    }
  }

  set(piece: string, hash: number, ids: number[]): void {
    if (piece.length > MAX_KEY_LENGTH) return;
    if (this.size >= MAX_ENTRIES) {
      this.keys = new Array(CAPACITY);
      this.values = new Array(CAPACITY);
      this.size = 0;
    }
    const mask = CAPACITY - 1;
    let slot = hash & mask;
    while (this.keys[slot] !== undefined) slot = (slot + 1) & mask;
    this.keys[slot] = piece;
    this.values[slot] = ids;
    this.hashes[slot] = hash;
    this.size++;
  }
}
