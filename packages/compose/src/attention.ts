import * as tf from '@tensorflow/tfjs-core';
import type { Tensor } from '@tensorflow/tfjs-core';
import {
  MASKED_LOGIT,
  ShapeError,
  composeCallWeights,
  composeInputNames,
  dcmhaAttentionFused,
  dcmhaCompose,
  dcmhaComposeBackward,
  formatLettered,
  formatShape,
  hasFusedAttention,
  type AttentionWeights,
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
   * masked out (left-padded batches of different lengths). Default: no padding. A query that sees
   * no key at all (a padding position) gets output 0 from the fused kernel and an average of its
   * chunk's values from the chunked path; nothing reads either.
   */
  keyStart?: readonly number[];
  /**
   * Which sides of both Compose calls are on; ignored when no dynamic weights are given. Default:
   * the sides `weights` holds. A side that is off is not read even when given.
   */
  compose?: ComposeAttrs;
  /**
   * Bytes of per-chunk intermediates (scores, probabilities, post-Compose output) the forward may
   * keep for the backward pass instead of recomputing them there. Past the budget every chunk is
   * recomputed, so memory stays O(T·(chunk + W)) however long the sequence. Default 256 MiB; 0
   * always recomputes.
   */
  saveBudgetBytes?: number;
  /**
   * Use the backend's fused DcmhaAttention kernel (@dcformer/kernels) when it has one. Default true;
   * false (or DCFORMER_FUSED_ATTENTION=0 in the environment) runs the chunked path below, which
   * stays the reference and the fallback.
   */
  fused?: boolean;
}

export const DEFAULT_SAVE_BUDGET_BYTES = 256 * 2 ** 20;

export type { AttentionWeights };

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
  T: number,
  S: number,
  queryOffset: number,
  window: number | null,
  chunkSize: number,
  keyOffset = 0,
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

/** Added to a masked logit: @dcformer/kernels' MASKED_LOGIT (why −1e30 and not float32 min: there). */
const MASKED = MASKED_LOGIT;

/** What the backward of one chunk needs from its forward. */
interface ChunkForward {
  scores_BNTS: Tensor; // q·kᵀ/√E, the pre-Compose input
  probs_BNTS: Tensor; // softmax output, the post-Compose input
  mixed_BNTS: Tensor; // post-Compose output (= probs without post-Compose)
}

function forwardChunk(
  q_BNTE: Tensor,
  k_BNSE: Tensor,
  mask: Tensor,
  scale: number,
  pre: ComposeWeights | null,
  post: ComposeWeights | null,
  attrs: ComposeAttrs,
): ChunkForward {
  const scores_BNTS = tf.mul(tf.matMul(q_BNTE, k_BNSE, false, true), scale);
  const logits_BNTS = pre === null ? scores_BNTS : dcmhaCompose({ x: scores_BNTS, ...pre }, attrs);
  const probs_BNTS = tf.softmax(tf.add(logits_BNTS, mask));
  const mixed_BNTS = post === null ? probs_BNTS : dcmhaCompose({ x: probs_BNTS, ...post }, attrs);
  return { scores_BNTS, probs_BNTS, mixed_BNTS };
}

