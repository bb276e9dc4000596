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
import { InputError } from '@dcformer/kernels';

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

/** Concatenates cached and new key-side tensors along their position axis. */
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
    key:
      cached.key === null || key === null ? null : zipSide(cached.key, key, (old, added) => tf.concat([old, added], 1)),
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
    key: l.key === null ? null : zipSide(l.key, l.key, (t) => tf.slice(t, [0, drop], [-1, keep])),
    start: first,
  };
}
