/**
 * DCFormer++, DCPythia and Transformer++ from one code path (read next to the reference's
 * modeling_dcformer.py / modeling_dcpythia.py @ df8671f). Config switches pick the family:
 * RMSNorm + SwiGLU (+ mgate) vs LayerNorm + biases + GELU MLP + parallel residual; `useDcmha`
 * turns the dynamic composition on or off. MUDDFormer / MUDDPythia (modeling_muddformer.py /
 * modeling_muddpythia.py @ fc067b2) run the same blocks with separate q/k/v/r input streams that
 * mudd.ts mixes from all earlier layers' outputs.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Tensor, Variable } from '@tensorflow/tfjs-core';
import { dcmhaAttention, dynamicWeights, geluExact, type AttentionWeights } from '@dcformer/compose';
import { InputError } from '@dcformer/kernels';
import { isMudd, isPythiaLike, layerWindows, rotaryDims, type ModelConfig } from './config.js';
import { muddLayers, type MuddParams, type Streams } from './mudd.js';
import {
  paramTree,
  type AttentionParams,
  type FeedForwardParams,
  type LayerParams,
  type ModelParams,
  type NormParams,
} from './params.js';
import { validateIds } from './ids.js';
import { KVCache, appendKeys, trimKeys } from './cache.js';
import { decodeBlocks, decodeLayerForStep } from './decode-step.js';
import { QK_NORM_EPS, applyRope, layerNorm, nextTokenLoss, rmsNorm, silu } from './layers.js';
import { type LinearWeight, embed, linear, releaseCompact } from './compact.js';
import { weightSpecs, type WeightSpec } from './weights.js';
import { readAsync, readSync, type Reads } from './reads.js';

/**
 * [B,T,N,E] ↔ [B,N,T,E]. With one position (a decode step) or one head both layouts hold the values
 * in the same order: a reshape, which copies nothing and runs no kernel, instead of a Transpose.
 */
function swapAxes12(t: Tensor): Tensor {
  const [a, b, c, d] = t.shape as number[];
  return b === 1 || c === 1 ? tf.reshape(t, [a, c, b, d]) : tf.transpose(t, [0, 2, 1, 3]);
}

/** Where a forward call sits in its sequence: index of its first token, and the cache if any. */
interface StepContext {
  start: number;
  cache: KVCache | null;
}
let modelCounter = 0;

export class DcformerModel {
  readonly config: ModelConfig;
  /** The weight table of `config` (official name, tree path, shape, init), built once. */
  readonly specs: readonly WeightSpec[];
  /** The parameters as one typed tree (what the forward reads). */
  readonly params: ModelParams;
  /** The same tensors by official name, in official state_dict order (checkpoints, optimizer, gradients). */
  readonly variables: Map<string, Variable>;
  private readonly windows: (number | null)[];
  private disposed = false;

  /**
   * Takes ownership of `tensors` (official name → float32 tensor of the spec'd shape; callers check
   * names and shapes, see checkpoint.ts) and wraps each in a trainable variable.
   */
  constructor(config: ModelConfig, tensors: Map<string, Tensor>) {
    this.config = config;
    this.windows = layerWindows(config);
    this.specs = weightSpecs(config);
    const id = modelCounter++;
    this.variables = new Map();
    for (const spec of this.specs) {
      const t = tensors.get(spec.official);
      if (t === undefined) throw new Error(`DcformerModel: internal: no tensor for '${spec.official}'`);
      this.variables.set(spec.official, tf.variable(t, true, `dcformer${id}/${spec.official}`));
      t.dispose();
    }
    this.params = paramTree(config, this.specs, (spec) => this.variables.get(spec.official) as Variable);
  }

  /** Logits [B,T,V] for token ids [B,T] (int32 tensor or rectangular rows); one full forward. */
  forward(ids: Tensor | number[][]): Tensor {
    this.checkAlive();
    const ids_BT = validateIds(ids, this.config, 'DcformerModel.forward');
    try {
      return this.run(ids_BT, { start: 0, cache: null });
    } finally {
      if (ids_BT !== ids) ids_BT.dispose();
    }
  }

