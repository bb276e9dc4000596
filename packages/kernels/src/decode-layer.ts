/**
 * The decode-layer contract: one DCFormer++ / Transformer++ block (RMSNorm, SwiGLU, optional
 * QK-norm and DCMHA) or DCPythia block (LayerNorm, biases, GELU MLP, parallel residual) for one
 * decode position of B ≤ 8 sequences, run by a backend package in a single call instead of ~50 tfjs
 * kernels (whose bookkeeping, 10–30 µs each, cost a 2.8B-shaped int4 decode step about a third of its
 * time). A backend package registers an implementation; the model asks for one and keeps its tfjs
 * path where there is none.
 *
 * The cache rows live in plain Float32Arrays the caller owns: k and v [B, N, cap, E] (a run of `cap`
 * rows per sequence and head), the key-side dynamic weights [B, cap, I, N] (kw1, kw2) and [B, cap, N]
 * (kdd) for the pre- and post-Compose calls. The block writes this position's row at `first + count` and attends to rows
 * first … first + count.
 */
import type { Tensor } from '@tensorflow/tfjs-core';
import type { CompactWeight } from './compact-matmul/compact-matmul-op.js';

/** A weight matrix: nn.Linear's (out, in) float32 tensor, or a compact weight [out, in]. */
export type DecodeMatrix = Tensor | CompactWeight;

export interface DecodeLayerShape {
  /** Model width D = N·E, heads N, head size E, rotated dims R (even, ≤ E), FFN width F. */
  D: number;
  N: number;
  E: number;
  R: number;
  F: number;
  /** DCMHA: rank I of the dynamic weights and hidden size C of each of the 4 slots (dw1's K). */
  I: number;
  C: number;
  normEps: number;
  /** QK-norm's eps (DCFormer: 1e-6). */
  qkEps: number;
  qkNorm: boolean;
  dcmha: boolean;
  queryWise: boolean;
  keyWise: boolean;
  /** DCPythia: LayerNorm (with bias) instead of RMSNorm, GELU MLP instead of SwiGLU, the MLP reading the block's input. */
  layerNorm: boolean;
  geluMlp: boolean;
  parallelResidual: boolean;
}

export interface DecodeLayerWeights {
  attentionNorm: Tensor;
  ffnNorm: Tensor;
  /** LayerNorm biases and linear biases (DCPythia). */
  attentionNormBias?: Tensor;
  ffnNormBias?: Tensor;
  wqkvBias?: Tensor;
  woBias?: Tensor;
  w1Bias?: Tensor;
  w2Bias?: Tensor;
  qNorm?: Tensor;
  kNorm?: Tensor;
  wqkv: DecodeMatrix;
  wo: DecodeMatrix;
  /** [F, D], or (SwiGLU) w1 and w3 stacked [2F, D] (w1's half first) when `w3` is absent. */
  w1: DecodeMatrix;
  w3?: DecodeMatrix;
  w2: DecodeMatrix;
  /**
   * DCMHA's projections: float32 as stored, dw1 [D,1,4,C] and dd [D,1,4N] (input-major), or compact
   * transposes [4C, D] and [4N, D], or both stacked in one compact `dw1` [4C + 4N, D] without `dd`.
   */
  dw1?: Tensor | CompactWeight;
  dd?: Tensor | CompactWeight;
  qkw?: Tensor;
}

export interface DecodeLayerRows {
  k: Float32Array;
  v: Float32Array;
  /** pre kw1, kw2, kdd, post kw1, kw2, kdd; null without key-side composition. */
  side: readonly Float32Array[] | null;
  cap: number;
  /** Row of the oldest kept position, and how many positions the rows hold before this one. */
  first: number;
  count: number;
  /** Absolute position of row `first`. */
  start: number;
}

/** Sequences one call runs at most (the decode products' fused rows). */
export const DECODE_LAYER_MAX_ROWS = 8;

export interface DecodeLayerCall {
  shape: DecodeLayerShape;
  weights: DecodeLayerWeights;
  /** Sequences B (1 … DECODE_LAYER_MAX_ROWS). */
  batch: number;
  /** The residual stream [B, D]: read, and overwritten with the block's output. */
  x: Float32Array;
  /** Index of this token in the (left-padded) batch: its causal limit. */
  position: number;
  /** cos / sin of each row's RoPE position, [B, R/2] each (ropeTable). */
  cos: Float32Array;
  sin: Float32Array;
  /** Per row, the index of its first real key (left padding); null when no row is padded. */
  keyStart: readonly number[] | null;
  /** Keys a query sees: W (local layer) or null (global). */
  window: number | null;
  rows: DecodeLayerRows;
}

export type DecodeLayerFn = (call: DecodeLayerCall) => void;

const registry = new Map<string, DecodeLayerFn>();

/** Called by a backend package for the backends it serves; null takes the registration back. */
export function registerDecodeLayer(backendName: string, fn: DecodeLayerFn | null): void {
  if (fn === null) registry.delete(backendName);
  else registry.set(backendName, fn);
}

/** The registered decode layer of `backendName`, or null (the model then runs its tfjs path). */
export function decodeLayerFor(backendName: string): DecodeLayerFn | null {
  return registry.get(backendName) ?? null;
}
