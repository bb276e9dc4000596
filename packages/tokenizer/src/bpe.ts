/**
 * The BPE model: a piece of pre-tokenized text -> token ids. Byte-level models start from one
 * symbol per UTF-8 byte, character-level models (Metaspace tokenizer.json) from one per character
 * with `byte_fallback` / `unk_token` for characters outside the vocabulary. Then the lowest-ranked
 * adjacent pair is merged, leftmost first on ties, until no pair merges: the result HF
 * `tokenizers` and tiktoken produce.
 */
import { TokenizerError, type TokenizerErrorDetails } from './errors.js';
import { BYTE_TO_CHAR, bytesToByteLevel } from './byte-level.js';
import { MergeTable } from './merge-table.js';
import { PieceCache } from './piece-cache.js';
import { utf8Encode } from './unicode.js';

export interface BpeModelConfig {
  /** token string -> id (the model's own vocabulary, without added tokens). */
  vocab: Map<string, number>;
  /** How many merges there are (sizes the table). */
  mergeCount: number;
  /** Calls add(a, b) for each merge in rank order; the parser validates each one as it goes. */
  forEachMerge: (add: (a: string, b: string) => void) => void;
  /** Where merge k came from, for errors: `{ field: 'model.merges[k]' }` or `{ line }`. */
  mergeLocation: (k: number) => TokenizerErrorDetails;
  byteLevel: boolean;
  unkToken?: string | null;
  continuingSubwordPrefix?: string | null;
  endOfWordSuffix?: string | null;
  fuseUnk?: boolean;
  byteFallback?: boolean;
  ignoreMerges?: boolean;
}

const NO_MERGE = 0x7fffffff;
const SMALL_WORD = 48; // longer words use the heap; shorter ones a linear scan (fewer allocations)

export class BpeModel {
  readonly vocab: Map<string, number>;
  /** id -> token string of the model vocabulary (holes are undefined). */
  readonly tokens: (string | undefined)[];
  readonly merges: MergeTable;
  readonly byteLevel: boolean;
  /** id of the single-byte token for each byte (byte-level models); -1 when absent. */
  private readonly byteIds = new Int32Array(256).fill(-1);
  /** id of `<0xNN>` for byte fallback; -1 when absent. */
  private readonly fallbackIds = new Int32Array(256).fill(-1);
  /** id of model.unk_token, or -1. */
  readonly unkId: number;
  private readonly prefix: string;
  private readonly suffix: string;
  private readonly fuseUnk: boolean;
  private readonly byteFallback: boolean;
  private readonly ignoreMerges: boolean;
  private readonly cache = new PieceCache();
  private bytes = new Uint8Array(1024);
  private symbols = new Int32Array(256);
  private readonly ranks = new Int32Array(SMALL_WORD);
  private readonly mergedIds = new Int32Array(SMALL_WORD);

  constructor(config: BpeModelConfig) {
    this.vocab = config.vocab;
    this.tokens = [];
    for (const [token, id] of config.vocab) this.tokens[id] = token;
    this.byteLevel = config.byteLevel;
    this.prefix = config.continuingSubwordPrefix ?? '';
    this.suffix = config.endOfWordSuffix ?? '';
    this.fuseUnk = config.fuseUnk ?? false;
    this.byteFallback = config.byteFallback ?? false;
    this.ignoreMerges = config.ignoreMerges ?? false;
    const unk = config.unkToken ?? null;
    this.unkId = unk === null ? -1 : (config.vocab.get(unk) ?? -1);
    if (unk !== null && this.unkId < 0) {
      throw new TokenizerError(`tokenizer.json: 'model.unk_token' ${JSON.stringify(unk)} is not in model.vocab`, {
        field: 'model.unk_token',
      });
    }
    for (let b = 0; b < 256; b++) {
      this.byteIds[b] = config.vocab.get(BYTE_TO_CHAR[b]) ?? -1;
      this.fallbackIds[b] = config.vocab.get(`<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`) ?? -1;
    }
    this.merges = new MergeTable(config.mergeCount);
    const prefixLength = this.prefix.length;
    let rank = 0;
    let lastMerged = -1;
    config.forEachMerge((a, b) => {
      const left = config.vocab.get(a);
      const right = config.vocab.get(b);
      const tail = prefixLength > 0 && b.startsWith(this.prefix) ? b.slice(prefixLength) : b;
      // Vocabularies list merge results in merge order, so the result is almost always the id after
      // the previous one: checking that string is ~10x cheaper than hashing a + b (Qwen: 151k/151k).
      const guess = this.tokens[lastMerged + 1];
      const merged =
        guess !== undefined && guess.length === a.length + tail.length && guess.startsWith(a) && guess.endsWith(tail)
          ? lastMerged + 1
          : config.vocab.get(a + tail);
      if (left === undefined || right === undefined || merged === undefined) {
        const missing = left === undefined ? a : right === undefined ? b : a + b;
        const where = config.mergeLocation(rank);
        const at = where.field !== undefined ? `'${where.field}'` : `line ${where.line}`;
        throw new TokenizerError(
          `${where.file ?? 'tokenizer.json'}: merge at ${at} (${JSON.stringify(a)} ${JSON.stringify(b)}) uses ${JSON.stringify(missing)}, which is not in the vocabulary`,
          where,
        );
      }
      this.merges.set(left, right, rank++, merged);
      lastMerged = merged;
    });
  }

