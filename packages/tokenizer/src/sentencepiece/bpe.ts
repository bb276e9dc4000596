/**
 * SentencePiece BPE encoding (the Llama tokenizers): start from single characters (or whole
 * user-defined pieces, which never merge), then repeatedly merge the adjacent pair whose
 * concatenation is the highest-scoring piece, leftmost first on ties. Pieces of type UNUSED may be
 * formed but are then split back into the two symbols they came from.
 *
 * The C++ library runs this over the whole normalized text with one priority queue. When no piece
 * contains a space symbol right after another character (true for Llama), no merge can cross the
 * point just before such a space, so we run the same procedure word by word: the merges and their
 * order inside a word are identical, and the per-word queue stays tiny.
 */

import { PieceType } from './proto.js';
import type { ByteTrie } from './trie.js';

// Local copies: a module-level const is a plain load, an imported object's property is not (in
// dev/test transforms every access to an import goes through a getter).
/** UTF-8 length from the lead byte (kept local: called once per character). */
const charLength = (b: number): number => (b < 0xc0 ? 1 : b < 0xe0 ? 2 : b < 0xf0 ? 3 : 4);
const UNUSED = PieceType.UNUSED;

export interface BpeVocab {
  trie: ByteTrie;
  scores: Float32Array;
  types: Uint8Array;
  unkId: number;
  userDefined: ByteTrie | null;
  /** Id of a piece outside the trie (control/byte/unknown) spelled by these bytes, or -1. */
  reservedId(bytes: Uint8Array, start: number, end: number): number;
  /** Whether runs may be split before each U+2581 that follows another character. */
  splitBeforeSpace: boolean;
  /** The same for treat_whitespace_as_suffix models: split after each U+2581 followed by another character. */
  splitAfterSpace: boolean;
}

export type Emit = (id: number, start: number, end: number) => void;

export class BpeEncoder {
  private readonly v: BpeVocab;
  // Symbols: a doubly linked list over byte ranges of the text.
  private symStart = new Int32Array(256);
  private symLen = new Int32Array(256);
  private prev = new Int32Array(256);
  private next = new Int32Array(256);
  private node = new Int32Array(256);
  private frozen = new Uint8Array(256);
  // Candidate merges (possibly stale) and a binary max-heap of their indices.
  private pLeft = new Int32Array(512);
  private pRight = new Int32Array(512);
  private pSize = new Int32Array(512);
  private pNode = new Int32Array(512);
  private pScore = new Float32Array(512);
  private heap = new Int32Array(512);
  private pairs = 0;
  private heapSize = 0;
  private revMerge = new Map<number, [number, number, number, number]>();
  private text: Uint8Array = new Uint8Array(0);

  constructor(vocab: BpeVocab) {
    this.v = vocab;
  }

  encode(text: Uint8Array, emit: Emit): void {
    const size = text.length;
    this.text = text;
    if (!this.v.splitBeforeSpace && !this.v.splitAfterSpace) {
      this.encodeRun(0, size, emit);
      return;
    }
    let runStart = 0;
    for (let i = 1; i + 2 < size; i++) {
      if (text[i] !== 0xe2 || text[i + 1] !== 0x96 || text[i + 2] !== 0x81) continue;
      const spaceBefore = i >= 3 && text[i - 3] === 0xe2 && text[i - 2] === 0x96 && text[i - 1] === 0x81;
      if (this.v.splitBeforeSpace && !spaceBefore) {
        this.encodeRun(runStart, i, emit);
        runStart = i;
      }
      const spaceAfter = i + 5 < size && text[i + 3] === 0xe2 && text[i + 4] === 0x96 && text[i + 5] === 0x81;
      if (this.v.splitAfterSpace && !spaceAfter && i + 3 < size) {
        this.encodeRun(runStart, i + 3, emit);
        runStart = i + 3;
      }
      i += 2;
    }
    this.encodeRun(runStart, size, emit);
  }

