/**
 * A byte trie over UTF-8 piece strings, stored in typed arrays.
 *
 * Both SentencePiece algorithms walk the normalized text byte by byte (Unigram: every piece that
 * starts at a position; BPE: "is left+right a piece?"), so lookups must not build strings. Edges
 * live in one open-addressing hash table keyed by (node << 8 | byte); the root's 256 edges get a
 * direct table because every walk starts there. For a 32k vocabulary that is ~200k nodes and a few
 * MB, built once at load.
 */

import { TokenizerError } from '../errors.js';

const EMPTY = -1;
/** Keys are node * 256 + byte in an int32, so nodes must stay below 2^23. */
const MAX_NODES = 1 << 23;

export class ByteTrie {
  /** Value per node: the piece id ending here, or -1. */
  private values: Int32Array;
  private readonly rootEdges = new Int32Array(256).fill(EMPTY);
  private keys: Int32Array;
  private children: Int32Array;
  private mask: number;
  private shift: number;
  private nodeCount = 1;
  private edgeCount = 0;

  constructor(expectedNodes = 1024) {
    this.values = new Int32Array(Math.max(16, expectedNodes)).fill(EMPTY);
    let cap = 16;
    while (cap < expectedNodes * 2) cap *= 2;
    this.keys = new Int32Array(cap).fill(EMPTY);
    this.children = new Int32Array(cap);
    this.mask = cap - 1;
    this.shift = 32 - Math.log2(cap);
  }

  /** Number of nodes including the root. */
  get size(): number {
    return this.nodeCount;
  }

  /** Inserts `bytes` with value `id`. An existing value is kept (first piece wins, like SentencePiece's map insert). */
  insert(bytes: Uint8Array, id: number): void {
    let node = 0;
    for (let i = 0; i < bytes.length; i++) {
      let next = this.child(node, bytes[i]);
      if (next < 0) next = this.addChild(node, bytes[i]);
      node = next;
    }
    if (this.values[node] < 0) this.values[node] = id;
  }

  /** The child of `node` along `byte`, or -1. */
  child(node: number, byte: number): number {
    if (node === 0) return this.rootEdges[byte];
    const key = (node << 8) | byte;
    let h = Math.imul(key, 0x9e3779b1) >>> this.shift;
    const keys = this.keys;
    for (;;) {
      const k = keys[h];
      if (k === key) return this.children[h];
      if (k === EMPTY) return -1;
      h = (h + 1) & this.mask;
    }
  }

  /** The id stored at `node`, or -1 when no piece ends there. */
  value(node: number): number {
    return this.values[node];
  }

  /** The id of the piece spelled by bytes[start, end), or -1. */
  lookup(bytes: Uint8Array, start: number, end: number): number {
    const node = this.walk(0, bytes, start, end);
    return node < 0 ? -1 : this.values[node];
  }

  /** Follows bytes[start, end) from `node`; returns the node reached or -1. */
  walk(node: number, bytes: Uint8Array, start: number, end: number): number {
    for (let i = start; i < end && node >= 0; i++) node = this.child(node, bytes[i]);
    return node;
  }

  /** Length of the longest piece that is a prefix of bytes[start, end), or 0. */
  longestPrefix(bytes: Uint8Array, start: number, end: number): number {
    let node = 0;
    let best = 0;
    for (let i = start; i < end; i++) {
      node = this.child(node, bytes[i]);
      if (node < 0) break;
      if (this.values[node] >= 0) best = i - start + 1;
    }
    return best;
  }

  private addChild(node: number, byte: number): number {
    const id = this.nodeCount++;
    if (id >= MAX_NODES)
      throw new TokenizerError('sentencepiece: vocabulary too large for the piece trie', { field: 'pieces' });
    if (id >= this.values.length) {
      const grown = new Int32Array(this.values.length * 2).fill(EMPTY);
      grown.set(this.values);
      this.values = grown;
    }
    if (node === 0) {
      this.rootEdges[byte] = id;
      return id;
    }
    if ((this.edgeCount + 1) * 2 > this.keys.length) this.rehash(this.keys.length * 2);
    this.put((node << 8) | byte, id);
    this.edgeCount++;
    return id;
  }

  private put(key: number, child: number): void {
    let h = Math.imul(key, 0x9e3779b1) >>> this.shift;
    while (this.keys[h] !== EMPTY) h = (h + 1) & this.mask;
    this.keys[h] = key;
    this.children[h] = child;
  }

  private rehash(cap: number): void {
    const oldKeys = this.keys;
    const oldChildren = this.children;
    this.keys = new Int32Array(cap).fill(EMPTY);
    this.children = new Int32Array(cap);
    this.mask = cap - 1;
    this.shift = 32 - Math.log2(cap);
    for (let i = 0; i < oldKeys.length; i++) if (oldKeys[i] !== EMPTY) this.put(oldKeys[i], oldChildren[i]);
  }
}
