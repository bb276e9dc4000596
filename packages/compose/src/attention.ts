import * as tf from '@tensorflow/tfjs-core';
import type { Tensor } from '@tensorflow/tfjs-core';
import {
  ShapeError,
  composeInputNames,
  dcmhaCompose,
  dcmhaComposeBackward,
  formatLettered,
  formatShape,
  type ComposeAttrs,
  type ComposeInputs,
  type ComposeWeights,
} from '@dcformer/kernels';

export interface AttentionOptions {
  /** W: a query at absolute position p sees keys p−W+1 … p. null: every earlier key (global layer). */
  window: number | null;
  /** Queries per chunk; each chunk sees only its key range, and the backward pass recomputes per chunk. */
  chunkSize: number;
  /** Absolute position of key 0 (a cache may hold only the last keys). Default 0. */
  keyOffset?: number;
  /** Absolute position of query 0. Default keyOffset + S − T: the queries are the last T keys. */
  queryOffset?: number;
  /**
   * Per batch row, the absolute position of its first real key; earlier keys are padding and
   * masked out (left-padded batches of different lengths). Default: no padding.
   */
  keyStart?: readonly number[];
  /** Which sides of both Compose calls are on; ignored when no dynamic weights are given. */
  compose?: ComposeAttrs;
  /**
   * Bytes of per-chunk intermediates (scores, probabilities, post-Compose output) the forward may
   * keep for the backward pass instead of recomputing them there. Past the budget every chunk is
   * recomputed, so memory stays O(T·(chunk + W)) however long the sequence. Default 256 MiB; 0
   * always recomputes.
   */
  saveBudgetBytes?: number;
}

export const DEFAULT_SAVE_BUDGET_BYTES = 256 * 2 ** 20;

/** Dynamic weights for the two Compose calls, with q-side tensors over T and k-side tensors over S. */
export interface AttentionWeights {
  pre: ComposeWeights;
  post: ComposeWeights;
}

interface ChunkRange {
  t0: number;
  t1: number;
  ks: number;
  ke: number;
}

/**
 * Query chunks and the key indices each sees: positions [p0 − W + 1, p1) for local layers, every key
 * up to p1 for global ones (p0, p1 the chunk's first and past-last query positions).
 */
export function chunkRanges(
  T: number, S: number, queryOffset: number, window: number | null, chunkSize: number, keyOffset = 0,
): ChunkRange[] {
  const ranges: ChunkRange[] = [];
  for (let t0 = 0; t0 < T; t0 += chunkSize) {
    const t1 = Math.min(T, t0 + chunkSize);
    const first = window === null ? keyOffset : Math.max(keyOffset, queryOffset + t0 - window + 1);
    const ks = Math.min(S, first - keyOffset);
    const ke = Math.max(ks, Math.min(S, queryOffset + t1 - keyOffset));
    ranges.push({ t0, t1, ks, ke });
  }
  return ranges;
}

interface Positions {
  queryOffset: number;
  keyOffset: number;
  window: number | null;
  keyStart?: readonly number[];
}

/**
 * [B|1,1,tc,sc] additive mask: 0 where key s is visible from query t (causal, inside the window, not
 * padding), MASKED elsewhere. Adding it (one broadcasting add) replaces tf.where, which broadcasts
 * the mask and the fill value to the full [B,N,tc,sc] first.
 */
function chunkMask(r: ChunkRange, pos: Positions): Tensor {
  const tc = r.t1 - r.t0;
  const sc = r.ke - r.ks;
  const rows = pos.keyStart ?? [-Infinity];
  const data = new Float32Array(rows.length * tc * sc);
  rows.forEach((start, b) => {
    for (let t = 0; t < tc; t++) {
      const p = pos.queryOffset + r.t0 + t;
      for (let s = 0; s < sc; s++) {
        const key = pos.keyOffset + r.ks + s;
        const visible = key <= p && (pos.window === null || key > p - pos.window) && key >= start;
        data[(b * tc + t) * sc + s] = visible ? 0 : MASKED;
      }
    }
  });
  return tf.tensor(data, [rows.length, 1, tc, sc], 'float32');
}

