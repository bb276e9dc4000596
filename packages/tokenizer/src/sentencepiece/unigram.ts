/**
 * SentencePiece Unigram encoding: Viterbi over all pieces that match the normalized text.
 *
 * It reproduces the C++ library's optimized encoder step for step, because ties and near-ties are
 * decided by its exact arithmetic: best path scores are stored as float32 sums accumulated over the
 * *whole* text (so late in a 1 MB text the float32 spacing is coarse), piece candidates are compared
 * in double before that rounding while `<unk>` candidates are rounded first, candidates are
 * visited by start position then by length, a later candidate wins only when strictly better, and
 * a character no piece covers becomes `<unk>` with score min(piece scores) - 10.
 */

import { PieceType } from './proto.js';
import type { ByteTrie } from './trie.js';

// Local copies: a module-level const is a plain load, an imported object's property is not (in
// dev/test transforms every access to an import goes through a getter).
/** UTF-8 length from the lead byte (kept local: called once per character). */
const charLength = (b: number): number => (b < 0xc0 ? 1 : b < 0xe0 ? 2 : b < 0xf0 ? 3 : 4);
const NORMAL = PieceType.NORMAL;
const UNUSED = PieceType.UNUSED;
const USER_DEFINED = PieceType.USER_DEFINED;

const UNK_PENALTY = 10;

export interface UnigramVocab {
  trie: ByteTrie;
  scores: Float32Array;
  types: Uint8Array;
  unkId: number;
}

export class UnigramEncoder {
  private readonly trie: ByteTrie;
  private readonly scores: Float32Array;
  private readonly types: Uint8Array;
  private readonly unkId: number;
  private readonly unkScore: number;
  private readonly maxScore: number;
  // Best path ending at each byte offset; reused between calls and grown on demand.
  private bestScore = new Float32Array(0);
  private startsAt = new Int32Array(0);
  private bestId = new Int32Array(0);

  constructor(vocab: UnigramVocab) {
    this.trie = vocab.trie;
    this.scores = vocab.scores;
    this.types = vocab.types;
    this.unkId = vocab.unkId;
    // Only NORMAL pieces set the range, as in the C++ model. Its running max starts at FLT_MIN (the
    // smallest positive float, not the most negative), and log-prob scores are all negative, so the
    // user-defined bonus below is in practice ~ -0.1 per piece; we keep that quirk for equal ids.
    let min = 3.4028234663852886e38; // FLT_MAX
    let max = 1.1754943508222875e-38; // FLT_MIN
    for (let i = 0; i < vocab.scores.length; i++) {
      if (vocab.types[i] !== NORMAL) continue;
      if (vocab.scores[i] < min) min = vocab.scores[i];
      if (vocab.scores[i] > max) max = vocab.scores[i];
    }
    this.unkScore = Math.fround(Math.fround(min) - UNK_PENALTY);
    this.maxScore = Math.fround(max);
  }

  /**
   * Appends (id, start, end) for each piece of the best segmentation of `text` to `emit`; ends are
   * byte offsets into `text`.
   */
  encode(text: Uint8Array, emit: (id: number, start: number, end: number) => void): void {
    const size = text.length;
    if (size === 0) return;
    this.reserve(size + 1);
    const bestScore = this.bestScore;
    const startsAt = this.startsAt;
    const bestId = this.bestId;
    const trie = this.trie;
    const scores = this.scores;
    const types = this.types;
    startsAt.fill(-1, 0, size + 1);
    bestScore[0] = 0;

    let start = 0;
    while (start < size) {
      const here = bestScore[start];
      const charLen = Math.min(charLength(text[start]), size - start);
      let hasSingle = false;
      let node = 0;
      for (let pos = start; pos < size; ) {
        node = trie.child(node, text[pos]);
        if (node < 0) break;
        pos++;
        const id = trie.value(node);
        if (id < 0) continue;
        const type = types[id];
        if (type === UNUSED) continue;
        const length = pos - start;
        // In the C++ code `score` is the conditional `user_defined ? length * max - 0.1 : piece_score`,
        // whose type is double (0.1 is a double), so the candidate sum is a double and is compared
        // with the stored float best *unrounded*; only the stored best is rounded to float.
        const candidate = type === USER_DEFINED ? Math.fround(length * this.maxScore) - 0.1 + here : scores[id] + here;
        if (startsAt[pos] === -1 || candidate > bestScore[pos]) {
          bestScore[pos] = candidate;
          startsAt[pos] = start;
          bestId[pos] = id;
        }
        if (length === charLen) hasSingle = true;
      }
      if (!hasSingle) {
        const pos = start + charLen;
        // Here both operands are float, so the sum is rounded to float before the comparison.
        const candidate = Math.fround(this.unkScore + here);
        if (startsAt[pos] === -1 || candidate > bestScore[pos]) {
          bestScore[pos] = candidate;
          startsAt[pos] = start;
          bestId[pos] = this.unkId;
        }
      }
      start += charLen;
    }

    // Backtrack from the end, then emit in text order.
    let count = 0;
    for (let end = size; end > 0; end = startsAt[end]) count++;
    const ends = new Int32Array(count);
    let k = count;
    for (let end = size; end > 0; end = startsAt[end]) ends[--k] = end;
    for (let i = 0; i < count; i++) {
      const end = ends[i];
      emit(bestId[end], startsAt[end], end);
    }
  }

  private reserve(n: number): void {
    if (this.bestScore.length >= n) return;
    const cap = Math.max(n, this.bestScore.length * 2, 1024);
    this.bestScore = new Float32Array(cap);
    this.startsAt = new Int32Array(cap);
    this.bestId = new Int32Array(cap);
  }
}
