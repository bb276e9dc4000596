/**
 * The one declarative table between official checkpoint names (modeling_dcformer.py /
 * modeling_dcpythia.py state_dict keys) and this code's camelCase parameter paths, with each
 * tensor's shape and official initialiser. Loading, saving, init and gradient export all read it.
 */
import { dynamicRank, isMudd, type ModelConfig } from './config.js';
import { muddWeightSpecs } from './mudd-weights.js';

export type Init =
  | { kind: 'xavier' } // nn.Linear weight: U(±√(6/(fanIn + fanOut)))
  | { kind: 'zeros' }
  | { kind: 'ones' }
  | { kind: 'normal'; std: number }
  | { kind: 'lastColumn' }; // (C, L) rows one-hot on the last column: MUDD's dense_bs as the JAX trainer inits it

export interface WeightSpec {
  /** Name in official checkpoints, e.g. `layers.0.attention.wqkv.weight`. */
  official: string;
  /** Path in `ModelParams`, e.g. `layers.0.attention.wqkv`. */
  path: string;
  shape: number[];
  init: Init;
}

/** Dynamic-projection sizes: K hidden width (4N), I rank. */
export function dynamicSizes(config: ModelConfig): { N: number; K: number; I: number } {
  const N = config.nHead;
  return { N, K: 4 * N, I: dynamicRank(N) };
}

/** Every trainable parameter of `config`, in official state_dict order. */
export function weightSpecs(config: ModelConfig): WeightSpec[] {
  if (isMudd(config)) return muddWeightSpecs(config);
  const { dim: D, vocabSize: V, intermediateSize: F, headDim: E } = config;
  const pythia = config.family === 'dcpythia';
  const bias = pythia && config.useLinearBias;
  const xavier: Init = { kind: 'xavier' };
  const embedStd: Init = { kind: 'normal', std: 1 / Math.sqrt(D) };
  const specs: WeightSpec[] = [];
  const add = (official: string, path: string, shape: number[], init: Init) =>
    specs.push({ official, path, shape, init });
  const norm = (official: string, path: string) => {
    add(`${official}.weight`, `${path}.weight`, [D], { kind: 'ones' });
    if (pythia) add(`${official}.bias`, `${path}.bias`, [D], { kind: 'zeros' });
  };
  const linear = (official: string, path: string, outDim: number, inDim: number) => {
    add(`${official}.weight`, path, [outDim, inDim], xavier);
    if (bias) add(`${official}.bias`, `${path}Bias`, [outDim], { kind: 'zeros' });
  };

  add('tok_embeddings.weight', 'tokEmbeddings', [V, D], embedStd);
  for (let i = 0; i < config.nLayer; i++) {
    const o = `layers.${i}`;
    linear(`${o}.attention.wqkv`, `${o}.attention.wqkv`, 3 * D, D);
    linear(`${o}.attention.wo`, `${o}.attention.wo`, D, D);
    if (config.useDcmha) dcmhaSpecs(config, i, add);
    if (config.useQkNorm) {
      add(`${o}.attention.q_norm.scale`, `${o}.attention.qNormScale`, [E], { kind: 'ones' });
      add(`${o}.attention.k_norm.scale`, `${o}.attention.kNormScale`, [E], { kind: 'ones' });
    }
    linear(`${o}.feed_forward.w1`, `${o}.feedForward.w1`, F, D);
    if (!pythia) linear(`${o}.feed_forward.w3`, `${o}.feedForward.w3`, F, D);
    linear(`${o}.feed_forward.w2`, `${o}.feedForward.w2`, D, F);
    if (config.mgate) linear(`${o}.feed_forward.mg`, `${o}.feedForward.mg`, config.mgateDim, D);
    norm(`${o}.ffn_norm`, `${o}.ffnNorm`);
    norm(`${o}.attention_norm`, `${o}.attentionNorm`);
  }
  norm('norm', 'norm');
  add('output.weight', 'output', [V, D], embedStd);
  return specs;
}

