import * as tf from '@tensorflow/tfjs-core';
import type { KernelConfig, KernelFunc, NamedAttrMap, Tensor, TensorInfo } from '@tensorflow/tfjs-core';
import type { WebGPUBackend } from '@tensorflow/tfjs-backend-webgpu';
import {
  ShapeError,
  formatShape,
  runKernelWithList,
  type AttentionWeights,
  type ComposeAttrs,
  type ComposeSideWeights,
  type DynamicSide,
} from '@dcformer/kernels';
import { DecodeAttentionProgram } from './decode-program.js';

/**
 * Kernel: fused attention for one query per row (decode). Contract (a candidate for
 * @dcformer/kernels): inputs [q [B,N,E], k [B,N,S,E], v [B,N,S,E], qside [B,Q,N] if queryWise,
 * kside [B,S,Q,N] if keyWise, visible [B,S]] with Q = 2·(2I+1) packed rows (decode-program.ts);
 * attrs {composed, queryWise, keyWise, rank, scale}; output [B,N,S+E], the result in columns S…
 * Forward only: decode records no gradient.
 */
export const DcmhaDecodeAttention = 'DcmhaDecodeAttention';

export interface DecodeAttentionOptions {
  /** W: the query at absolute position p sees keys p−W+1 … p; null: all earlier keys. */
  window: number | null;
  /** Absolute position of key 0 (a cache may hold only the last keys). Default 0. */
  keyOffset?: number;
  /** Absolute position of the query. Default keyOffset + S − 1. */
  queryOffset?: number;
  /** Per row, the absolute position of its first real key (left padding before it is masked). */
  keyStart?: readonly number[];
  /** Sides of both Compose calls; ignored without weights. Default: the sides the weights hold. */
  compose?: ComposeAttrs;
}

function flag(attrs: NamedAttrMap | undefined, key: string): boolean {
  return Boolean(attrs?.[key]);
}

export const decodeAttentionWebGPU: KernelFunc = ({ inputs, backend, attrs }) => {
  const webgpu = backend as WebGPUBackend;
  const list = Object.values(inputs) as TensorInfo[];
  const [q, k] = list;
  const [B, N, S, E] = k.shape;
  const sides = flag(attrs, 'composed')
    ? { queryWise: flag(attrs, 'queryWise'), keyWise: flag(attrs, 'keyWise') }
    : null;
  const program = new DecodeAttentionProgram(B, N, S, E, Number(attrs?.rank ?? 0), sides);
  if (q.shape[0] !== B) throw new Error(`${DcmhaDecodeAttention}: q has ${q.shape[0]} rows, k ${B}`);
  return webgpu.runWebGPUProgram(program, list, 'float32', [{ type: 'float32', data: [Number(attrs?.scale)] }]);
};

export const decodeAttentionWebGPUConfig: KernelConfig = {
  kernelName: DcmhaDecodeAttention,
  backendName: 'webgpu',
  kernelFunc: decodeAttentionWebGPU,
};

/** visible[b,s] = 1 when key s is causal, inside the window and not padding for the query. */
export function decodeVisibility(B: number, S: number, o: DecodeAttentionOptions): Float32Array {
  const keyOffset = o.keyOffset ?? 0;
  const p = o.queryOffset ?? keyOffset + S - 1;
  const out = new Float32Array(B * S);
  for (let b = 0; b < B; b++) {
    const start = o.keyStart?.[b] ?? -Infinity;
    for (let s = 0; s < S; s++) {
      const key = keyOffset + s;
      out[b * S + s] = key <= p && (o.window === null || key > p - o.window) && key >= start ? 1 : 0;
    }
  }
  return out;
}

/** One Compose call's weights of one side as rows [w1 (I), w2 (I), dd (1)]: [B,R,2I+1,N]. */
function pack({ w1, w2, dd }: ComposeSideWeights): Tensor {
  const [B, R, N] = dd.shape as number[];
  return tf.concat([w1, w2, tf.reshape(dd, [B, R, 1, N])], 2);
}

/** Both Compose calls' weights of a side in one buffer: a shader may bind only 8 storage buffers. */
function packSide(side: DynamicSide): Tensor {
  return tf.concat([pack(side.pre), pack(side.post)], 2);
}

/**
 * dcmhaAttention (@dcformer/compose) for T = 1 in one WebGPU dispatch (plus packing the dynamic
 * weights): q [B,N,1,E], k and v [B,N,S,E], weights as dcmhaAttention takes them (the query side
 * over the one query, the key side over S) or null → [B,N,1,E]. The 'webgpu' backend only; no gradient.
 */
export function dcmhaDecodeAttention(
  q_BN1E: Tensor,
  k_BNSE: Tensor,
  v_BNSE: Tensor,
  weights: AttentionWeights | null,
  options: DecodeAttentionOptions,
): Tensor {
  const [B, N, T, E] = q_BN1E.shape as number[];
  const S = k_BNSE.shape[2] as number;
  if (q_BN1E.rank !== 4 || T !== 1)
    throw new ShapeError(`dcmhaDecodeAttention: 'q' must be [B,N,1,E]; got ${formatShape(q_BN1E.shape)}`);
  for (const [name, t] of [
    ['k', k_BNSE],
    ['v', v_BNSE],
  ] as const) {
    const want = [B, N, S, E];
    if (t.rank !== 4 || want.some((d, i) => d !== t.shape[i])) {
      throw new ShapeError(
        `dcmhaDecodeAttention: '${name}' must be [B,N,S,E] = ${formatShape(want)}; got ${formatShape(t.shape)}`,
      );
    }
  }
  const sides = options.compose ?? { queryWise: weights?.query != null, keyWise: weights?.key != null };
  const query = sides.queryWise ? (weights?.query ?? null) : null;
  const key = sides.keyWise ? (weights?.key ?? null) : null;
  if (weights !== null)
    for (const [name, on, w] of [
      ['query', sides.queryWise, query],
      ['key', sides.keyWise, key],
    ] as const)
      if (on && w === null)
        throw new ShapeError(`dcmhaDecodeAttention: '${name}' weights are required when ${name}Wise is on`);
  const composed = weights !== null && (sides.queryWise || sides.keyWise);
  const rank = (query ?? key)?.pre.w1.shape[2] ?? 0;
  return tf.tidy(() => {
    const list: Tensor[] = [tf.reshape(q_BN1E, [B, N, E]), k_BNSE, v_BNSE];
    if (query !== null) list.push(tf.reshape(packSide(query), [B, -1, N]));
    if (key !== null) list.push(packSide(key));
    list.push(tf.tensor(decodeVisibility(B, S, options), [B, S]));
    const attrs = {
      composed,
      queryWise: composed && sides.queryWise,
      keyWise: composed && sides.keyWise,
      rank,
      scale: 1 / Math.sqrt(E),
    };
    const out = runKernelWithList(DcmhaDecodeAttention, list, attrs) as Tensor;
    return tf.reshape(tf.slice(out, [0, 0, S], [B, N, E]), [B, N, 1, E]);
  });
}