/** The argument checks, in the order callers have always seen them, then the dynamic weights' sides. */
function checkInputs(
  q: Tensor,
  k: Tensor,
  v: Tensor,
  weights: AttentionWeights | null,
  attrs: ComposeAttrs,
  options: AttentionOptions,
): void {
  if (q.rank !== 4 || k.rank !== 4 || v.rank !== 4) {
    throw new ShapeError(
      `dcmhaAttention: q, k, v must be rank 4 [B,N,T,E], [B,N,S,E], [B,N,S,E]; got ${formatShape(q.shape)}, ${formatShape(k.shape)}, ${formatShape(v.shape)}`,
    );
  }
  const [B, N, , E] = q.shape as number[];
  const S = k.shape[2] as number;
  for (const [name, t] of [
    ['k', k],
    ['v', v],
  ] as const) {
    const want = [B, N, S, E];
    if ((t.shape as number[]).some((d, i) => d !== want[i])) {
      throw new ShapeError(
        `dcmhaAttention: '${name}' must be ${formatLettered('BNSE', want)} to match q ${formatLettered('BNTE', q.shape)}; got ${formatShape(t.shape)}`,
      );
    }
  }
  if (!Number.isInteger(options.chunkSize) || options.chunkSize < 1) {
    throw new ShapeError(`dcmhaAttention: 'chunkSize' must be a positive integer; got ${options.chunkSize}`);
  }
  if (options.window !== null && (!Number.isInteger(options.window) || options.window < 1)) {
    throw new ShapeError(`dcmhaAttention: 'window' must be a positive integer or null; got ${options.window}`);
  }
  if (options.keyStart !== undefined && options.keyStart.length !== B) {
    throw new ShapeError(
      `dcmhaAttention: 'keyStart' must have one entry per batch row (B = ${B}); got ${options.keyStart.length}`,
    );
  }
  if (weights === null) return;
  for (const side of ['query', 'key'] as const)
    if (attrs[`${side}Wise`] && weights[side] === null)
      throw new ShapeError(`dcmhaAttention: '${side}' weights are required when ${side}Wise is on`);
}

/**
 * One gradient from per-chunk pieces along `axis`: a concat when the pieces tile [0, full) in order
 * (query-side tensors: chunks partition T), otherwise each zero-padded to full size and summed (the
 * key ranges of neighbouring chunks overlap).
 */
function combinePieces(pieces: { part: Tensor; lo: number }[], axis: number, full: number): Tensor {
  return tf.tidy(() => {
    let end = 0;
    const tiles =
      pieces.every(({ part, lo }) => {
        const ok = lo === end;
        end = lo + (part.shape[axis] as number);
        return ok;
      }) && end === full;
    if (tiles)
      return pieces.length === 1
        ? tf.clone(pieces[0].part)
        : tf.concat(
            pieces.map((p) => p.part),
            axis,
          );
    const padded = pieces.map(({ part, lo }) => {
      const pads = part.shape.map((): [number, number] => [0, 0]);
      pads[axis] = [lo, full - lo - (part.shape[axis] as number)];
      return tf.pad(part, pads);
    });
    return padded.length === 1 ? padded[0] : tf.addN(padded);
  });
}

function useFused(options: AttentionOptions): boolean {
  if (options.fused === false) return false;
  const env = typeof process !== 'undefined' ? process.env?.DCFORMER_FUSED_ATTENTION : undefined;
  return env !== '0' && hasFusedAttention(tf.getBackend());
}

/** What the chunked path fixes once per call; every step below reads it. */
interface ChunkPlan {
  ranges: ChunkRange[];
  positions: Positions;
  attrs: ComposeAttrs;
  /** The Compose weights switched on, in the order each side's tensors follow q, k, v in the inputs. */
  names: (keyof ComposeWeights)[];
  composed: boolean;
  scale: number;
  /** Keep each chunk's intermediates for the backward (they fit the budget) instead of recomputing them. */
  keep: boolean;
  /** Intermediates kept per chunk: scores, probs and mixed with dynamic weights, probs alone without. */
  perChunk: number;
}

/** A chunk's slices of q, k, v and of the dynamic weights. */
interface ChunkInputs {
  qc: Tensor;
  kc: Tensor;
  vc: Tensor;
  preC: ComposeWeights | null;
  postC: ComposeWeights | null;
}

/** The custom gradient's inputs by name. */
interface Unpacked {
  q: Tensor;
  k: Tensor;
  v: Tensor;
  pre: ComposeWeights | null;
  post: ComposeWeights | null;
}

