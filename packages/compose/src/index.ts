export {
  dynamicWeights,
  geluExact,
  SLOTS,
  RMS_NORM_NO_SCALE_EPS,
  type DynamicWeightParams,
  type DynamicWeights,
} from './dynamic-weights.js';
export {
  dcmhaAttention,
  chunkRanges,
  DEFAULT_SAVE_BUDGET_BYTES,
  type AttentionOptions,
  type AttentionWeights,
} from './attention.js';
export type { ComposeSideWeights, DynamicSide } from '@dcformer/kernels';
