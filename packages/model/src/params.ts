/**
 * The one parameter tree of a model: typed, camelCase fields (as DESIGN.md names them), built once
 * from the weight table (weights.ts / mudd-weights.ts), which keeps each tensor's official
 * checkpoint name, shape and initialiser as data. The model's `variables` map is the same tensors
 * indexed by official name (checkpoints, the optimizer, gradients); nothing else holds a copy.
 */
import type { Tensor } from '@tensorflow/tfjs-core';
import type { CompactWeight } from '@dcformer/kernels';
import { isMudd, type ModelConfig } from './config.js';
import type { MuddParams } from './mudd.js';
import type { WeightSpec } from './weights.js';

export interface AttentionParams {
  /** DCFormer / DCPythia: q, k, v from one input. */
  wqkv?: Tensor;
  wqkvBias?: Tensor;
  /** MUDD: q, k, v from their own input streams. */
  wq?: Tensor;
  wqBias?: Tensor;
  wk?: Tensor;
  wkBias?: Tensor;
  wv?: Tensor;
  wvBias?: Tensor;
  wo: Tensor;
  woBias?: Tensor;
  dw1?: Tensor;
  qkw?: Tensor;
  dd?: Tensor;
  /** A compact model on a host backend: dw1ᵀ and ddᵀ as one compact weight [4K + 4N, D] (compact.ts). */
  dwdd?: CompactWeight;
  qNormScale?: Tensor;
  kNormScale?: Tensor;
}
export interface FeedForwardParams {
  w1: Tensor;
  w1Bias?: Tensor;
  w2: Tensor;
  w2Bias?: Tensor;
  w3?: Tensor;
  /** A compact model on a host backend: w1 and w3 as one compact weight [2F, D] (compact.ts). */
  w13?: CompactWeight;
  mg?: Tensor;
  /** In the table of a DCPythia config with biases and mgate; the GELU MLP never reads mg. */
  mgBias?: Tensor;
}
export interface NormParams {
  weight: Tensor;
  bias?: Tensor;
}
export interface LayerParams {
  attention: AttentionParams;
  feedForward: FeedForwardParams;
  /** Absent on MUDD layers after the first, which norm their q, k and v streams separately. */
  attentionNorm?: NormParams;
  /** MUDD layers ≥ 1: norms of the q, k and v streams. */
  attentionNorms?: NormParams[];
  ffnNorm: NormParams;
}
export interface ModelParams extends Partial<MuddParams> {
  tokEmbeddings: Tensor;
  layers: LayerParams[];
  norm: NormParams;
  output: Tensor;
}

/**
 * The typed tree of `config` from its weight table: `tensorOf(spec)` gives each entry's tensor.
 * Every table entry lands in exactly one field (checked), so the table and the tree cannot drift.
 */
export function paramTree(
  config: ModelConfig,
  specs: readonly WeightSpec[],
  tensorOf: (spec: WeightSpec) => Tensor,
): ModelParams {
  const byPath = new Map(specs.map((s) => [s.path, s]));
  const placed = new Set<string>();
  const opt = (path: string): Tensor | undefined => {
    const spec = byPath.get(path);
    if (spec === undefined) return undefined;
    placed.add(path);
    return tensorOf(spec);
  };
  const req = (path: string): Tensor => {
    const t = opt(path);
    if (t === undefined) throw new Error(`paramTree: internal: the weight table has no '${path}'`);
    return t;
  };
  const norm = (path: string): NormParams => ({ weight: req(`${path}.weight`), bias: opt(`${path}.bias`) });
  const layer = (i: number): LayerParams => {
    const o = `layers.${i}`;
    const a = `${o}.attention`;
    const f = `${o}.feedForward`;
    const mudd = isMudd(config);
    return {
      attention: {
        wqkv: opt(`${a}.wqkv`),
        wqkvBias: opt(`${a}.wqkvBias`),
        wq: opt(`${a}.wq`),
        wqBias: opt(`${a}.wqBias`),
        wk: opt(`${a}.wk`),
        wkBias: opt(`${a}.wkBias`),
        wv: opt(`${a}.wv`),
        wvBias: opt(`${a}.wvBias`),
        wo: req(`${a}.wo`),
        woBias: opt(`${a}.woBias`),
        dw1: opt(`${a}.dw1`),
        qkw: opt(`${a}.qkw`),
        dd: opt(`${a}.dd`),
        qNormScale: opt(`${a}.qNormScale`),
        kNormScale: opt(`${a}.kNormScale`),
      },
      feedForward: {
        w1: req(`${f}.w1`),
        w1Bias: opt(`${f}.w1Bias`),
        w2: req(`${f}.w2`),
        w2Bias: opt(`${f}.w2Bias`),
        w3: opt(`${f}.w3`),
        mg: opt(`${f}.mg`),
        mgBias: opt(`${f}.mgBias`),
      },
      attentionNorm: !mudd || i === 0 ? norm(`${o}.attentionNorm`) : undefined,
      attentionNorms: mudd && i > 0 ? [0, 1, 2].map((j) => norm(`${o}.attentionNorms.${j}`)) : undefined,
      ffnNorm: norm(`${o}.ffnNorm`),
    };
  };
  const tree: ModelParams = {
    tokEmbeddings: req('tokEmbeddings'),
    layers: Array.from({ length: config.nLayer }, (_, i) => layer(i)),
    norm: norm('norm'),
    output: req('output'),
  };
  if (isMudd(config)) {
    const n = config.nLayer;
    tree.denseBs = Array.from({ length: n }, (_, i) => req(`denseBs.${i}`));
    tree.dynamicDense = Array.from({ length: n }, (_, i) => ({
      proj1: req(`dynamicDense.${i}.proj1`),
      proj2: req(`dynamicDense.${i}.proj2`),
    }));
  }
  const stray = specs.find((s) => !placed.has(s.path));
  if (stray !== undefined)
    throw new Error(`paramTree: internal: '${stray.official}' (${stray.path}) has no field in the tree`);
  return tree;
}