function chunkPlan(
  q_BNTE: Tensor,
  S: number,
  composed: boolean,
  options: AttentionOptions,
  positions: Positions,
  attrs: ComposeAttrs,
): ChunkPlan {
  const [B, N, T, E] = q_BNTE.shape as number[];
  const ranges = chunkRanges(T, S, positions.queryOffset, options.window, options.chunkSize, positions.keyOffset);
  // Keep each chunk's intermediates for the backward when they fit the budget (no recompute):
  // with dynamic weights scores, probs and mixed, without them probs alone; plus the chunk's slices
  // of q, k, v and of the weights, which the backward would otherwise cut again.
  const perChunk = composed ? 3 : 1;
  const keptBytes = ranges.reduce((sum, r) => sum + B * N * (r.t1 - r.t0) * (r.ke - r.ks) * 4 * perChunk, 0);
  return {
    ranges,
    positions,
    attrs,
    names: composeInputNames(attrs).filter((n) => n !== 'x') as (keyof ComposeWeights)[],
    composed,
    scale: 1 / Math.sqrt(E),
    keep: keptBytes <= (options.saveBudgetBytes ?? DEFAULT_SAVE_BUDGET_BYTES),
    perChunk,
  };
}

/**
 * The custom gradient's flat input list: q, k, v, then the pre and post weights in `names` order
 * (each Compose call's query and key sides, as the Compose kernel takes them).
 */
function packInputs(plan: ChunkPlan, q: Tensor, k: Tensor, v: Tensor, weights: AttentionWeights | null): Tensor[] {
  const inputs = [q, k, v];
  if (weights !== null)
    for (const call of ['pre', 'post'] as const) {
      const w = composeCallWeights(weights, call, plan.attrs);
      for (const n of plan.names) inputs.push(w[n] as Tensor);
    }
  return inputs;
}

function unpack(plan: ChunkPlan, xs: Tensor[]): Unpacked {
  const [q, k, v, ...rest] = xs;
  if (!plan.composed) return { q, k, v, pre: null, post: null };
  const pre: ComposeWeights = {};
  const post: ComposeWeights = {};
  plan.names.forEach((n, i) => {
    pre[n] = rest[i];
    post[n] = rest[plan.names.length + i];
  });
  return { q, k, v, pre, post };
}

// Compose may skip a chunk's positions outside the causal band (ComposeBand): there the scores'
// Compose output is masked and the probabilities are 0. Padding (keyStart) is not part of the band.
function bandAttrs(plan: ChunkPlan, r: ChunkRange): ComposeAttrs {
  const { queryOffset, keyOffset, window } = plan.positions;
  return { ...plan.attrs, band: { queryOffset: queryOffset + r.t0, keyOffset: keyOffset + r.ks, window } };
}

function sliceChunk(x: Unpacked, r: ChunkRange): ChunkInputs {
  const kv = (t: Tensor) => tf.slice(t, [0, 0, r.ks, 0], [-1, -1, r.ke - r.ks, -1]);
  return {
    qc: tf.slice(x.q, [0, 0, r.t0, 0], [-1, -1, r.t1 - r.t0, -1]),
    kc: kv(x.k),
    vc: kv(x.v),
    preC: x.pre && sliceSides(x.pre, r),
    postC: x.post && sliceSides(x.post, r),
  };
}

function forwardOf(plan: ChunkPlan, c: ChunkInputs, r: ChunkRange): ChunkForward {
  return forwardChunk(c.qc, c.kc, chunkMask(r, plan.positions), plan.scale, c.preC, c.postC, bandAttrs(plan, r));
}

/** Tensors one chunk keeps: [intermediates…, qc, kc, vc, pre weights…, post weights…]. */
function chunkStride(plan: ChunkPlan): number {
  return plan.perChunk + 3 + (plan.composed ? 2 * plan.names.length : 0);
}

function flatten(plan: ChunkPlan, f: ChunkForward, c: ChunkInputs): Tensor[] {
  const { composed, names } = plan;
  return [
    ...(composed ? [f.scores_BNTS, f.probs_BNTS, f.mixed_BNTS] : [f.probs_BNTS]),
    c.qc,
    c.kc,
    c.vc,
    ...(composed ? names.map((n) => c.preC?.[n] as Tensor) : []),
    ...(composed ? names.map((n) => c.postC?.[n] as Tensor) : []),
  ];
}