  /** An empty KV+KW cache for `batch` rows; `pads[b]` left-padding positions precede row b's tokens. */
  createCache(batch: number, pads?: readonly number[]): KVCache {
    return new KVCache(batch, this.config.nLayer, pads);
  }

  /**
   * Cached forward: runs `ids` [B,T] as the next T positions of `cache` (prefill of any length, or a
   * one-token decode step), appends their keys to the cache and returns their logits [B,T,V].
   */
  forwardCached(ids: Tensor | number[][], cache: KVCache): Tensor {
    this.checkAlive();
    const ids_BT = validateIds(ids, this.config, 'DcformerModel.forwardCached');
    try {
      const [B, T] = ids_BT.shape as number[];
      if (B !== cache.batch)
        throw new InputError(
          `DcformerModel.forwardCached: ids have B = ${B} rows but the cache was made for ${cache.batch}`,
        );
      if (cache.length + T > this.config.blockSize) {
        throw new InputError(
          `DcformerModel.forwardCached: cached length ${cache.length} + ${T} new tokens exceeds block_size ${this.config.blockSize}`,
        );
      }
      const logits = this.run(ids_BT, { start: cache.length, cache });
      cache.length += T;
      return logits;
    } finally {
      if (ids_BT !== ids) ids_BT.dispose();
    }
  }

  private run(ids_BT: Tensor, ctx: StepContext): Tensor {
    const cache = ctx.cache;
    const decode = cache === null ? null : decodeLayerForStep(this.config, this.params.layers, ids_BT);
    if (cache !== null && decode !== null) {
      // one token per row: each block is one call of the backend's decode layer (decode-step.ts)
      return tf.tidy(() => {
        const x_BD = Float32Array.from(embed(this.params.tokEmbeddings, ids_BT).dataSync() as Float32Array);
        decodeBlocks(decode, this.config, this.params.layers, this.windows, x_BD, cache, ctx.start);
        const x_BTD = tf.tensor(x_BD, [cache.batch, 1, this.config.dim], 'float32');
        return linear(this.norm(this.params.norm, x_BTD), this.params.output);
      });
    }
    cache?.toTensors(); // layers a decode layer left as rows
    return tf.tidy(() => linear(this.hidden(ids_BT, ctx), this.params.output));
  }

  /** The final-normed hidden states [B,T,D] the output projection reads. */
  private hidden(ids_BT: Tensor, ctx: StepContext): Tensor {
    return tf.tidy(() => {
      let x_BTD = embed(this.params.tokEmbeddings, ids_BT);
      if (isMudd(this.config)) {
        const block = (i: number, s: Streams) => this.block(this.params.layers[i], i, s, ctx);
        x_BTD = muddLayers(x_BTD, this.params as MuddParams, this.config.normEps, block);
      } else {
        this.params.layers.forEach((layer, i) => {
          x_BTD = this.block(layer, i, { q: x_BTD, k: x_BTD, v: x_BTD, r: x_BTD }, ctx);
        });
      }
      return this.norm(this.params.norm, x_BTD);
    });
  }

  /** Mean next-token cross-entropy over B·(T−1) predictions (labels = ids shifted by one). */
  loss(ids: Tensor | number[][]): Tensor {
    this.checkAlive();
    const ids_BT = validateIds(ids, this.config, 'DcformerModel.loss', 2);
    try {
      return tf.tidy(() => {
        // Drop the last position before the vocabulary projection: its logits predict nothing.
        const [B, T] = ids_BT.shape as number[];
        const h_BTD = tf.slice(this.hidden(ids_BT, { start: 0, cache: null }), [0, 0, 0], [B, T - 1, this.config.dim]);
        const logits_BTV = linear(h_BTD, this.params.output);
        return nextTokenLoss(logits_BTV, tf.slice(ids_BT, [0, 1], [B, T - 1]), { shifted: true });
      });
    } finally {
      if (ids_BT !== ids) ids_BT.dispose();
    }
  }

  /** Loss and d(loss)/d(parameter) for every trainable parameter, keyed by official name. Reads with dataSync(). */
  lossAndGrads(ids: Tensor | number[][]): { loss: number; grads: Map<string, Tensor> } {
    return readSync(this.lossAndGradsSteps(ids));
  }

