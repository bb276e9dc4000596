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
import type { ComposeSideWeights, DynamicSide } from '@dcformer/kernels';
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
  private disposed = false;

  constructor(batch: number, nLayer: number, pads: readonly number[] = new Array(batch).fill(0)) {
    if (pads.length !== batch)
      throw new InputError(`KVCache: 'pads' must have one entry per row (B = ${batch}); got ${pads.length}`);
    this.batch = batch;
    this.pads = [...pads];
    this.layers = new Array(nLayer).fill(null);
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