  /** Appends the ids of one pre-tokenized piece to out. */
  encodePiece(piece: string, out: number[]): void {
    this.encodeRange(piece, 0, piece.length, out);
  }

  /** Appends the ids of the piece text[start, end) to out; slices it out only on a cache miss. */
  encodeRange(text: string, start: number, end: number, out: number[]): void {
    const hash = PieceCache.hash(text, start, end);
    let ids = this.cache.get(text, start, end, hash);
    if (ids === undefined) {
      const piece = start === 0 && end === text.length ? text : text.slice(start, end);
      ids = this.byteLevel ? this.encodeBytes(piece) : this.encodeChars(piece);
      this.cache.set(piece, hash, ids);
    }
    for (let k = 0; k < ids.length; k++) out.push(ids[k]);
  }

  private ensureCapacity(n: number): void {
    if (this.symbols.length < n) this.symbols = new Int32Array(n * 2);
  }

  private encodeBytes(piece: string): number[] {
    if (this.bytes.length < piece.length * 3) this.bytes = new Uint8Array(piece.length * 6);
    const n = utf8Encode(piece, 0, piece.length, this.bytes);
    if (this.prefix.length > 0 || this.suffix.length > 0) {
      // Subword prefixes/suffixes attach to byte characters: run the character path on them.
      return this.encodeChars(bytesToByteLevel(this.bytes.subarray(0, n)));
    }
    if (this.ignoreMerges) {
      const whole = this.vocab.get(bytesToByteLevel(this.bytes.subarray(0, n)));
      if (whole !== undefined) return [whole];
    }
    this.ensureCapacity(n);
    const symbols = this.symbols;
    let count = 0;
    for (let k = 0; k < n; k++) {
      const id = this.byteIds[this.bytes[k]];
      if (id >= 0) symbols[count++] = id;
      else count = this.pushUnknown(symbols, count, this.bytes.subarray(k, k + 1));
    }
    return this.mergeAll(count);
  }

  private encodeChars(piece: string): number[] {
    if (this.ignoreMerges) {
      const whole = this.vocab.get(piece);
      if (whole !== undefined) return [whole];
    }
    this.ensureCapacity(piece.length * 3 + 1); // byte fallback: up to 3 symbols per UTF-16 unit
    const symbols = this.symbols;
    let count = 0;
    for (let i = 0; i < piece.length; ) {
      const cp = piece.codePointAt(i)!;
      const width = cp > 0xffff ? 2 : 1;
      let text = piece.slice(i, i + width);
      if (i > 0 && this.prefix.length > 0) text = this.prefix + text;
      if (i + width === piece.length && this.suffix.length > 0) text += this.suffix;
      const id = this.vocab.get(text);
      if (id !== undefined) {
        symbols[count++] = id;
      } else {
        const bytes = new Uint8Array(4);
        count = this.pushUnknown(symbols, count, bytes.subarray(0, utf8Encode(piece, i, i + width, bytes)));
      }
      i += width;
    }
    return this.mergeAll(count);
  }

  /** A character (or byte) outside the vocabulary: byte fallback, else unk (fused if asked), else dropped as HF does. */
  private pushUnknown(symbols: Int32Array, count: number, bytes: Uint8Array): number {
    if (this.byteFallback) {
      let ok = true;
      for (let k = 0; k < bytes.length; k++) ok &&= this.fallbackIds[bytes[k]] >= 0;
      if (ok) {
        for (let k = 0; k < bytes.length; k++) symbols[count++] = this.fallbackIds[bytes[k]];
        return count;
      }
    }
    if (this.unkId < 0) return count;
    if (this.fuseUnk && count > 0 && symbols[count - 1] === this.unkId) return count;
    symbols[count++] = this.unkId;
    return count;
  }

