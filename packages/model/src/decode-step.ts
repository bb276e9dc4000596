/**
 * A one-token decode step of up to 8 sequences through the backend's decode layer (@dcformer/kernels'
 * decode-layer contract): each block is one call that reads the weights where the model holds them
 * and writes its cache row in place, instead of ~50 tfjs kernels per block. The embedding, the final
 * norm and the output projection stay tfjs ops. Same semantics as DcformerModel.block for the
 * configurations it accepts (DCFormer++ / Transformer++ without mgate, DCPythia); MUDD models and
 * mgate keep the tfjs path. DCFORMER_DECODE_LAYER=0 turns it off (to compare both).
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Tensor } from '@tensorflow/tfjs-core';
import {
  type CompactWeight,
  type DecodeLayerFn,
  type DecodeLayerShape,
  type DecodeLayerWeights,
  DECODE_LAYER_MAX_ROWS,
  decodeLayerFor,
  ropeTable,
} from '@dcformer/kernels';
import { isMudd, isPythiaLike, rotaryDims, type ModelConfig } from './config.js';
import { type KVCache, advanceRows } from './cache.js';
import { QK_NORM_EPS } from './layers.js';
import type { LayerParams, NormParams } from './params.js';

function switchedOff(): boolean {
  return typeof process !== 'undefined' && process.env?.DCFORMER_DECODE_LAYER === '0';
}

/** The decode layer for this step, or null when the tfjs path must run it. */
export function decodeLayerForStep(
  config: ModelConfig,
  layers: readonly LayerParams[],
  ids_BT: Tensor,
): DecodeLayerFn | null {
  const [B, T] = ids_BT.shape as number[];
  if (B > DECODE_LAYER_MAX_ROWS || T !== 1 || switchedOff()) return null;
  if (isMudd(config) || config.mgate) return null;
  if (layers.some((l) => l.attentionNorm === undefined || l.attention.wqkv === undefined)) return null;
  return decodeLayerFor(tf.getBackend());
}

/** The block's sizes and switches: the same for every layer of a model. */
function shapeOf(config: ModelConfig, layer: LayerParams): DecodeLayerShape {
  const qkw = layer.attention.qkw?.shape as number[] | undefined;
  return {
    D: config.dim,
    N: config.nHead,
    E: config.headDim,
    R: rotaryDims(config),
    F: config.intermediateSize,
    I: qkw ? qkw[3] / 2 : 0,
    C: qkw ? qkw[2] : 0,
    normEps: config.normEps,
    qkEps: QK_NORM_EPS,
    qkNorm: config.useQkNorm,
    dcmha: config.useDcmha,
    queryWise: config.queryWise,
    keyWise: config.keyWise,
    layerNorm: isPythiaLike(config),
    geluMlp: isPythiaLike(config),
    parallelResidual: config.useParallelResidual,
  };
}

function weightsOf(layer: LayerParams): DecodeLayerWeights {
  const a = layer.attention;
  const f = layer.feedForward;
  const norm = layer.attentionNorm as NormParams;
  return {
    attentionNorm: norm.weight,
    ffnNorm: layer.ffnNorm.weight,
    attentionNormBias: norm.bias,
    ffnNormBias: layer.ffnNorm.bias,
    wqkvBias: a.wqkvBias,
    woBias: a.woBias,
    w1Bias: f.w1Bias,
    w2Bias: f.w2Bias,
    qNorm: a.qNormScale,
    kNorm: a.kNormScale,
    wqkv: a.wqkv as Tensor,
    wo: a.wo,
    w1: f.w13 ?? f.w1,
    w3: f.w13 ? undefined : f.w3,
    w2: f.w2,
    dw1: a.dwdd ?? (a.dw1 as Tensor | CompactWeight | undefined),
    dd: a.dwdd ? undefined : a.dd,
    qkw: a.qkw,
  };
}

/**
 * The blocks of one decode step: x_BD (the embedded tokens [B, D], overwritten) through every layer
 * at batch index `position`, each layer's cache in row form. Left-padded rows count their RoPE
 * positions from their first real token and mask the keys before it, as the tfjs path does.
 */
export function decodeBlocks(
  fn: DecodeLayerFn,
  config: ModelConfig,
  layers: readonly LayerParams[],
  windows: readonly (number | null)[],
  x_BD: Float32Array,
  cache: KVCache,
  position: number,
): void {
  const R = rotaryDims(config);
  const B = cache.batch;
  const cos = new Float32Array((B * R) / 2);
  const sin = new Float32Array((B * R) / 2);
  cache.pads.forEach((pad, b) => {
    const t = ropeTable(R, config.ropeBase, position - (cache.padded ? pad : 0), 1);
    cos.set(t.cos, (b * R) / 2);
    sin.set(t.sin, (b * R) / 2);
  });
  const keyStart = cache.padded ? cache.pads : null;
  const shape = shapeOf(config, layers[0]);
  const side = shape.dcmha && shape.keyWise ? { I: shape.I, N: shape.N } : null;
  layers.forEach((layer, i) => {
    const rows = cache.rowLayer(i, shape.N, shape.E, side);
    const window = windows[i];
    fn({ shape, weights: weightsOf(layer), batch: B, x: x_BD, position, cos, sin, keyStart, window, rows });
    advanceRows(rows, position, window);
  });
}