  /** `lossAndGrads` reading the loss with `await data()` (GPU backends cannot read synchronously). */
  lossAndGradsAsync(ids: Tensor | number[][]): Promise<{ loss: number; grads: Map<string, Tensor> }> {
    return readAsync(this.lossAndGradsSteps(ids));
  }

  /** lossAndGrads written once; readSync / readAsync choose how the loss is read. */
  private *lossAndGradsSteps(ids: Tensor | number[][]): Reads<{ loss: number; grads: Map<string, Tensor> }> {
    const { value, grads } = this.gradients(ids, 'DcformerModel.lossAndGrads');
    try {
      const loss = (yield value)[0];
      return { loss, grads };
    } catch (e) {
      for (const g of grads.values()) g.dispose();
      throw e;
    } finally {
      value.dispose();
    }
  }

  /**
   * The loss (a scalar still on the device) and its gradient for every trainable parameter, keyed
   * by official name, in state_dict order. The caller disposes all of them. `caller` names the
   * public entry point in error messages.
   */
  gradients(
    ids: Tensor | number[][],
    caller = 'DcformerModel.gradients',
  ): { value: tf.Scalar; grads: Map<string, Tensor> } {
    this.checkAlive();
    const ids_BT = validateIds(ids, this.config, caller, 2);
    try {
      const { value, grads } = tf.variableGrads(() => this.loss(ids_BT) as tf.Scalar, [...this.variables.values()]);
      const byName = new Map<string, Tensor>();
      for (const [name, v] of this.variables) byName.set(name, grads[v.name]);
      return { value, grads: byName };
    } finally {
      if (ids_BT !== ids) ids_BT.dispose();
    }
  }

  dispose(): void {
    if (this.disposed) return;
    for (const v of this.variables.values()) v.dispose();
    releaseCompact(this);
    this.disposed = true;
  }

  private checkAlive(): void {
    if (this.disposed) throw new Error('DcformerModel: used after dispose()');
  }

  private norm(p: NormParams, x: Tensor): Tensor {
    return isPythiaLike(this.config)
      ? layerNorm(x, p.weight, p.bias as Tensor, this.config.normEps)
      : rmsNorm(x, p.weight, this.config.normEps);
  }

  // DCFormerBlock / DCPythiaBlock / MUDD TransformerBlock .forward. DCFormer's streams are all the
  // residual x; a MUDD block reads q, k, v and the residual r from the dense connection.
  private block(layer: LayerParams, index: number, s: Streams, ctx: StepContext): Tensor {
    let normed: { q: Tensor; k: Tensor; v: Tensor };
    if (layer.attentionNorms) {
      const [nq, nk, nv] = layer.attentionNorms;
      normed = { q: this.norm(nq, s.q), k: this.norm(nk, s.k), v: this.norm(nv, s.v) };
    } else {
      const n_BTD = this.norm(layer.attentionNorm as NormParams, s.r); // one input for all three
      normed = { q: n_BTD, k: n_BTD, v: n_BTD };
    }
    const h_BTD = tf.add(s.r, this.attention(layer.attention, index, normed, ctx));
    const ffnIn_BTD = this.config.useParallelResidual ? s.r : h_BTD;
    return tf.add(h_BTD, this.feedForward(layer.feedForward, this.norm(layer.ffnNorm, ffnIn_BTD)));
  }