  private mergeAll(count: number): number[] {
    const symbols = this.symbols;
    if (count === 1 || this.merges.size === 0) return Array.from(symbols.subarray(0, count));
    if (count > SMALL_WORD) return this.mergeWithHeap(count);
    // ranks[k] / mergedIds[k]: the merge of the pair (symbols[k], symbols[k + 1]).
    const ranks = this.ranks;
    const mergedIds = this.mergedIds;
    for (let k = 0; k + 1 < count; k++) this.lookup(k, symbols[k], symbols[k + 1]);
    while (count > 1) {
      let best = -1;
      let bestRank = NO_MERGE;
      for (let k = 0; k + 1 < count; k++) {
        if (ranks[k] < bestRank) {
          bestRank = ranks[k];
          best = k;
        }
      }
      if (best < 0) break;
      symbols[best] = mergedIds[best];
      // Close the gap left by symbols[best + 1] (words here are short: a loop beats copyWithin).
      for (let k = best + 1; k + 1 < count; k++) {
        symbols[k] = symbols[k + 1];
        ranks[k] = ranks[k + 1];
        mergedIds[k] = mergedIds[k + 1];
      }
      count--;
      if (best > 0) this.lookup(best - 1, symbols[best - 1], symbols[best]);
      if (best + 1 < count) this.lookup(best, symbols[best], symbols[best + 1]);
    }
    const out = new Array<number>(count);
    for (let k = 0; k < count; k++) out[k] = symbols[k];
    return out;
  }

  private lookup(k: number, a: number, b: number): void {
    const slot = this.merges.find(a, b);
    if (slot < 0) {
      this.ranks[k] = NO_MERGE;
    } else {
      this.ranks[k] = this.merges.rankAt(slot);
      this.mergedIds[k] = this.merges.mergedAt(slot);
    }
  }

  /** O(n log n) merging for long words: a linked list of symbols and a heap of candidate pairs. */
  private mergeWithHeap(count: number): number[] {
    const symbols = this.symbols.slice(0, count);
    const next = new Int32Array(count);
    const prev = new Int32Array(count);
    for (let k = 0; k < count; k++) {
      next[k] = k + 1 < count ? k + 1 : -1;
      prev[k] = k - 1;
    }
    const heap = new PairHeap();
    const consider = (left: number): void => {
      const right = next[left];
      if (left < 0 || right < 0) return;
      const s = this.merges.find(symbols[left], symbols[right]);
      if (s >= 0) heap.push(this.merges.rankAt(s), left, symbols[left], symbols[right]);
    };
    for (let k = 0; k + 1 < count; k++) consider(k);
    while (heap.size > 0) {
      const { pos, a, b } = heap.pop();
      const right = next[pos];
      // Stale entries: a side was merged away or changed since the pair was queued.
      if (symbols[pos] !== a || right < 0 || symbols[right] !== b) continue;
      symbols[pos] = this.merges.mergedAt(this.merges.find(a, b));
      symbols[right] = -1;
      next[pos] = next[right];
      if (next[right] >= 0) prev[next[right]] = pos;
      consider(prev[pos]);
      consider(pos);
    }
    const out: number[] = [];
    for (let k = 0; k >= 0; k = next[k]) out.push(symbols[k]);
    return out;
  }
}

/** A binary min-heap of (rank, pos) with the pair's ids for staleness checks. */
class PairHeap {
  private ranks: number[] = [];
  private positions: number[] = [];
  private lefts: number[] = [];
  private rights: number[] = [];
  size = 0;

  private less(i: number, j: number): boolean {
    return this.ranks[i] < this.ranks[j] || (this.ranks[i] === this.ranks[j] && this.positions[i] < this.positions[j]);
  }

  private swap(i: number, j: number): void {
    for (const arr of [this.ranks, this.positions, this.lefts, this.rights]) {
      const t = arr[i];
      arr[i] = arr[j];
      arr[j] = t;
    }
  }

  push(rank: number, pos: number, a: number, b: number): void {
    let i = this.size++;
    this.ranks[i] = rank;
    this.positions[i] = pos;
    this.lefts[i] = a;
    this.rights[i] = b;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.less(i, parent)) break;
      this.swap(i, parent);
      i = parent;
    }
  }

  pop(): { pos: number; a: number; b: number } {
    const top = { pos: this.positions[0], a: this.lefts[0], b: this.rights[0] };
    this.size--;
    if (this.size > 0) {
      this.swap(0, this.size);
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < this.size && this.less(l, m)) m = l;
        if (r < this.size && this.less(r, m)) m = r;
        if (m === i) break;
        this.swap(i, m);
        i = m;
      }
    }
    return top;
  }
}