function unflatten(plan: ChunkPlan, list: Tensor[]): { f: ChunkForward; c: ChunkInputs } {
  const { composed, names, perChunk } = plan;
  const f = composed
    ? { scores_BNTS: list[0], probs_BNTS: list[1], mixed_BNTS: list[2] }
    : { scores_BNTS: list[0], probs_BNTS: list[0], mixed_BNTS: list[0] };
  const [qc, kc, vc] = list.slice(perChunk, perChunk + 3);
  const side = (offset: number): ComposeWeights | null => {
    if (!composed) return null;
    const w: ComposeWeights = {};
    names.forEach((n, i) => (w[n] = list[offset + i]));
    return w;
  };
  return { f, c: { qc, kc, vc, preC: side(perChunk + 3), postC: side(perChunk + 3 + names.length) } };
}

/** The chunked forward: each chunk's output, concatenated over T; saves what the backward reads. */
function chunkedForward(plan: ChunkPlan, xs: Tensor[], save: (ts: Tensor[]) => void): Tensor {
  const x = unpack(plan, xs);
  const kept: Tensor[] = [];
  const outs = plan.ranges.map((r) =>
    tf.tidy(() => {
      const c = sliceChunk(x, r);
      const f = forwardOf(plan, c, r);
      if (plan.keep) kept.push(...flatten(plan, f, c).map((t) => tf.keep(t)));
      return tf.matMul(f.mixed_BNTS, c.vc);
    }),
  );
  const value = outs.length === 1 ? outs[0] : tf.concat(outs, 2);
  if (outs.length > 1) tf.dispose(outs);
  // kept chunks hold everything the backward reads; otherwise it recomputes from the inputs
  save(plan.keep ? kept : xs);
  tf.dispose(kept); // save() keeps its own references
  return value;
}

/** One chunk's gradients, by input name ('q', 'k', 'v', 'pre.qw1', …), from the output gradient dy. */
function chunkGradients(
  plan: ChunkPlan,
  f: ChunkForward,
  c: ChunkInputs,
  dy: Tensor,
  r: ChunkRange,
): Record<string, Tensor> {
  const dOut_BNTE = tf.slice(dy, [0, 0, r.t0, 0], [-1, -1, r.t1 - r.t0, -1]);
  const out: Record<string, Tensor> = {};
  out.v = tf.matMul(f.mixed_BNTS, dOut_BNTE, true, false);
  let dProbs_BNTS = tf.matMul(dOut_BNTE, c.vc, false, true);
  if (c.postC) {
    const g = dcmhaComposeBackward({ x: f.probs_BNTS, ...c.postC } as ComposeInputs, dProbs_BNTS, bandAttrs(plan, r));
    for (const n of plan.names) out[`post.${n}`] = g[n] as Tensor;
    dProbs_BNTS = g.x;
  }
  // softmax backward; masked entries have probability 0, hence gradient 0
  const dLogits_BNTS = tf.mul(f.probs_BNTS, tf.sub(dProbs_BNTS, tf.sum(tf.mul(dProbs_BNTS, f.probs_BNTS), -1, true)));
  let dScores_BNTS = dLogits_BNTS;
  if (c.preC) {
    const g = dcmhaComposeBackward({ x: f.scores_BNTS, ...c.preC } as ComposeInputs, dLogits_BNTS, bandAttrs(plan, r));
    for (const n of plan.names) out[`pre.${n}`] = g[n] as Tensor;
    dScores_BNTS = g.x;
  }
  out.q = tf.mul(tf.matMul(dScores_BNTS, c.kc), plan.scale);
  out.k = tf.mul(tf.matMul(dScores_BNTS, c.qc, true, false), plan.scale);
  return out;
}

