/**
 * KV + KW caches for prefill and decode (docs/dcmha.md "Decode with a cache").
 *
 * Per layer we keep K and V [B,N,S,E] and the key-side dynamic weights of both Compose calls in
 * factored form (kw1, kw2 [B,S,I,N], kdd [B,S,N]): 2·(2·I·N + N) floats per position, smaller than
 * the two N×N matrices (2·N²) for N > 5 and consumed by the same Compose kernel as training, so decode
 * and the full forward share one code path. Local layers keep only the last W − 1 positions (what
 * the next query can see besides itself).
 *
 * Positions are indices in the (left-padded) batch; row b's real tokens start at `pads[b]`.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Tensor } from '@tensorflow/tfjs-core';
import type { ComposeSideWeights, DecodeLayerRows, DynamicSide } from '@dcformer/kernels';
import { InputError, isHostBackend } from '@dcformer/kernels';

export interface LayerCache {
  k_BNSE: Tensor;
  v_BNSE: Tensor;
  /** Key-side weights of both Compose calls for the cached positions; null for Transformer++ or keyWise off. */
  key: DynamicSide | null;
  /** Index of the first cached key. */
  start: number;
}

export class KVCache {
  readonly batch: number;
  /** Per row: how many left-padding positions precede its first real token. */
  readonly pads: readonly number[];
  /** Positions consumed so far (the index of the next token). */
  length = 0;
  layers: (LayerCache | null)[];
  /**
   * Layers a decode layer (@dcformer/kernels) runs keep their positions here instead, as rows of plain
   * arrays it writes in place; a layer is in one form or the other (null in `layers` while in rows).
   */
  rows: (RowLayer | null)[];
  private disposed = false;

  constructor(batch: number, nLayer: number, pads: readonly number[] = new Array(batch).fill(0)) {
    if (pads.length !== batch)
      throw new InputError(`KVCache: 'pads' must have one entry per row (B = ${batch}); got ${pads.length}`);
    this.batch = batch;
    this.pads = [...pads];
    this.layers = new Array(nLayer).fill(null);
    this.rows = new Array(nLayer).fill(null);
  }

  /**
   * Layer `index` as rows with room for one more position (converting its tensors the first time). `side`: the sizes of the key-side rows (I·N and N), null without them.
   */
  rowLayer(index: number, N: number, E: number, side: { I: number; N: number } | null): RowLayer {
    let r = this.rows[index];
    if (r === null) {
      const l = this.layers[index];
      r = l === null ? emptyRows(this.batch, N, E, side, this.length, 64) : rowsOf(l, this.batch, N, E, side);
      if (l !== null) for (const t of tensorsOf(l)) t.dispose();
      this.layers[index] = null;
      this.rows[index] = r;
    }
    reserveRow(r);
    return r;
  }

  /** Every layer held as rows back as tensors, for the tfjs path (a prefill after decode steps). */
  toTensors(): void {
    this.rows.forEach((r, i) => {
      if (r === null) return;
      this.rows[i] = null;
      if (r.count > 0) this.setLayer(i, tensorsOfRows(r));
    });
  }

  /** True when some row is left-padded (attention then masks those keys per row). */
  get padded(): boolean {
    return this.pads.some((p) => p > 0);
  }

  /** Replaces a layer's state, disposing tensors of the old one that the new one does not reuse. */
  setLayer(index: number, next: LayerCache): void {
    const prev = this.layers[index];
    const keep = new Set(tensorsOf(next));
    if (prev) for (const t of tensorsOf(prev)) if (!keep.has(t)) t.dispose();
    for (const t of keep) tf.keep(t);
    this.layers[index] = next;
  }

  /** Tensors held by the cache (for memory accounting). */
  get numTensors(): number {
    return this.layers.reduce((n, l) => n + (l ? tensorsOf(l).length : 0), 0);
  }

  dispose(): void {
    if (this.disposed) return;
    for (const l of this.layers) if (l) for (const t of tensorsOf(l)) t.dispose();
    this.layers = this.layers.map(() => null);
    this.rows = this.rows.map(() => null);
    this.disposed = true;
  }
}

function sideTensors(w: ComposeSideWeights): Tensor[] {
  return [w.w1, w.w2, w.dd];
}

function tensorsOf(l: LayerCache): Tensor[] {
  return l.key === null
    ? [l.k_BNSE, l.v_BNSE]
    : [l.k_BNSE, l.v_BNSE, ...sideTensors(l.key.pre), ...sideTensors(l.key.post)];
}

/** `f` on each of a side's six tensors (both calls' w1, w2, dd; positions on axis 1) and the same slot of `b`. */
function zipSide(a: DynamicSide, b: DynamicSide, f: (x: Tensor, y: Tensor) => Tensor): DynamicSide {
  const call = (c: 'pre' | 'post'): ComposeSideWeights => ({
    w1: f(a[c].w1, b[c].w1),
    w2: f(a[c].w2, b[c].w2),
    dd: f(a[c].dd, b[c].dd),
  });
  return { pre: call('pre'), post: call('post') };
}

