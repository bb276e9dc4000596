import type { Tensor } from '@tensorflow/tfjs-core';
import { ShapeError, formatLettered, formatShape } from '../errors.js';
import {
  composeInputNames,
  validateComposeInputs,
  type ComposeAttrs,
  type ComposeWeights,
} from '../compose/compose-spec.js';

/**
 * DcmhaAttention: the whole DCMHA attention core in one kernel (docs/dcmha.md "Where Compose sits"):
 *
 *   logits = Compose_pre(q·kᵀ/√E);  probs = softmax(mask(logits));  out = Compose_post(probs)·v
 *
 * with the causal / local-window / padding mask of @dcformer/compose's dcmhaAttention. A query that
 * sees no key at all (a left-padding position) gets output 0 and no gradient.
 *
 * Inputs, as an array in `attentionInputNames(attrs)` order: q [B,N,T,E], k [B,N,S,E], v [B,N,S,E],
 * then the present weights of pre-Compose and of post-Compose (ComposeWeights shapes: query side
 * over T, key side over S). The JS entry `dcmhaAttentionFused` takes them per side instead
 * (AttentionWeights: query and key, each with its pre and post weights) and lays them out in this order. Outputs: out [B,N,T,E] and stats [B,N,T,2] — per query row and head the
 * softmax maximum and 1/Σexp, all the backward needs to recompute the probabilities block by block.
 *
 * The reference is the chunked path of @dcformer/compose (`dcmhaAttention` runs it wherever a
 * backend has no fused kernel); a backend registers this kernel and DcmhaAttentionBackward together.
 */
export const DcmhaAttention = 'DcmhaAttention';

/**
 * DcmhaAttentionBackward: inputs [...DcmhaAttention's inputs, stats, dOut]; outputs the gradient of
 * every DcmhaAttention input, in the same order. Same attrs.
 */
export const DcmhaAttentionBackward = 'DcmhaAttentionBackward';

export interface FusedAttentionAttrs {
  /** W: query at absolute position p sees keys p−W+1 … p; null: every earlier key. */
  window: number | null;
  /** Absolute position of query 0. */
  queryOffset: number;
  /** Absolute position of key 0. */
  keyOffset: number;
  /** Per batch row, the absolute position of its first real key (left padding); absent: none. */
  keyStart?: readonly number[];
  /** Which sides of both Compose calls are on; null: no Compose (plain multi-head attention). */
  compose: ComposeAttrs | null;
}

/**
 * One side's dynamic weights for one Compose call: w1, w2 [B,L,I,N] and dd [B,L,N], where L is T on
 * the query side and S on the key side (docs/dcmha.md "Compose").
 */
export interface ComposeSideWeights {
  w1: Tensor;
  w2: Tensor;
  dd: Tensor;
}

/** One side's weights for both Compose calls: pre (on the scores) and post (on the probabilities). */
export interface DynamicSide {
  pre: ComposeSideWeights;
  post: ComposeSideWeights;
}

/**
 * DCMHA's dynamic weights as attention takes them: the query side (over T, from the query input) and
 * the key side (over S, from the key input; what a decode cache keeps). null: that side is off.
 */
export interface AttentionWeights {
  query: DynamicSide | null;
  key: DynamicSide | null;
}

export interface FusedAttentionInputs {
  q: Tensor;
  k: Tensor;
  v: Tensor;
  /** Required when compose is on (the sides it switches on must be there). */
  weights?: AttentionWeights | null;
}

/**
 * The weights of one Compose call (pre or post) in the Compose kernel's names, for the sides `attrs`
 * switches on; a side that is on but absent is left out (the Compose checks then name it).
 */
export function composeCallWeights(w: AttentionWeights, call: 'pre' | 'post', attrs: ComposeAttrs): ComposeWeights {
  const out: ComposeWeights = {};
  const q = w.query?.[call];
  const k = w.key?.[call];
  if (attrs.queryWise && q !== undefined) Object.assign(out, { qw1: q.w1, qw2: q.w2, qdd: q.dd });
  if (attrs.keyWise && k !== undefined) Object.assign(out, { kw1: k.w1, kw2: k.w2, kdd: k.dd });
  return out;
}

/** Names of the tensor inputs for these attrs, in kernel order: q, k, v, pre.<w>…, post.<w>…. */
export function attentionInputNames(attrs: FusedAttentionAttrs): string[] {
  if (attrs.compose === null) return ['q', 'k', 'v'];
  const weights = composeInputNames(attrs.compose).filter((n) => n !== 'x');
  return ['q', 'k', 'v', ...weights.map((n) => `pre.${n}`), ...weights.map((n) => `post.${n}`)];
}

/** The inputs as the kernel's array, in attentionInputNames order. */
export function attentionInputList(inputs: FusedAttentionInputs, attrs: FusedAttentionAttrs): Tensor[] {
  const { weights } = inputs;
  const calls =
    attrs.compose === null || weights == null
      ? null
      : {
          pre: composeCallWeights(weights, 'pre', attrs.compose),
          post: composeCallWeights(weights, 'post', attrs.compose),
        };
  return attentionInputNames(attrs).map((name) => {
    if (name === 'q' || name === 'k' || name === 'v') return inputs[name];
    const [call, w] = name.split('.') as ['pre' | 'post', keyof ComposeWeights];
    return calls?.[call][w] as Tensor;
  });
}