/** The custom gradient: per chunk, kept or recomputed intermediates → gradient pieces, combined per input. */
function chunkedBackward(plan: ChunkPlan, inputs: Tensor[], dy: Tensor, saved: Tensor[]): Tensor[] {
  const { names, ranges } = plan;
  const x = plan.keep ? null : unpack(plan, saved);
  const stride = chunkStride(plan);
  // each input's gradient arrives in per-chunk pieces along one axis, combined at the end
  const pieces: { part: Tensor; lo: number }[][] = inputs.map(() => []);
  const weightIndex = (side: 0 | 1, n: keyof ComposeWeights) => 3 + side * names.length + names.indexOf(n);
  ranges.forEach((r, chunk) => {
    const parts = tf.tidy(() => {
      let f: ChunkForward;
      let c: ChunkInputs;
      if (x !== null) {
        c = sliceChunk(x, r);
        f = forwardOf(plan, c, r);
      } else {
        ({ f, c } = unflatten(plan, saved.slice(stride * chunk, stride * (chunk + 1))));
      }
      return chunkGradients(plan, f, c, dy, r);
    });
    pieces[0].push({ part: parts.q, lo: r.t0 });
    pieces[1].push({ part: parts.k, lo: r.ks });
    pieces[2].push({ part: parts.v, lo: r.ks });
    if (plan.composed) {
      ([0, 1] as const).forEach((side) => {
        for (const n of names) {
          pieces[weightIndex(side, n)].push({
            part: parts[`${side === 0 ? 'pre' : 'post'}.${n}`],
            lo: n.startsWith('q') ? r.t0 : r.ks,
          });
        }
      });
    }
  });
  return inputs.map((input, i) => {
    const axis = i < 3 ? 2 : 1;
    const g =
      pieces[i].length === 0
        ? tf.zeros(input.shape, input.dtype)
        : combinePieces(pieces[i], axis, input.shape[axis] as number);
    tf.dispose(pieces[i].map((p) => p.part).filter((t) => t !== g));
    return g;
  });
}

/**
 * Attention with DCMHA: scores q·kᵀ/√E, pre-Compose, mask, float32 softmax, post-Compose, ·v.
 * Runs the backend's fused kernel (DcmhaAttention) where there is one; otherwise
 * in query chunks over each chunk's key range. The custom gradient reuses each chunk's
 * intermediates while they fit `saveBudgetBytes` and recomputes them otherwise, so attention
 * memory in training stays bounded (O(T·(chunk + W)) for a local layer). `weights` null: plain MHA.
 *
 * q [B,N,T,E], k and v [B,N,S,E] → [B,N,T,E]. `weights` by side (dynamicWeights' query side of the
 * query input over T, key side of the key input over S, or the key side a cache kept), each with
 * its pre- and post-Compose weights. Gradients flow to q, k, v and every dynamic weight.
 */
export function dcmhaAttention(
  q_BNTE: Tensor,
  k_BNSE: Tensor,
  v_BNSE: Tensor,
  weights: AttentionWeights | null,
  options: AttentionOptions,
): Tensor {
  const attrs: ComposeAttrs = options.compose ?? {
    queryWise: weights !== null && weights.query !== null,
    keyWise: weights !== null && weights.key !== null,
  };
  checkInputs(q_BNTE, k_BNSE, v_BNSE, weights, attrs, options);
  const T = q_BNTE.shape[2] as number;
  const S = k_BNSE.shape[2] as number;
  const keyOffset = options.keyOffset ?? 0;
  const queryOffset = options.queryOffset ?? keyOffset + S - T;
  const positions: Positions = { queryOffset, keyOffset, window: options.window, keyStart: options.keyStart };
  if (useFused(options)) {
    return dcmhaAttentionFused(
      { q: q_BNTE, k: k_BNSE, v: v_BNSE, weights },
      {
        window: options.window,
        queryOffset,
        keyOffset,
        keyStart: options.keyStart,
        compose: weights === null ? null : { queryWise: attrs.queryWise, keyWise: attrs.keyWise },
      },
    );
  }
  const plan = chunkPlan(q_BNTE, S, weights !== null, options, positions, attrs);
  const inputs = packInputs(plan, q_BNTE, k_BNSE, v_BNSE, weights);
  const run = tf.customGrad((...args: unknown[]) => {
    const save = args.pop() as (ts: Tensor[]) => void;
    return {
      value: chunkedForward(plan, args as Tensor[], save),
      gradFunc: (dy: Tensor | Tensor[], saved: Tensor[]) => chunkedBackward(plan, inputs, dy as Tensor, saved),
    };
  });
  return run(...inputs);
}
