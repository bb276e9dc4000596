/**
 * Named model shapes (DESIGN.md "Presets and data conventions"). `dcformer-2.8b` and `dcpythia-6.9b`
 * are the config.json of the released Hub checkpoints Caiyun-AI/DCFormer-2.8B and Caiyun-AI/DCPythia-6.9B
 * (the latter identical to pytorch/dcpythia/config.json @ df8671f), so their weights load into them.
 */
import { ConfigError } from '@dcformer/kernels';
import { resolveConfig, type ModelConfig } from './config.js';

/** Alternating local/global attention with QK-norm: the shape the small experiments use. */
const benchSmall = {
  family: 'dcformer',
  vocabSize: 50304, // GPT-NeoX's 50277 tokens padded to a multiple of 64
  dim: 256,
  nHead: 8,
  nLayer: 4,
  intermediateSize: 768,
  windowSize: 64,
  windowType: null,
  useQkNorm: true,
  blockSize: 1024,
} as const;

const DEFINITIONS: Record<string, Parameters<typeof resolveConfig>[0]> = {
  // Byte-level: 256 byte tokens + <|endoftext|>. Small enough to train on two CPU cores in minutes.
  tiny: {
    family: 'dcformer',
    vocabSize: 257,
    dim: 128,
    nHead: 4,
    nLayer: 4,
    windowSize: 32,
    windowType: null,
    blockSize: 128,
    useQkNorm: true,
    mgate: false,
  },
  // tiny as MUDDFormer, = muddCounterpart(tiny), the model `--compare mudd` trains: global attention as
  // the official code, FFN widths 256/384/640/768 around tiny's 512, tiny's norm eps
  'tiny-mudd': {
    family: 'muddformer',
    vocabSize: 257,
    dim: 128,
    nHead: 4,
    nLayer: 4,
    blockSize: 128,
    normEps: 1e-5,
    useQkNorm: true,
    expandLast: true,
    round64: true,
  },
  'bench-small': benchSmall,
  'bench-small-mha': { ...benchSmall, useDcmha: false },
  'dcformer-2.8b': {
    family: 'dcformer',
    vocabSize: 50257,
    dim: 2560,
    nHead: 32,
    nLayer: 32,
    intermediateSize: 6912,
    blockSize: 2048,
    ropeBase: 10000,
    normEps: 1e-6,
    useQkNorm: true,
    useDcmha: true,
    keyWise: true,
    windowSize: 256,
    windowType: null,
    qChunkSize: 128,
    mgate: false,
  },
  'dcpythia-6.9b': {
    family: 'dcpythia',
    vocabSize: 50257,
    dim: 4096,
    nHead: 32,
    nLayer: 32,
    intermediateSize: 16384,
    blockSize: 2048,
    ropeBase: 10000,
    normEps: 1e-5,
    useQkNorm: true,
    useDcmha: true,
    keyWise: true,
    windowSize: 256,
    windowType: null,
    qChunkSize: 128,
    rotaryPct: 0.25,
    useParallelResidual: true,
    useLinearBias: true,
  },
};

/** Frozen: shared by every caller; `presetConfig` hands out copies to modify. */
export const PRESETS: Record<string, ModelConfig> = Object.freeze(
  Object.fromEntries(Object.entries(DEFINITIONS).map(([name, d]) => [name, Object.freeze(resolveConfig(d))])),
);

/** A fresh copy of the named preset (exact name). */
export function presetConfig(name: string): ModelConfig {
  const preset = Object.hasOwn(PRESETS, name) ? PRESETS[name] : undefined;
  if (!preset) {
    const names = Object.keys(PRESETS)
      .map((n) => `"${n}"`)
      .join(', ');
    throw new ConfigError(`presetConfig: 'name' must be one of ${names}; got ${JSON.stringify(name)}`, 'name');
  }
  return { ...preset };
}
