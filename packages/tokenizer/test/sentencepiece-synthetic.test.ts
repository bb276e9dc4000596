/**
 * SentencePiece behaviours the two real models do not exercise (or that CI cannot reach without the
 * Llama model): byte fallback, merge order and ties, UNUSED and USER_DEFINED pieces, whitespace
 * options, and load-time validation. Each model here is written with a tiny protobuf writer.
 */
import { describe, expect, it } from 'vitest';
import { TokenizerError } from '../src/errors.js';
import { sentencePieceFromModel } from '../src/sentencepiece/index.js';

const NORMAL = 1,
  UNKNOWN = 2,
  CONTROL = 3,
  USER_DEFINED = 4,
  UNUSED = 5,
  BYTE = 6;

function varint(n: number): number[] {
  let v = BigInt.asUintN(64, BigInt(n));
  const out: number[] = [];
  do {
    let b = Number(v & 0x7fn);
    v >>= 7n;
    if (v !== 0n) b |= 0x80;
    out.push(b);
  } while (v !== 0n);
  return out;
}
const int = (num: number, v: number): number[] => [...varint(num << 3), ...varint(v)];
const bytesField = (num: number, b: ArrayLike<number>): number[] => [
  ...varint((num << 3) | 2),
  ...varint(b.length),
  ...Array.from(b),
];
const str = (num: number, s: string): number[] => bytesField(num, new TextEncoder().encode(s));
function f32(num: number, x: number): number[] {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setFloat32(0, x, true);
  return [...varint((num << 3) | 5), ...b];
}

type Piece = [piece: string, score: number, type?: number];
interface Spec {
  pieces: Piece[];
  modelType?: number;
  byteFallback?: boolean;
  addDummyPrefix?: boolean;
  removeExtraWhitespaces?: boolean;
  charsmap?: number[];
}

function model(spec: Spec): Uint8Array {
  const out: number[] = [];
  for (const [piece, score, type = NORMAL] of spec.pieces)
    out.push(...bytesField(1, [...str(1, piece), ...f32(2, score), ...int(3, type)]));
  const trainer = [...int(3, spec.modelType ?? 2), ...int(35, spec.byteFallback ? 1 : 0), ...int(43, -1)];
  out.push(...bytesField(2, trainer));
  const normalizer = [
    ...str(1, 'identity'),
    ...int(3, spec.addDummyPrefix === false ? 0 : 1),
    ...int(4, spec.removeExtraWhitespaces ? 1 : 0),
    ...(spec.charsmap ? bytesField(2, spec.charsmap) : []),
  ];
  out.push(...bytesField(3, normalizer));
  return new Uint8Array(out);
}

const base: Piece[] = [
  ['<unk>', 0, UNKNOWN],
  ['<s>', 0, CONTROL],
  ['</s>', 0, CONTROL],
];
const bytePieces: Piece[] = Array.from({ length: 256 }, (_, b) => [
  `<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`,
  0,
  BYTE,
]);

function bpe(pieces: Piece[], extra: Partial<Spec> = {}) {
  const all = [...base, ...pieces];
  const t = sentencePieceFromModel(model({ pieces: all, ...extra }));
  const pieceOf = (ids: number[]): string[] => ids.map((id) => t.idToToken(id)!);
  return { t, pieceOf };
}

