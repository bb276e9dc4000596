export * from './config.js';
export { PRESETS, presetConfig } from './presets.js';
export { DcformerModel } from './model.js';
export {
  paramTree,
  type ModelParams,
  type LayerParams,
  type AttentionParams,
  type FeedForwardParams,
  type NormParams,
} from './params.js';
export { idsTensor, validateIds } from './ids.js';
export { ffnWidths, muddCounterpart, muddSizes } from './mudd-config.js';
export { muddLayers, muddMix, type MuddParams, type Streams } from './mudd.js';
export { initModel, seededNormal, seededUniform } from './init.js';
export {
  modelFromWeights,
  modelWeights,
  modelWeightsAsync,
  type NamedArray,
  type FromWeightsOptions,
} from './checkpoint.js';
export {
  weightSpecs,
  extraSpecs,
  dynamicSizes,
  mergeDw,
  splitDw,
  type WeightSpec,
  type ExtraSpec,
  type Init,
} from './weights.js';
export { applyRope, layerNorm, linear, nextTokenLoss, rmsNorm, ropeTable } from './layers.js';
export {
  parseSafetensors,
  parseSafetensorsHeader,
  safetensorsPrefixLength,
  serializeSafetensors,
  numberToF16Bits,
  numberToBf16Bits,
  toFloat32,
  type ParsedSafetensors,
  type RawTensor,
  type SafetensorsHeader,
  type SafetensorsDtype,
  type SerializeOptions,
  type WriteDtype,
  type TensorToWrite,
} from '@dcformer/checkpoint';
export { KVCache, type LayerCache } from './cache.js';
export { readAsync, readSync, type HostData, type Reads } from './reads.js';
export {
  prefill,
  prefillAsync,
  decodeOne,
  decodeOneAsync,
  generate,
  generateAsync,
  cachedLogits,
  type Prefilled,
  type GenerateOptions,
  type GenerateResult,
} from './generate.js';
export {
  argmax,
  filteredProbs,
  tokenChooser,
  applyRepetitionPenalty,
  isSampling,
  validateSampling,
  type SamplingOptions,
} from './sampling.js';
export { modelScorer, type ModelScorer, type ModelScorerOptions } from './scorer.js';
export {
  compactModel,
  compactSpecs,
  compactWeightsOf,
  dequantisedOfficial,
  fusedPairCopies,
  installCompact,
  intoPair,
  pairStorage,
  transposeRows,
  packSpec,
  weightBytes,
  weightBytesOf,
  embed,
  parseQuantization,
  prefixOf,
  INT4_LAYOUT,
  INT8_LAYOUT,
  type QuantizationBlock,
  type CompactOptions,
  type LinearWeight,
  type CompactSpec,
} from './compact.js';