/**
 * Growable storage behind the key-side weights of a one-row cache on a host backend. kw1, kw2
 * [1,S,I,N] and kdd [1,S,N] keep positions outermost, so positions [first, first + S) of a buffer
 * are one contiguous run and a tensor can be a view of it (tfjs's cpu backend keeps the array it is
 * given). Appending then writes only the new rows after the last ones — O(1) per decode step instead
 * of a Concat that copies all S rows (6 of the 8 per layer) — and never touches rows a live tensor
 * sees: a view ends where the buffer's written rows end, or the rows are copied to a new buffer.
 * (K and V, [B,N,S,E], are not contiguous along S and keep their Concat.)
 */
interface Rows {
  buf: Float32Array;
  /** Rows written so far (the end of the newest view). */
  used: number;
}
const viewOf = new WeakMap<Tensor, { rows: Rows; first: number }>();

function rowView(rows: Rows, first: number, count: number, shape: number[]): Tensor {
  const row = shape.slice(2).reduce((a, b) => a * b, 1);
  const t = tf.tensor(rows.buf.subarray(first * row, (first + count) * row), [1, count, ...shape.slice(2)], 'float32');
  viewOf.set(t, { rows, first });
  return t;
}

/** `old` ++ `added` along axis 1 (positions) of [1, S, …]; a view of growable rows where possible. */
function appendRows(old: Tensor, added: Tensor): Tensor {
  if (old.shape[0] !== 1 || old.dtype !== 'float32' || !isHostBackend(tf.backend())) return tf.concat([old, added], 1);
  const shape = old.shape as number[];
  const row = shape.slice(2).reduce((a, b) => a * b, 1);
  const S0 = shape[1];
  const S1 = S0 + (added.shape[1] as number);
  let at = viewOf.get(old);
  if (at === undefined || at.first + S0 !== at.rows.used || (at.first + S1) * row > at.rows.buf.length) {
    // a new buffer with room to grow (double the rows, so copies are O(1) per step on average)
    const rows: Rows = { buf: new Float32Array(Math.max(64, 2 * S1) * row), used: S0 };
    rows.buf.set(old.dataSync() as Float32Array);
    at = { rows, first: 0 };
  }
  at.rows.buf.set(added.dataSync() as Float32Array, (at.first + S0) * row);
  at.rows.used = at.first + S1;
  return rowView(at.rows, at.first, S1, shape);
}

/** Positions [drop, S) of [1, S, …]: a view when `t` is one (nothing copied), else a slice. */
function dropRows(t: Tensor, drop: number): Tensor {
  const at = viewOf.get(t);
  const S = t.shape[1] as number;
  if (at === undefined) return tf.slice(t, [0, drop], [-1, S - drop]);
  return rowView(at.rows, at.first + drop, S - drop, t.shape as number[]);
}

/** Cached ++ new keys along their position axis: K and V by Concat, the key-side weights by appendRows. */
export function appendKeys(
  cached: LayerCache | null,
  k_BNSE: Tensor,
  v_BNSE: Tensor,
  key: DynamicSide | null,
  start: number,
): LayerCache {
  if (cached === null) return { k_BNSE, v_BNSE, key, start };
  return {
    k_BNSE: tf.concat([cached.k_BNSE, k_BNSE], 2),
    v_BNSE: tf.concat([cached.v_BNSE, v_BNSE], 2),
    key: cached.key === null || key === null ? null : zipSide(cached.key, key, appendRows),
    start: cached.start,
  };
}

/** Drops keys before `first` (an index ≥ l.start). */
export function trimKeys(l: LayerCache, first: number): LayerCache {
  const drop = first - l.start;
  if (drop <= 0) return l;
  const S = l.k_BNSE.shape[2] as number;
  const keep = S - drop;
  return {
    k_BNSE: tf.slice(l.k_BNSE, [0, 0, drop, 0], [-1, -1, keep, -1]),
    v_BNSE: tf.slice(l.v_BNSE, [0, 0, drop, 0], [-1, -1, keep, -1]),
    key: l.key === null ? null : zipSide(l.key, l.key, (t) => dropRows(t, drop)),
    start: first,
  };
}

/**
 * A layer's positions as rows (DecodeLayerRows of @dcformer/kernels): k and v [B, N, cap, E], the key
 * side's kw1, kw2 [B, cap, I, N] and kdd [B, cap, N] for both Compose calls. Rows first … first +
 * count − 1 hold positions start … start + count − 1.
 */
export interface RowLayer extends DecodeLayerRows {
  side: Float32Array[] | null;
  readonly B: number;
  readonly N: number;
  readonly E: number;
  /** Floats per row of each side array (I·N or N). */
  readonly sideRow: readonly number[];
}