function sliceSides(w: ComposeWeights, r: ChunkRange): ComposeWeights {
  const out: ComposeWeights = {};
  for (const [name, t] of Object.entries(w) as [keyof ComposeWeights, Tensor][]) {
    const [lo, hi] = name.startsWith('q') ? [r.t0, r.t1] : [r.ks, r.ke];
    out[name] = tf.slice(t, [0, lo], [-1, hi - lo]);
  }
  return out;
}

/**
 * The reference fills masked logits with float32 min. Adding −1e30 instead gives the same softmax:
 * a masked entry's exp underflows to exactly 0, and in a row with no visible key every entry rounds
 * to −1e30 (|logit| ≪ ulp(1e30) ≈ 8e22), so the row is uniform, as with the fill. Float32 min itself
 * would overflow to −∞ when added to a negative logit.
 */
const MASKED = -1e30;

/** What the backward of one chunk needs from its forward. */
interface ChunkForward {
  scores_BNTS: Tensor; // q·kᵀ/√E, the pre-Compose input
  probs_BNTS: Tensor; // softmax output, the post-Compose input
  mixed_BNTS: Tensor; // post-Compose output (= probs without post-Compose)
}

function forwardChunk(
  q_BNTE: Tensor, k_BNSE: Tensor, mask: Tensor, scale: number,
  pre: ComposeWeights | null, post: ComposeWeights | null, attrs: ComposeAttrs,
): ChunkForward {
  const scores_BNTS = tf.mul(tf.matMul(q_BNTE, k_BNSE, false, true), scale);
  const logits_BNTS = pre === null ? scores_BNTS : dcmhaCompose({ x: scores_BNTS, ...pre }, attrs);
  const probs_BNTS = tf.softmax(tf.add(logits_BNTS, mask));
  const mixed_BNTS = post === null ? probs_BNTS : dcmhaCompose({ x: probs_BNTS, ...post }, attrs);
  return { scores_BNTS, probs_BNTS, mixed_BNTS };
}

function checkInputs(q: Tensor, k: Tensor, v: Tensor, options: AttentionOptions): void {
  if (q.rank !== 4 || k.rank !== 4 || v.rank !== 4) {
    throw new ShapeError(`dcmhaAttention: q, k, v must be rank 4 [B,N,T,E], [B,N,S,E], [B,N,S,E]; got ${formatShape(q.shape)}, ${formatShape(k.shape)}, ${formatShape(v.shape)}`);
  }
  const [B, N, , E] = q.shape as number[];
  const S = k.shape[2] as number;
  for (const [name, t] of [['k', k], ['v', v]] as const) {
    const want = [B, N, S, E];
    if ((t.shape as number[]).some((d, i) => d !== want[i])) {
      throw new ShapeError(`dcmhaAttention: '${name}' must be ${formatLettered('BNSE', want)} to match q ${formatLettered('BNTE', q.shape)}; got ${formatShape(t.shape)}`);
    }
  }
  if (!Number.isInteger(options.chunkSize) || options.chunkSize < 1) {
    throw new ShapeError(`dcmhaAttention: 'chunkSize' must be a positive integer; got ${options.chunkSize}`);
  }
  if (options.window !== null && (!Number.isInteger(options.window) || options.window < 1)) {
    throw new ShapeError(`dcmhaAttention: 'window' must be a positive integer or null; got ${options.window}`);
  }
}

/**
 * Attention with DCMHA: scores q·kᵀ/√E, pre-Compose, mask, float32 softmax, post-Compose, ·v.
 * Runs in query chunks over each chunk's key range. The custom gradient reuses each chunk's
 * intermediates while they fit `saveBudgetBytes` and recomputes them otherwise, so attention
 * memory in training stays bounded (O(T·(chunk + W)) for a local layer). `weights` null: plain MHA.
 *
 * q [B,N,T,E], k and v [B,N,S,E] → [B,N,T,E]. Gradients flow to q, k, v and every dynamic weight.
 */