  /** BPE over text[start, end), emitting pieces in order. */
  private encodeRun(start: number, end: number, emit: Emit): void {
    if (start >= end) return;
    const text = this.text;
    const trie = this.v.trie;
    const user = this.v.userDefined;
    this.reserveSymbols(end - start);
    const { symStart, symLen, prev, next, node, frozen } = this;
    let n = 0;
    for (let pos = start; pos < end; n++) {
      let len = 0;
      let freeze = 0;
      if (user !== null) {
        len = user.longestPrefix(text, pos, end);
        if (len > 0) freeze = 1;
      }
      if (len === 0) len = Math.min(charLength(text[pos]), end - pos);
      symStart[n] = pos;
      symLen[n] = len;
      prev[n] = n - 1;
      next[n] = pos + len < end ? n + 1 : -1;
      frozen[n] = freeze;
      node[n] = trie.walk(0, text, pos, pos + len);
      pos += len;
    }

    this.pairs = 0;
    this.heapSize = 0;
    this.revMerge.clear();
    for (let i = 1; i < n; i++) this.addPair(i - 1, i);

    while (this.heapSize > 0) {
      const top = this.pop();
      const l = this.pLeft[top];
      const r = this.pRight[top];
      // Stale: one side was merged away or grew since this candidate was queued.
      if (symLen[l] === 0 || symLen[r] === 0 || symLen[l] + symLen[r] !== this.pSize[top]) continue;
      symLen[l] += symLen[r];
      node[l] = this.pNode[top];
      next[l] = next[r];
      if (next[r] >= 0) prev[next[r]] = l;
      symLen[r] = 0;
      this.addPair(prev[l], l);
      this.addPair(l, next[l]);
    }

    for (let i = 0; i !== -1; i = next[i]) this.resegment(symStart[i], symLen[i], emit);
  }

  /** Queues merging symbols l and r when their concatenation is a piece. */
  private addPair(l: number, r: number): void {
    if (l < 0 || r < 0 || this.frozen[l] || this.frozen[r]) return;
    const from = this.node[l];
    if (from < 0) return;
    const rs = this.symStart[r];
    const merged = this.v.trie.walk(from, this.text, rs, rs + this.symLen[r]);
    if (merged < 0) return;
    const id = this.v.trie.value(merged);
    if (id < 0) return;
    const k = this.pairs++;
    if (k >= this.pLeft.length) this.growPairs();
    this.pLeft[k] = l;
    this.pRight[k] = r;
    this.pSize[k] = this.symLen[l] + this.symLen[r];
    this.pNode[k] = merged;
    this.pScore[k] = this.v.scores[id];
    this.push(k);
    if (this.v.types[id] === UNUSED) {
      this.revMerge.set(id, [this.symStart[l], this.symLen[l], rs, this.symLen[r]]);
    }
  }

  /** Emits a final symbol; an UNUSED piece is replaced by the two symbols it was merged from. */
  private resegment(start: number, len: number, emit: Emit): void {
    let id = this.v.trie.lookup(this.text, start, start + len);
    if (id < 0) {
      id = this.v.reservedId(this.text, start, start + len);
      if (id < 0) id = this.v.unkId;
    }
    if (this.v.types[id] === UNUSED) {
      const parts = this.revMerge.get(id);
      if (parts !== undefined) {
        this.resegment(parts[0], parts[1], emit);
        this.resegment(parts[2], parts[3], emit);
        return;
      }
    }
    emit(id, start, start + len);
  }

  /** a before b: higher score, then smaller left index (the C++ comparator). */
  private before(a: number, b: number): boolean {
    const sa = this.pScore[a];
    const sb = this.pScore[b];
    return sa > sb || (sa === sb && this.pLeft[a] < this.pLeft[b]);
  }

  private push(k: number): void {
    if (this.heapSize >= this.heap.length) {
      const grown = new Int32Array(this.heap.length * 2);
      grown.set(this.heap);
      this.heap = grown;
    }
    const heap = this.heap;
    let i = this.heapSize++;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.before(k, heap[parent])) break;
      heap[i] = heap[parent];
      i = parent;
    }
    heap[i] = k;
  }

  private pop(): number {
    const heap = this.heap;
    const top = heap[0];
    const last = heap[--this.heapSize];
    const size = this.heapSize;
    let i = 0;
    for (;;) {
      let c = 2 * i + 1;
      if (c >= size) break;
      if (c + 1 < size && this.before(heap[c + 1], heap[c])) c++;
      if (!this.before(heap[c], last)) break;
      heap[i] = heap[c];
      i = c;
    }
    if (size > 0) heap[i] = last;
    return top;
  }

  private reserveSymbols(n: number): void {
    if (this.symStart.length >= n) return;
    const cap = Math.max(n, this.symStart.length * 2);
    this.symStart = new Int32Array(cap);
    this.symLen = new Int32Array(cap);
    this.prev = new Int32Array(cap);
    this.next = new Int32Array(cap);
    this.node = new Int32Array(cap);
    this.frozen = new Uint8Array(cap);
  }

  private growPairs(): void {
    const cap = this.pLeft.length * 2;
    const grow = <T extends Int32Array | Float32Array>(a: T, make: (n: number) => T): T => {
      const g = make(cap);
      g.set(a);
      return g;
    };
    this.pLeft = grow(this.pLeft, (c) => new Int32Array(c));
    this.pRight = grow(this.pRight, (c) => new Int32Array(c));
    this.pSize = grow(this.pSize, (c) => new Int32Array(c));
    this.pNode = grow(this.pNode, (c) => new Int32Array(c));
    this.pScore = grow(this.pScore, (c) => new Float32Array(c));
  }
}
