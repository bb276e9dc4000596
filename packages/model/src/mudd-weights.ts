/**
 * MUDDFormer / MUDDPythia parameters under their official state_dict names
 * (modeling_muddformer.py / modeling_muddpythia.py @ fc067b2), in state_dict order, with the
 * initialiser a new model trains from.
 *
 * Init: the linears, embeddings and norms as for DCFormer (docs/dcmha.md "Official init"); the MUDD
 * weights as the official JAX trainer inits them (jax/MaxText/layers/llama2.py): `dense_bs` one-hot on
 * the newest layer, `dynamic_dense.w1` N(0, 1/D), `w2` zero, so a new model starts as a plain residual
 * Transformer. (The PyTorch constructors draw dense_bs from randn; that code is for inference only.)
 */
import type { ModelConfig } from './config.js';
import { ffnWidths, muddSizes } from './mudd-config.js';
import { dcmhaSpecs, type Init, type WeightSpec } from './weights.js';

export function muddWeightSpecs(config: ModelConfig): WeightSpec[] {
  const { dim: D, vocabSize: V, headDim: E } = config;
  const pythia = config.family === 'muddpythia';
  const xavier: Init = { kind: 'xavier' };
  const zeros: Init = { kind: 'zeros' };
  const embedStd: Init = { kind: 'normal', std: 1 / Math.sqrt(D) };
  const specs: WeightSpec[] = [];
  const add = (official: string, path: string, shape: number[], init: Init) =>
    specs.push({ official, path, shape, init });
  const norm = (official: string, path: string) => {
    add(`${official}.weight`, `${path}.weight`, [D], { kind: 'ones' });
    if (pythia) add(`${official}.bias`, `${path}.bias`, [D], zeros);
  };
  const linear = (official: string, path: string, outDim: number, inDim: number, bias: boolean) => {
    add(`${official}.weight`, path, [outDim, inDim], xavier);
    if (bias) add(`${official}.bias`, `${path}Bias`, [outDim], zeros);
  };
  const widths = ffnWidths(config);

  add('tok_embeddings.weight', 'tokEmbeddings', [V, D], embedStd);
  for (let i = 0; i < config.nLayer; i++) {
    const o = `layers.${i}`;
    // MUDDPythia's attention projections always have biases; MUDDFormer's never.
    for (const w of ['wq', 'wk', 'wv', 'wo']) linear(`${o}.attention.${w}`, `${o}.attention.${w}`, D, D, pythia);
    if (config.useQkNorm) {
      add(`${o}.attention.q_norm.weight`, `${o}.attention.qNormScale`, [E], { kind: 'ones' });
      add(`${o}.attention.k_norm.weight`, `${o}.attention.kNormScale`, [E], { kind: 'ones' });
    }
    if (config.useDcmha) dcmhaSpecs(config, i, add); // this project's extension: no official name exists
    const F = widths[i];
    const ffnBias = pythia && config.useLinearBias;
    linear(`${o}.feed_forward.w1`, `${o}.feedForward.w1`, F, D, ffnBias);
    if (!pythia) linear(`${o}.feed_forward.w3`, `${o}.feedForward.w3`, F, D, false);
    linear(`${o}.feed_forward.w2`, `${o}.feedForward.w2`, D, F, ffnBias);
    norm(`${o}.ffn_norm`, `${o}.ffnNorm`);
    if (i === 0) norm(`${o}.attention_norm`, `${o}.attentionNorm`);
    else for (let j = 0; j < 3; j++) norm(`${o}.attention_norms.${j}`, `${o}.attentionNorms.${j}`);
  }
  norm('norm', 'norm');
  add('output.weight', 'output', [V, D], embedStd);
  const sizes = muddSizes(config);
  sizes.forEach(({ C, L }, i) => add(`dense_bs.${i}`, `denseBs.${i}`, [C, L], { kind: 'lastColumn' }));
  sizes.forEach(({ C, L, hidden }, i) => {
    add(`dynamic_dense.${i}.w1.weight`, `dynamicDense.${i}.proj1`, [hidden, D], {
      kind: 'normal',
      std: 1 / Math.sqrt(D),
    });
    add(`dynamic_dense.${i}.w2.weight`, `dynamicDense.${i}.proj2`, [C * L, hidden], zeros);
  });
  return specs;
}