  // DCMHAttention.forward (training path with inference semantics, DESIGN.md "One semantics").
  // `x` holds the normed inputs of q, k and v (one tensor three times except in MUDD blocks ≥ 1).
  private attention(
    p: AttentionParams,
    index: number,
    x: { q: Tensor; k: Tensor; v: Tensor },
    ctx: StepContext,
  ): Tensor {
    const { dim: D, nHead: N, headDim: E, ropeBase } = this.config;
    const [B, T] = x.q.shape as number[];
    const heads = (t: Tensor) => tf.reshape(t, [B, T, N, E]);
    const [q, k, v] = p.wqkv
      ? tf.split(linear(x.q, p.wqkv, p.wqkvBias), 3, 2).map(heads)
      : [
          heads(linear(x.q, p.wq as Tensor, p.wqBias)),
          heads(linear(x.k, p.wk as Tensor, p.wkBias)),
          heads(linear(x.v, p.wv as Tensor, p.wvBias)),
        ];
    let q_BTNE = q;
    let k_BTNE = k;
    if (this.config.useQkNorm) {
      // MUDD's q_norm / k_norm use norm_eps; DCFormer's a fixed 1e-6
      const eps = isMudd(this.config) ? this.config.normEps : QK_NORM_EPS;
      q_BTNE = rmsNorm(q_BTNE, p.qNormScale as Tensor, eps);
      k_BTNE = rmsNorm(k_BTNE, p.kNormScale as Tensor, eps);
    }
    const R = rotaryDims(this.config);
    const cache = ctx.cache;
    // Left-padded rows count positions from their first real token.
    const ropeStart = cache?.padded ? cache.pads.map((pad) => ctx.start - pad) : ctx.start;
    q_BTNE = applyRope(q_BTNE, R, ropeBase, ropeStart);
    k_BTNE = applyRope(k_BTNE, R, ropeBase, ropeStart);
    const toHeads = swapAxes12;
    const { queryWise, keyWise } = this.config;
    let weights: AttentionWeights | null = null;
    if (this.config.useDcmha) {
      // The query side from the query input, the key side from the key input (the same tensor
      // outside MUDD blocks ≥ 1); a side that is off is not kept (nor cached).
      // dw1 / dd are compact weights (their transposes) in a compact model: compact.ts
      const proj = { dw1: p.dw1 as LinearWeight, qkw: p.qkw as Tensor, dd: p.dd as LinearWeight, dwdd: p.dwdd };
      const wq = dynamicWeights(x.q, proj);
      const wk = x.k === x.q ? wq : dynamicWeights(x.k, proj);
      weights = { query: queryWise ? wq.query : null, key: keyWise ? wk.key : null };
    }
    const window = this.windows[index];
    let k_BNSE = toHeads(k_BTNE);
    let v_BNSE = toHeads(v);
    let keyOffset = ctx.start;
    if (cache !== null) {
      const all = appendKeys(cache.layers[index], k_BNSE, v_BNSE, weights?.key ?? null, ctx.start);
      ({ k_BNSE, v_BNSE } = all);
      // the key side of every cached position, this step's included
      if (weights !== null) weights = { query: weights.query, key: all.key };
      keyOffset = all.start;
      // the next query (position start + T) sees W − 1 earlier keys at most
      cache.setLayer(index, window === null ? all : trimKeys(all, Math.max(all.start, ctx.start + T - window + 1)));
    }
    const y_BNTE = dcmhaAttention(toHeads(q_BTNE), k_BNSE, v_BNSE, weights, {
      window,
      chunkSize: this.config.qChunkSize,
      compose: { queryWise, keyWise },
      keyOffset,
      queryOffset: ctx.start,
      keyStart: cache?.padded ? cache.pads : undefined,
    });
    const y_BTD = tf.reshape(swapAxes12(y_BNTE), [B, T, D]);
    return linear(y_BTD, p.wo, p.woBias);
  }

  // FeedForward.forward: SwiGLU with optional mgate (DCFormer), GELU MLP (DCPythia)
  private feedForward(p: FeedForwardParams, x_BTD: Tensor): Tensor {
    if (isPythiaLike(this.config)) {
      return linear(geluExact(linear(x_BTD, p.w1, p.w1Bias)), p.w2, p.w2Bias);
    }
    // w13 (a compact model): both products from one matmul, w1's half first
    const [gate_BTF, up_BTF] = p.w13
      ? tf.split(linear(x_BTD, p.w13), 2, -1)
      : [linear(x_BTD, p.w1), linear(x_BTD, p.w3 as Tensor)];
    let act_BTF = tf.mul(silu(gate_BTF), up_BTF);
    if (this.config.mgate) {
      const [B, T, F] = act_BTF.shape as number[];
      const G = this.config.mgateDim;
      const gate_BTG1 = tf.reshape(tf.softmax(linear(x_BTD, p.mg as Tensor)), [B, T, G, 1]);
      act_BTF = tf.reshape(tf.mul(tf.reshape(act_BTF, [B, T, G, F / G]), gate_BTG1), [B, T, F]);
    }
    return linear(act_BTF, p.w2);
  }
}