export function dcmhaAttention(
  q_BNTE: Tensor, k_BNSE: Tensor, v_BNSE: Tensor, weights: AttentionWeights | null, options: AttentionOptions,
): Tensor {
  checkInputs(q_BNTE, k_BNSE, v_BNSE, options);
  const [, , T, E] = q_BNTE.shape as number[];
  const S = k_BNSE.shape[2] as number;
  const keyOffset = options.keyOffset ?? 0;
  const queryOffset = options.queryOffset ?? keyOffset + S - T;
  const positions: Positions = { queryOffset, keyOffset, window: options.window, keyStart: options.keyStart };
  if (options.keyStart !== undefined && options.keyStart.length !== (q_BNTE.shape[0] as number)) {
    throw new ShapeError(`dcmhaAttention: 'keyStart' must have one entry per batch row (B = ${q_BNTE.shape[0]}); got ${options.keyStart.length}`);
  }
  const attrs: ComposeAttrs = options.compose ?? { queryWise: true, keyWise: true };
  const names = composeInputNames(attrs).filter((n) => n !== 'x') as (keyof ComposeWeights)[];
  const scale = 1 / Math.sqrt(E);
  const ranges = chunkRanges(T, S, queryOffset, options.window, options.chunkSize, keyOffset);
  const composed = weights !== null;
  const inputs = [q_BNTE, k_BNSE, v_BNSE];
  if (composed) for (const side of [weights.pre, weights.post]) for (const n of names) inputs.push(side[n] as Tensor);

  const unpack = (xs: Tensor[]) => {
    const [q, k, v, ...rest] = xs;
    if (!composed) return { q, k, v, pre: null, post: null };
    const pre: ComposeWeights = {};
    const post: ComposeWeights = {};
    names.forEach((n, i) => {
      pre[n] = rest[i];
      post[n] = rest[names.length + i];
    });
    return { q, k, v, pre, post };
  };

  // Keep each chunk's intermediates for the backward when they fit the budget (no recompute);
  // with dynamic weights that is scores, probs and mixed, without them probs alone.
  const [B, N] = q_BNTE.shape as number[];
  const perChunk = composed ? 3 : 1;
  const keptBytes = ranges.reduce((sum, r) => sum + B * N * (r.t1 - r.t0) * (r.ke - r.ks) * 4 * perChunk, 0);
  const keep = keptBytes <= (options.saveBudgetBytes ?? DEFAULT_SAVE_BUDGET_BYTES);

  const run = tf.customGrad((...args: unknown[]) => {
    const save = args.pop() as (ts: Tensor[]) => void;
    const xs = args as Tensor[];
    const { q, k, v, pre, post } = unpack(xs);
    const kept: Tensor[] = [];
    const outs = ranges.map((r) =>
      tf.tidy(() => {
        const mask = chunkMask(r, positions);
        const kv = (t: Tensor) => tf.slice(t, [0, 0, r.ks, 0], [-1, -1, r.ke - r.ks, -1]);
        const qc = tf.slice(q, [0, 0, r.t0, 0], [-1, -1, r.t1 - r.t0, -1]);
        const f = forwardChunk(qc, kv(k), mask, scale, pre && sliceSides(pre, r), post && sliceSides(post, r), attrs);
        if (keep) kept.push(...(composed ? [f.scores_BNTS, f.probs_BNTS, f.mixed_BNTS] : [f.probs_BNTS]).map((t) => tf.keep(t)));
        return tf.matMul(f.mixed_BNTS, kv(v));
      }),
    );
    const value = outs.length === 1 ? outs[0] : tf.concat(outs, 2);
    if (outs.length > 1) tf.dispose(outs);
    save([...xs, ...kept]);
    tf.dispose(kept); // save() keeps its own references
    return {
      value,
      gradFunc: (dy: Tensor | Tensor[], saved: Tensor[]) => backward(dy as Tensor, saved),
    };
  });

  const backward = (dy: Tensor, savedAll: Tensor[]): Tensor[] => {
    const saved = savedAll.slice(0, inputs.length);
    const kept = savedAll.slice(inputs.length);
    const { q, k, v, pre, post } = unpack(saved);
    const grads: (Tensor | null)[] = saved.map(() => null);
    const accumulate = (index: number, part: Tensor, axis: number, lo: number, full: number) => {
      const pads = part.shape.map((): [number, number] => [0, 0]);
      pads[axis] = [lo, full - lo - (part.shape[axis] as number)];
      const padded = pads.every(([a, b]) => a === 0 && b === 0) ? tf.clone(part) : tf.pad(part, pads);
      const prev = grads[index];
      grads[index] = prev === null ? padded : tf.add(prev, padded);
      if (prev !== null) { prev.dispose(); padded.dispose(); }
    };
    const weightIndex = (side: 0 | 1, n: keyof ComposeWeights) => 3 + side * names.length + names.indexOf(n);
    ranges.forEach((r, chunk) => {
      const parts = tf.tidy(() => {
        const kv = (t: Tensor) => tf.slice(t, [0, 0, r.ks, 0], [-1, -1, r.ke - r.ks, -1]);
        const qc = tf.slice(q, [0, 0, r.t0, 0], [-1, -1, r.t1 - r.t0, -1]);
        const kc = kv(k);
        const vc = kv(v);
        const preC = pre && sliceSides(pre, r);
        const postC = post && sliceSides(post, r);
        let f: ChunkForward;
        if (kept.length === 0) {
          f = forwardChunk(qc, kc, chunkMask(r, positions), scale, preC, postC, attrs);
        } else if (composed) {
          const [scores_BNTS, probs_BNTS, mixed_BNTS] = kept.slice(3 * chunk, 3 * chunk + 3);
          f = { scores_BNTS, probs_BNTS, mixed_BNTS };
        } else {
          f = { scores_BNTS: kept[chunk], probs_BNTS: kept[chunk], mixed_BNTS: kept[chunk] };
        }
        const dOut_BNTE = tf.slice(dy, [0, 0, r.t0, 0], [-1, -1, r.t1 - r.t0, -1]);
        const out: Record<string, Tensor> = {};
        out.v = tf.matMul(f.mixed_BNTS, dOut_BNTE, true, false);
        let dProbs_BNTS = tf.matMul(dOut_BNTE, vc, false, true);
        if (postC) {
          const g = dcmhaComposeBackward({ x: f.probs_BNTS, ...postC } as ComposeInputs, dProbs_BNTS, attrs);
          for (const n of names) out[`post.${n}`] = g[n] as Tensor;
          dProbs_BNTS = g.x;
        }
        // softmax backward; masked entries have probability 0, hence gradient 0
        const dLogits_BNTS = tf.mul(f.probs_BNTS, tf.sub(dProbs_BNTS, tf.sum(tf.mul(dProbs_BNTS, f.probs_BNTS), -1, true)));
        let dScores_BNTS = dLogits_BNTS;
        if (preC) {
          const g = dcmhaComposeBackward({ x: f.scores_BNTS, ...preC } as ComposeInputs, dLogits_BNTS, attrs);
          for (const n of names) out[`pre.${n}`] = g[n] as Tensor;
          dScores_BNTS = g.x;
        }
        out.q = tf.mul(tf.matMul(dScores_BNTS, kc), scale);
        out.k = tf.mul(tf.matMul(dScores_BNTS, qc, true, false), scale);
        return out;
      });
      accumulate(0, parts.q, 2, r.t0, T);
      accumulate(1, parts.k, 2, r.ks, S);
      accumulate(2, parts.v, 2, r.ks, S);
      if (composed) {
        ([0, 1] as const).forEach((side) => {
          for (const n of names) {
            const [lo, full] = n.startsWith('q') ? [r.t0, T] : [r.ks, S];
            accumulate(weightIndex(side, n), parts[`${side === 0 ? 'pre' : 'post'}.${n}`], 1, lo, full);
          }
        });
      }
      tf.dispose(Object.values(parts).filter((t) => !t.isDisposed));
    });
    return grads.map((g, i) => g ?? tf.zerosLike(saved[i]));
  };

  return run(...inputs);
}
