export {
  dynamicWeights,
  geluExact,
  selectSides,
  SLOTS,
  RMS_NORM_NO_SCALE_EPS,
  type DynamicWeightParams,
  type DynamicWeights,
} from './dynamic-weights.js';
export { dcmhaAttention, chunkRanges, type AttentionOptions, type AttentionWeights } from './attention.js';