/** DCMHA's dynamic projection of layer i (`dyn_w_proj.dw1/qkw/dd`), shared by DCFormer and MUDD×DCMHA. */
export function dcmhaSpecs(
  config: ModelConfig,
  i: number,
  add: (official: string, path: string, shape: number[], init: Init) => void,
): void {
  const { dim: D } = config;
  const { N, K, I } = dynamicSizes(config);
  const o = `layers.${i}`;
  const p = `${o}.attention.dyn_w_proj`;
  // docs/dcmha.md "Official init"; DCPythia's zero init can never train, so it uses these too.
  add(`${p}.dw1`, `${o}.attention.dw1`, [D, 1, 4, K], { kind: 'normal', std: Math.sqrt(2 / (D + K)) });
  add(`${p}.qkw`, `${o}.attention.qkw`, [1, 4, K, 2 * I, N], {
    kind: 'normal',
    std: 0.02 / (Math.sqrt(4 * N) * (N + 2)),
  });
  add(`${p}.dd`, `${o}.attention.dd`, [D, 1, 4 * N], { kind: 'normal', std: 0.05 * Math.sqrt(2 / (N + D)) });
}

/** Tensors official checkpoints hold besides the parameters; derived or constant, never trained here. */
export interface ExtraSpec {
  official: string;
  shape: number[];
  kind: 'identity' | 'dw_m' | 'qkw_m' | 'ignored';
  layer: number;
}

/**
 * `dyn_w_proj.{pre,post}_proj.w` (identity buffers: "no static matrix", docs/dcmha.md) and the merged
 * copies `dw_m` = [dw1 as (D,4K) | dd as (D,4N)], `qkw_m` = qkw as (4,K,2I·N). In `use_dcmha: false`
 * checkpoints the official module still writes dyn_w_proj.*: accepted and ignored.
 */
export function extraSpecs(config: ModelConfig): ExtraSpec[] {
  if (isMudd(config)) return []; // MUDD checkpoints hold exactly the parameters
  const { dim: D } = config;
  const { N, K, I } = dynamicSizes(config);
  const out: ExtraSpec[] = [];
  for (let i = 0; i < config.nLayer; i++) {
    const p = `layers.${i}.attention.dyn_w_proj`;
    out.push({
      official: `${p}.pre_proj.w`,
      shape: [1, N, N],
      kind: config.useDcmha ? 'identity' : 'ignored',
      layer: i,
    });
    out.push({
      official: `${p}.post_proj.w`,
      shape: [1, N, N],
      kind: config.useDcmha ? 'identity' : 'ignored',
      layer: i,
    });
    out.push({
      official: `${p}.dw_m`,
      shape: [D, 4 * K + 4 * N],
      kind: config.useDcmha ? 'dw_m' : 'ignored',
      layer: i,
    });
    out.push({
      official: `${p}.qkw_m`,
      shape: [4, K, 2 * I * N],
      kind: config.useDcmha ? 'qkw_m' : 'ignored',
      layer: i,
    });
    if (!config.useDcmha) {
      for (const name of ['dw1', 'qkw', 'dd'])
        out.push({ official: `${p}.${name}`, shape: [], kind: 'ignored', layer: i });
    }
  }
  return out;
}

/** dw_m rows: [dw1 (4K) | dd (4N)] per input dim; a pure re-layout (no arithmetic). */
export function mergeDw(dw1: Float32Array, dd: Float32Array, D: number, K: number, N: number): Float32Array {
  const out = new Float32Array(D * (4 * K + 4 * N));
  for (let d = 0; d < D; d++) {
    out.set(dw1.subarray(d * 4 * K, (d + 1) * 4 * K), d * (4 * K + 4 * N));
    out.set(dd.subarray(d * 4 * N, (d + 1) * 4 * N), d * (4 * K + 4 * N) + 4 * K);
  }
  return out;
}

/** Inverse of mergeDw: dw1 as (D,1,4,K) and dd as (D,1,4N). */
export function splitDw(dwM: Float32Array, D: number, K: number, N: number): { dw1: Float32Array; dd: Float32Array } {
  const dw1 = new Float32Array(D * 4 * K);
  const dd = new Float32Array(D * 4 * N);
  const row = 4 * K + 4 * N;
  for (let d = 0; d < D; d++) {
    dw1.set(dwM.subarray(d * row, d * row + 4 * K), d * 4 * K);
    dd.set(dwM.subarray(d * row + 4 * K, (d + 1) * row), d * 4 * N);
  }
  return { dw1, dd };
}

export function identityMatrix(N: number): Float32Array {
  const out = new Float32Array(N * N);
  for (let i = 0; i < N; i++) out[i * N + i] = 1;
  return out;
}
