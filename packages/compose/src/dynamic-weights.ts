import * as tf from '@tensorflow/tfjs-core';
import type { Tensor } from '@tensorflow/tfjs-core';
import {
  type CompactWeight,
  ShapeError,
  compactMatMul,
  formatLettered,
  formatShape,
  gelu,
  isCompactWeight,
  rmsNorm,
  type DynamicSide,
} from '@dcformer/kernels';

/** Slot order of dw1's C axis, qkw's C axis and dd's four N-blocks (docs/dcmha.md). */
export const SLOTS = ['preQuery', 'preKey', 'postQuery', 'postKey'] as const;

/**
 * Parameters of DynamicWeightProjection, stored as in the official checkpoints (G = 1). A model with
 * compact weights (issue 18) may hold dw1 and dd as compact weights of their transposes, [4K, D] and
 * [4N, D] (output rows, like nn.Linear's), read by DcCompactMatMul; qkw stays float32.
 */
export interface DynamicWeightParams {
  dw1: Tensor | CompactWeight; // [D,1,4,K]; compact: [4K, D]
  qkw: Tensor; // [1,4,K,2I,N]
  dd: Tensor | CompactWeight; // [D,1,4N]; compact: [4N, D]
  /** Optional: compact dw1 and dd stacked, [4K + 4N, D]: both projections from one DcCompactMatMul. */
  dwdd?: CompactWeight;
}

/**
 * The dynamic weights of both Compose calls per position of the projected input, by side, as
 * attention takes them (AttentionWeights of @dcformer/kernels): the query side of the query input,
 * the key side of the key input (the one a decode cache keeps). w1, w2 [B,T,I,N]; dd [B,T,N].
 */
export interface DynamicWeights {
  query: DynamicSide;
  key: DynamicSide;
}

export const RMS_NORM_NO_SCALE_EPS = 1e-6;

/**
 * Gaussian error linear unit, exact form 0.5·x·(1 + erf(x/√2)) (torch nn.GELU's default), through
 * the `DcGelu` kernel of @dcformer/kernels.
 */
export function geluExact(x: Tensor): Tensor {
  return gelu(x);
}

function checkParams(
  caller: string,
  x_BTD: Tensor,
  p: DynamicWeightParams,
): { D: number; K: number; I2: number; N: number } {
  const [B, T, D] = x_BTD.shape as number[];
  if (x_BTD.rank !== 3)
    throw new ShapeError(`${caller}: 'x' must be [B,T,D] (rank 3); got ${formatShape(x_BTD.shape)}`);
  const qkw = p.qkw.shape as number[];
  if (p.qkw.rank !== 5 || qkw[0] !== 1 || qkw[1] !== 4 || qkw[3] % 2 !== 0) {
    throw new ShapeError(`${caller}: 'qkw' must be [G,C,K,2I,N] with G = 1, C = 4; got ${formatShape(qkw)}`);
  }
  const [, , K, I2, N] = qkw;
  const expect = (name: 'dw1' | 'dd', letters: string, shape: number[]) => {
    const w = p[name];
    // a compact weight holds the transpose [M, D] of the [D, …] the reference multiplies by
    const compact = isCompactWeight(w);
    const want = compact ? [shape.slice(1).reduce((a, b) => a * b, 1), D] : shape;
    const got = compact ? [w.N, w.K] : (w.shape as number[]);
    if (got.length !== want.length || got.some((d, i) => d !== want[i])) {
      throw new ShapeError(
        `${caller}: '${name}' must be ${compact ? `compact ${formatLettered('MD', want)}` : formatLettered(letters, want)} for x ${formatLettered('BTD', [B, T, D])} and qkw ${formatShape(qkw)}; got ${formatShape(got)}`,
      );
    }
  };
  expect('dw1', 'DGCK', [D, 1, 4, K]);
  expect('dd', 'DGM', [D, 1, 4 * N]);
  const f = p.dwdd;
  if (f !== undefined && (f.N !== 4 * K + 4 * N || f.K !== D))
    throw new ShapeError(
      `${caller}: 'dwdd' must be compact [4K+4N, D] = [${4 * K + 4 * N},${D}]; got ${formatShape([f.N, f.K])}`,
    );
  return { D, K, I2, N };
}

/** x [X,D] · W for W = dw1 or dd ([D,…,M] float32, or its compact transpose [M, D]) → [X, M]. */
function project(x_XD: Tensor, w: Tensor | CompactWeight, D: number, M: number): Tensor {
  return isCompactWeight(w) ? compactMatMul(x_XD, w) : tf.matMul(x_XD, tf.reshape(w, [D, M]));
}

/**
 * DynamicWeightProjection.forward (G = 1): from the attention-normed layer input x, the per-position
 * weights of both Compose calls.
 *
 *   hidden_BTCK = GELU(x · dw1)                 ref: 'BTD,DGCK->BTGCK'
 *   w_BTC(2I)N  = hidden · qkw                   ref: 'BTGCK,GCKIM->BTGCIM'
 *   w1 = RMSNormNoScale_N(w[..., :I, :]),  w2 = w[..., I:, :]
 *   dd_BT(4N)   = tanh(x · dd)                   ref: 'BTD,DGM->BTGM'
 */
export function dynamicWeights(x_BTD: Tensor, params: DynamicWeightParams): DynamicWeights {
  const { D, K, I2, N } = checkParams('dynamicWeights', x_BTD, params);
  const I = I2 / 2;
  return tf.tidy(() => {
    const [B, T] = x_BTD.shape as number[];
    const x_XD = tf.reshape(x_BTD, [B * T, D]);
    const [dw1_XM, dd_XM] = params.dwdd
      ? tf.split(compactMatMul(x_XD, params.dwdd), [4 * K, 4 * N], 1)
      : [project(x_XD, params.dw1, D, 4 * K), project(x_XD, params.dd, D, 4 * N)];
    const hidden_XCK = geluExact(tf.reshape(dw1_XM, [B * T, 4, K]));
    // one position (a decode step): the same order either way, so a reshape instead of a Transpose
    const hidden_CXK = B * T === 1 ? tf.reshape(hidden_XCK, [4, 1, K]) : tf.transpose(hidden_XCK, [1, 0, 2]);
    const w_CXJ = tf.matMul(hidden_CXK, tf.reshape(params.qkw, [4, K, I2 * N])); // J = 2I·N
    const w_CXIN = tf.reshape(w_CXJ, [4, B * T, I2, N]);
    const [w1raw_CXIN, w2_CXIN] = tf.split(w_CXIN, 2, 2);
    // RMSNormNoScale: the RMSNorm kernel with a unit weight (×1 is exact, so the result is the same)
    const w1_CXIN = rmsNorm(w1raw_CXIN, tf.ones([N]), RMS_NORM_NO_SCALE_EPS);
    const dd_XCN = tf.tanh(tf.reshape(dd_XM, [B * T, 4, N]));

    // reshape once, then unstack: the pieces come out in their final shapes
    const w1s = tf.unstack(tf.reshape(w1_CXIN, [4, B, T, I, N]), 0);
    const w2s = tf.unstack(tf.reshape(w2_CXIN, [4, B, T, I, N]), 0);
    const dds = tf.unstack(tf.reshape(dd_XCN, [B, T, 4, N]), 2);
    const slot = (c: number) => ({ w1: w1s[c], w2: w2s[c], dd: dds[c] }); // c: index in SLOTS
    return {
      query: { pre: slot(0), post: slot(2) },
      key: { pre: slot(1), post: slot(3) },
    };
  });
}