function sideRowSizes(side: { I: number; N: number } | null): number[] {
  return side === null ? [] : [0, 1, 2, 3, 4, 5].map((s) => (s % 3 === 2 ? side.N : side.I * side.N));
}

function emptyRows(
  B: number,
  N: number,
  E: number,
  side: { I: number; N: number } | null,
  start: number,
  cap: number,
): RowLayer {
  const sideRow = sideRowSizes(side);
  return {
    k: new Float32Array(B * N * cap * E),
    v: new Float32Array(B * N * cap * E),
    side: side === null ? null : sideRow.map((n) => new Float32Array(B * cap * n)),
    cap,
    first: 0,
    count: 0,
    start,
    B,
    N,
    E,
    sideRow,
  };
}

/**
 * Copies `count` rows of `width` floats per run: run r (B·N runs for k and v, B for a side array)
 * from row `from` of a run of `fromCap` rows in `src` to row 0 of a run of `toCap` rows in `dst`.
 */
function copyRuns(
  src: Float32Array,
  dst: Float32Array,
  runs: number,
  width: number,
  fromCap: number,
  from: number,
  toCap: number,
  count: number,
): void {
  for (let r = 0; r < runs; r++)
    dst.set(src.subarray((r * fromCap + from) * width, (r * fromCap + from + count) * width), r * toCap * width);
}

/** A tensor layer as rows: each sequence's and head's S keys become its first S rows. */
function rowsOf(l: LayerCache, B: number, N: number, E: number, side: { I: number; N: number } | null): RowLayer {
  const S = l.k_BNSE.shape[2] as number;
  const r = emptyRows(B, N, E, l.key === null ? null : side, l.start, Math.max(64, 2 * (S + 1)));
  copyRuns(l.k_BNSE.dataSync() as Float32Array, r.k, B * N, E, S, 0, r.cap, S);
  copyRuns(l.v_BNSE.dataSync() as Float32Array, r.v, B * N, E, S, 0, r.cap, S);
  if (l.key !== null && r.side !== null) {
    const from = [...sideTensors(l.key.pre), ...sideTensors(l.key.post)];
    from.forEach((t, s) =>
      copyRuns(t.dataSync() as Float32Array, (r.side as Float32Array[])[s], B, r.sideRow[s], S, 0, r.cap, S),
    );
  }
  r.count = S;
  return r;
}

/** Rows back as a tensor layer (copies: the rows stay writable by the decode layer). */
function tensorsOfRows(r: RowLayer): LayerCache {
  const { B, N, E, count: S } = r;
  const kv = (buf: Float32Array) => {
    const out = new Float32Array(B * N * S * E);
    copyRuns(buf, out, B * N, E, r.cap, r.first, S, S);
    return tf.tensor(out, [B, N, S, E], 'float32');
  };
  let key: DynamicSide | null = null;
  if (r.side !== null) {
    const t = r.side.map((buf, s) => {
      const n = r.sideRow[s];
      const out = new Float32Array(B * S * n);
      copyRuns(buf, out, B, n, r.cap, r.first, S, S);
      return tf.tensor(out, [B, S, ...(s % 3 === 2 ? [n] : [n / N, N])], 'float32');
    });
    key = { pre: { w1: t[0], w2: t[1], dd: t[2] }, post: { w1: t[3], w2: t[4], dd: t[5] } };
  }
  return { k_BNSE: kv(r.k), v_BNSE: kv(r.v), key, start: r.start };
}

/** Moves the kept rows to the front of runs of `cap` rows (new buffers when the size changes). */
function growRows(r: RowLayer, cap: number): void {
  const { B, N, E, first, count } = r;
  const move = (buf: Float32Array, runs: number, width: number) => {
    const out = cap === r.cap ? buf : new Float32Array(runs * cap * width);
    copyRuns(buf, out, runs, width, r.cap, first, cap, count); // in place: each run moves toward its start
    return out;
  };
  r.k = move(r.k, B * N, E);
  r.v = move(r.v, B * N, E);
  if (r.side !== null) r.side = r.side.map((buf, s) => move(buf, B, r.sideRow[s]));
  r.cap = cap;
  r.first = 0;
}

/**
 * Room for row first + count: the kept rows move to the front while they fill at most half the
 * buffer (a local layer's window slides through it), else the buffer doubles — O(1) per step on
 * average either way.
 */
function reserveRow(r: RowLayer): void {
  if (r.first + r.count + 1 <= r.cap) return;
  growRows(r, 2 * (r.count + 1) <= r.cap ? r.cap : Math.max(64, 2 * (r.count + 1)));
}

/** After the decode layer wrote row first + count: count it, and drop rows the next query cannot see. */
export function advanceRows(r: RowLayer, position: number, window: number | null): void {
  r.count += 1;
  if (window === null) return;
  const keep = Math.max(r.start, position - window + 2);
  const drop = keep - r.start;
  r.first += drop;
  r.count -= drop;
  r.start = keep;
}
