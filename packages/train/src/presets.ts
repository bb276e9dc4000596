/**
 * Training presets by exact name (DESIGN.md "Presets and data conventions"): a model shape from
 * `@dcformer/model`'s PRESETS (or defined here when only training needs it), the tokenizer it is
 * meant for, and the hyper-parameters of its default run.
 */
import { ConfigError } from '@dcformer/kernels';
import { PRESETS, resolveConfig, type ModelConfig } from '@dcformer/model';
import type { RunSettings } from './settings.js';

/** Which tokenizer a preset's default run uses when --tokenizer is not given. */
export type TokenizerChoice = 'byte-level' | 'gpt-neox';

export interface TrainPreset {
  model: ModelConfig;
  tokenizer: TokenizerChoice;
  settings: Partial<RunSettings>;
  /** What the end-of-run sample generates. */
  sample: { prompt: string; tokens: number; temperature: number; topK?: number };
  /** One line for --help. */
  about: string;
}

/**
 * The paper's 405M DCFormer++ (Caiyun-AI/DCFormer jax/MaxText/configs/dcformer_pp_405m.yml @ df8671f:
 * emb 1024, 16 heads, 24 layers, mlp 2816, window [256, null], qk_norm, normalization eps 1e-5),
 * with the GPT-NeoX vocabulary of the released checkpoints. Instantiable, not trained here.
 */
const DCFORMER_405M = resolveConfig({
  family: 'dcformer',
  vocabSize: 50257,
  dim: 1024,
  nHead: 16,
  nLayer: 24,
  intermediateSize: 2816,
  blockSize: 2048,
  windowSize: 256,
  windowType: null,
  qChunkSize: 128,
  useQkNorm: true,
  normEps: 1e-5,
  ropeBase: 10000,
  mgate: false,
});

const BENCH_SETTINGS: Partial<RunSettings> = {
  batchSize: 8,
  seqLen: 256,
  steps: 2000,
  lr: 1e-3,
  warmupSteps: 100,
  evalEvery: 200,
  evalBatches: 4,
  logEvery: 10,
  checkpointEvery: 500,
};

const DEFINITIONS: Record<string, Omit<TrainPreset, 'model'> & { model: ModelConfig }> = {
  tiny: {
    model: PRESETS.tiny,
    tokenizer: 'byte-level',
    // Sized to show learning within a minute on two cores with @dcformer/kernels-cpu (0.21 s per step
    // of 16 × 64 bytes; validation 2.54 / 2.41 / 2.30 / 2.22 at steps 30 / 60 / 90 / 120). On the stock
    // tfjs cpu kernels a step is ~75× slower; see apps/train/README.md.
    settings: {
      batchSize: 16,
      seqLen: 64,
      steps: 120,
      lr: 1e-2,
      warmupSteps: 10,
      finalLrFraction: 0.1,
      evalEvery: 30,
      evalBatches: 4,
      logEvery: 10,
      checkpointEvery: 60,
      keep: 2,
    },
    sample: { prompt: '\n', tokens: 200, temperature: 0.8, topK: 40 },
    about: 'byte-level DCFormer++ (dim 128, 4 layers), a couple of minutes on a laptop CPU',
  },
  'tiny-mudd': {
    model: PRESETS['tiny-mudd'],
    tokenizer: 'byte-level',
    // tiny's run, so the two compare at equal steps; see apps/train/README.md "--compare".
    settings: {
      batchSize: 16,
      seqLen: 64,
      steps: 120,
      lr: 1e-2,
      warmupSteps: 10,
      finalLrFraction: 0.1,
      evalEvery: 30,
      evalBatches: 4,
      logEvery: 10,
      checkpointEvery: 60,
      keep: 2,
    },
    sample: { prompt: '\n', tokens: 200, temperature: 0.8, topK: 40 },
    about: 'tiny as MUDDFormer (dynamic dense connections, global attention), byte-level',
  },
  'bench-small': {
    model: PRESETS['bench-small'],
    tokenizer: 'gpt-neox',
    settings: BENCH_SETTINGS,
    sample: { prompt: '\n', tokens: 64, temperature: 0.8, topK: 40 },
    about: 'GPT-NeoX vocabulary, dim 256, 4 layers, local 64 / global (the benchmark shape)',
  },
  'bench-small-mha': {
    model: PRESETS['bench-small-mha'],
    tokenizer: 'gpt-neox',
    settings: BENCH_SETTINGS,
    sample: { prompt: '\n', tokens: 64, temperature: 0.8, topK: 40 },
    about: 'bench-small as Transformer++ (use_dcmha: false)',
  },
  'dcformer-405m': {
    model: DCFORMER_405M,
    tokenizer: 'gpt-neox',
    settings: {
      batchSize: 16,
      seqLen: 2048,
      steps: 13500,
      lr: 3e-4,
      warmupSteps: 135,
      evalEvery: 1000,
      evalBatches: 8,
      logEvery: 10,
      checkpointEvery: 1000,
    },
    sample: { prompt: '\n', tokens: 64, temperature: 0.8, topK: 40 },
    about: "the paper's 405M DCFormer++ shape (dim 1024, 24 layers, 16 heads); instantiable, far too big for a CPU",
  },
};

export const TRAIN_PRESETS: Readonly<Record<string, TrainPreset>> = Object.freeze(DEFINITIONS);

/** The named preset (exact name), or a ConfigError listing the names. */
export function trainPreset(name: string): TrainPreset {
  const p = Object.hasOwn(TRAIN_PRESETS, name) ? TRAIN_PRESETS[name] : undefined;
  if (!p) {
    const names = Object.keys(TRAIN_PRESETS)
      .map((n) => `"${n}"`)
      .join(', ');
    throw new ConfigError(`unknown preset ${JSON.stringify(name)} (one of ${names})`, 'preset');
  }
  return { ...p, model: { ...p.model }, settings: { ...p.settings }, sample: { ...p.sample } };
}
