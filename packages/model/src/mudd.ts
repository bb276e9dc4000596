/**
 * Multiway dynamic dense (MUDD) connections: read next to MUDDFormer.forward and
 * MultiwayDynamicDenseBlock in Caiyun-AI/MUDDFormer pytorch/muddformer/modeling_muddformer.py @ fc067b2.
 *
 * After block i, with X_0 the embeddings and X_{j+1} the output of block j, a per-token network makes
 * weights A [C, i+2] from X_{i+1} and mixes all X_j into C streams S[c] = Σ_j A[c, j]·X_j: the q, k, v
 * and residual inputs of block i+1 (C = 4), or the final norm's input after the last block (C = 1).
 *
 * The mix is per position, so a cached forward needs no state beyond the KV cache: every call
 * computes X_0..X_{i+1} of its own tokens (the official LayerCache holds exactly these for its one
 * decode token), whatever the call's length or start position.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Tensor } from '@tensorflow/tfjs-core';
import { geluExact } from '@dcformer/compose';
import { linear } from './layers.js';

export interface MuddParams {
  /** Static weights per connection i, (C_i, i+2). */
  denseBs: Tensor[];
  /**
   * Dynamic weight generator per connection i (official `dynamic_dense.{i}.w1/w2`): proj1 (hidden_i, D),
   * proj2 (C_i·(i+2), hidden_i). Named apart from the block linears so compact (quantised) models keep
   * these small matrices in float32.
   */
  dynamicDense: { proj1: Tensor; proj2: Tensor }[];
}

/** Inputs of one block: query, key, value and residual streams [B,T,D]. */
export interface Streams {
  q: Tensor;
  k: Tensor;
  v: Tensor;
  r: Tensor;
}

/** RMSnormNoscale: x / √(mean(x²) + eps), no weight. */
function rmsNormNoScale(x_BTD: Tensor, eps: number): Tensor {
  return tf.tidy(() => tf.mul(x_BTD, tf.rsqrt(tf.add(tf.mean(tf.square(x_BTD), -1, true), eps))));
}

/**
 * One dense connection: A = w2·GELU(w1·RMSNormNoScale(X_{i+1})) + dense_bs (index c-major, not
 * normalised), then S[c] = Σ_j A[c, j]·X_j, as one batched matmul per token.
 */
export function muddMix(
  hiddens: readonly Tensor[],
  dyn: { proj1: Tensor; proj2: Tensor },
  bs_CL: Tensor,
  eps: number,
): Tensor[] {
  return tf.tidy(() => {
    const x_BTD = hiddens[hiddens.length - 1];
    const [B, T, D] = x_BTD.shape as number[];
    const [C, L] = bs_CL.shape as number[];
    const a_BTM = linear(geluExact(linear(rmsNormNoScale(x_BTD, eps), dyn.proj1)), dyn.proj2);
    const a_RCL = tf.add(tf.reshape(a_BTM, [B * T, C, L]), bs_CL);
    const x_RLD = tf.reshape(tf.stack(hiddens as Tensor[], 2), [B * T, L, D]);
    const s_RCD = tf.matMul(a_RCL, x_RLD);
    // slices, not unstack: tfjs's Unpack gradient fails when a stream gets no gradient
    return Array.from({ length: C }, (_, c) => tf.reshape(tf.slice(s_RCD, [0, c, 0], [-1, 1, -1]), [B, T, D]));
  });
}

/**
 * The MUDD layer stack: block 0 reads X_0 on every stream; each block's output joins the hidden
 * states, and the connection after it makes the next block's streams. Returns the last connection's
 * single stream, the input of the final norm.
 */
export function muddLayers(
  x0_BTD: Tensor,
  params: MuddParams,
  eps: number,
  block: (index: number, streams: Streams) => Tensor,
): Tensor {
  return tf.tidy(() => {
    const hiddens = [x0_BTD];
    let streams: Streams = { q: x0_BTD, k: x0_BTD, v: x0_BTD, r: x0_BTD };
    const n = params.denseBs.length;
    for (let i = 0; i < n; i++) {
      hiddens.push(block(i, streams));
      const mixed = muddMix(hiddens, params.dynamicDense[i], params.denseBs[i], eps);
      if (i === n - 1) return mixed[0];
      const [q, k, v, r] = mixed;
      streams = { q, k, v, r };
    }
    throw new Error('muddLayers: internal: a MUDD model has at least 2 layers');
  });
}