/** FusedAttentionAttrs as flat kernel attrs (numbers, booleans, arrays). */
export function attentionKernelAttrs(attrs: FusedAttentionAttrs): Record<string, number | boolean | number[]> {
  return {
    window: attrs.window ?? 0,
    queryOffset: attrs.queryOffset,
    keyOffset: attrs.keyOffset,
    keyStart: attrs.keyStart === undefined ? [] : [...attrs.keyStart],
    composed: attrs.compose !== null,
    queryWise: attrs.compose?.queryWise ?? false,
    keyWise: attrs.compose?.keyWise ?? false,
  };
}

/** The inverse of attentionKernelAttrs, for kernels reading their attrs. */
export function attentionAttrsOf(map: Record<string, unknown> | undefined): FusedAttentionAttrs {
  const keyStart = (map?.keyStart as number[] | undefined) ?? [];
  const window = Number(map?.window ?? 0);
  return {
    window: window > 0 ? window : null,
    queryOffset: Number(map?.queryOffset ?? 0),
    keyOffset: Number(map?.keyOffset ?? 0),
    keyStart: keyStart.length === 0 ? undefined : keyStart,
    compose: map?.composed ? { queryWise: Boolean(map.queryWise), keyWise: Boolean(map.keyWise) } : null,
  };
}

/**
 * Checks q, k, v, the weights and the attrs; throws ShapeError naming the caller, the argument, the
 * expected shape and what was received.
 */
export function validateAttentionInputs(caller: string, inputs: FusedAttentionInputs, attrs: FusedAttentionAttrs) {
  const { q, k, v } = inputs;
  if (q.rank !== 4 || k.rank !== 4 || v.rank !== 4) {
    throw new ShapeError(
      `${caller}: q, k, v must be rank 4 [B,N,T,E], [B,N,S,E], [B,N,S,E]; got ${formatShape(q.shape)}, ${formatShape(k.shape)}, ${formatShape(v.shape)}`,
    );
  }
  const [B, N, T, E] = q.shape as number[];
  const S = k.shape[2] as number;
  for (const [name, t] of [
    ['q', q],
    ['k', k],
    ['v', v],
  ] as const) {
    const want = name === 'q' ? [B, N, T, E] : [B, N, S, E];
    if ((t.shape as number[]).some((d, i) => d !== want[i]) || t.dtype !== 'float32') {
      throw new ShapeError(
        `${caller}: '${name}' must be float32 ${formatLettered(name === 'q' ? 'BNTE' : 'BNSE', want)} to match q ${formatLettered('BNTE', q.shape)}; got ${t.dtype} ${formatShape(t.shape)}`,
      );
    }
  }
  const ints: [string, number][] = [
    ['queryOffset', attrs.queryOffset],
    ['keyOffset', attrs.keyOffset],
  ];
  for (const [name, x] of ints) {
    if (!Number.isInteger(x) || Math.abs(x) > 2 ** 30) {
      throw new ShapeError(`${caller}: '${name}' must be an integer of magnitude ≤ 2^30; got ${x}`);
    }
  }
  if (attrs.window !== null && (!Number.isInteger(attrs.window) || attrs.window < 1 || attrs.window > 2 ** 30)) {
    throw new ShapeError(`${caller}: 'window' must be a positive integer or null; got ${attrs.window}`);
  }
  if (attrs.keyStart !== undefined) {
    if (attrs.keyStart.length !== B) {
      throw new ShapeError(
        `${caller}: 'keyStart' must have one entry per batch row (B = ${B}); got ${attrs.keyStart.length}`,
      );
    }
    const bad = attrs.keyStart.find((x) => !Number.isInteger(x) || Math.abs(x) > 2 ** 30);
    if (bad !== undefined) throw new ShapeError(`${caller}: 'keyStart' entries must be integers; got ${bad}`);
  }
  if (attrs.compose === null) return;
  // Compose weights of a side as they would meet a [B,N,T,S] x: query side over T, key side over S.
  // The check reads only rank, shape and dtype, so a stand-in with those three is enough (no tensor made).
  const x = { rank: 4, shape: [B, N, T, S], dtype: 'float32' } as unknown as Tensor;
  const { weights } = inputs;
  const sides = [
    ['query', attrs.compose.queryWise],
    ['key', attrs.compose.keyWise],
  ] as const;
  for (const [side, on] of sides)
    if (on && weights?.[side] == null)
      throw new ShapeError(`${caller}: '${side}' weights are required when ${side}Wise is on`);
  for (const call of ['pre', 'post'] as const)
    validateComposeInputs(
      `${caller} (${call})`,
      { x, ...composeCallWeights(weights as AttentionWeights, call, attrs.compose) },
      attrs.compose,
    );
}