describe('SentencePiece BPE rules', () => {
  const chars: Piece[] = ['\u2581', 'a', 'b', 'c'].map((p) => [p, -100]);

  it('merges the highest-scoring pair first', () => {
    const { t, pieceOf } = bpe([...chars, ['ab', -1], ['bc', -2], ['\u2581a', -3]]);
    expect(pieceOf(t.encode('abc'))).toEqual(['\u2581', 'ab', 'c']);
    const other = bpe([...chars, ['ab', -1], ['bc', -0.5], ['\u2581a', -3]]);
    expect(other.pieceOf(other.t.encode('abc'))).toEqual(['\u2581a', 'bc']);
  });

  it('breaks score ties leftmost first', () => {
    const { t, pieceOf } = bpe([...chars, ['ab', -1], ['bc', -1]]);
    expect(pieceOf(t.encode('abc'))).toEqual(['\u2581', 'ab', 'c']);
    expect(pieceOf(t.encode('bcab'))).toEqual(['\u2581', 'bc', 'ab']);
  });

  it('splits an UNUSED piece back into the symbols it was merged from', () => {
    const { t, pieceOf } = bpe([...chars, ['ab', -1, UNUSED], ['abc', -2]]);
    expect(pieceOf(t.encode('abc'))).toEqual(['\u2581', 'abc']);
    expect(pieceOf(t.encode('ab'))).toEqual(['\u2581', 'a', 'b']);
  });

  it('keeps USER_DEFINED pieces whole and never merges into them', () => {
    const { t, pieceOf } = bpe([...chars, ['<sep>', 0, USER_DEFINED], ['\u2581a', -1], ['a<', -0.5]]);
    expect(pieceOf(t.encode('a<sep>b'))).toEqual(['\u2581a', '<sep>', 'b']);
    // A user-defined piece is matched even where the normalizer would have changed it.
    expect(t.normalize('a<sep>b')).toBe('\u2581a<sep>b');
  });

  it('falls back to byte pieces for characters outside the vocabulary and decodes them back', () => {
    const { t, pieceOf } = bpe([...bytePieces, ...chars], { byteFallback: true });
    const ids = t.encode('a\u4f60b');
    expect(pieceOf(ids)).toEqual(['\u2581', 'a', '<0xE4>', '<0xBD>', '<0xA0>', 'b']);
    expect(t.decode(ids)).toBe('a\u4f60b');
    const d = t.decoder();
    expect(ids.map((id) => d.push(id))).toEqual(['', 'a', '', '', '\u4f60', 'b']);
    expect(d.flush()).toBe('');
    // A dangling lead byte at the end of a stream becomes U+FFFD on flush.
    const d2 = t.decoder();
    expect(d2.push(ids[1])).toBe('a');
    expect(d2.push(ids[2])).toBe('');
    expect(d2.flush()).toBe('\ufffd');
  });

  it('without byte fallback, a run of unknown characters is one <unk>', () => {
    const { t } = bpe(chars);
    expect(t.encode('a\u4f60\u597db')).toEqual([3, 4, 0, 5]);
    expect(t.decode([3, 4, 0, 5])).toBe('a \u2047 b');
  });

  it('keeps spaces as written when remove_extra_whitespaces is off', () => {
    const { t } = bpe(chars);
    expect(t.normalize('  a  b ')).toBe('\u2581\u2581\u2581a\u2581\u2581b\u2581');
    expect(t.decode(t.encode('  a  b '))).toBe('  a  b ');
    const noPrefix = bpe(chars, { addDummyPrefix: false });
    expect(noPrefix.t.normalize('a b')).toBe('a\u2581b');
    expect(noPrefix.t.decode(noPrefix.t.encode(' a b'))).toBe(' a b');
  });

  it('collapses spaces when remove_extra_whitespaces is on', () => {
    const { t } = bpe(chars, { removeExtraWhitespaces: true });
    expect(t.normalize('  a  b ')).toBe('\u2581a\u2581b');
    expect(t.normalize('   ')).toBe('');
  });
});

describe('SentencePiece load-time validation', () => {
  const chars: Piece[] = [['a', -1]];

  it('requires an UNKNOWN piece', () => {
    expect(() => sentencePieceFromModel(model({ pieces: [['a', -1]] }))).toThrow(/UNKNOWN/);
  });

  it('rejects duplicate pieces, naming both', () => {
    expect(() => sentencePieceFromModel(model({ pieces: [...base, ['a', -1], ['a', -2]] }))).toThrow(
      /pieces\[4\].*pieces\[3\]/,
    );
  });

  it('rejects byte pieces without byte_fallback and malformed byte pieces', () => {
    expect(() => sentencePieceFromModel(model({ pieces: [...base, ['<0x41>', 0, BYTE]] }))).toThrow(/byte_fallback/);
    expect(() => sentencePieceFromModel(model({ pieces: [...base, ['<0x4>', 0, BYTE]], byteFallback: true }))).toThrow(
      /<0xXX>/,
    );
  });

  it('rejects WORD/CHAR models and unknown piece types', () => {
    expect(() => sentencePieceFromModel(model({ pieces: [...base, ...chars], modelType: 3 }))).toThrow(
      /model_type WORD/,
    );
    expect(() => sentencePieceFromModel(model({ pieces: [...base, ['a', -1, 9]] }))).toThrow(/pieces\[3\]\.type/);
  });

  it('rejects a precompiled_charsmap whose trie does not fit', () => {
    let err: unknown;
    try {
      sentencePieceFromModel(model({ pieces: [...base, ...chars], charsmap: [0xff, 0xff, 0, 0, 1, 2, 3, 4] }));
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(TokenizerError);
    expect((err as TokenizerError).field).toBe('normalizer_spec.precompiled_charsmap');
  });

  it('rejects a wrong wire type, naming the field', () => {
    const bad = new Uint8Array([...bytesField(1, [...str(1, 'a'), ...int(2, 5)])]);
    expect(() => sentencePieceFromModel(bad)).toThrow(/pieces\[0\]\.score/);
  });
});
