export {
  AdamW,
  ADAMW_DEFAULTS,
  decaysMatrices,
  type AdamWOptions,
  type AdamWState,
  type ResolvedAdamW,
} from './adamw.js';
export { learningRate, validateSchedule, type Schedule } from './schedule.js';
export {
  Trainer,
  TrainingError,
  clipCoefficient,
  type StepResult,
  type TrainerOptions,
  type TrainerState,
} from './trainer.js';
export { Rng, deriveSeed } from './rng.js';
export {
  checkTokenRange,
  evalBatchCount,
  evalBatches,
  sampleBatch,
  splitTokens,
  type TokenArray,
  type TokenSplit,
} from './data.js';
export {
  DEFAULT_SETTINGS,
  decayFilter,
  resolveSettings,
  scheduleOf,
  tokensPerStep,
  type DecayPolicy,
  type RunSettings,
} from './settings.js';
export { TRAIN_PRESETS, trainPreset, type TrainPreset, type TokenizerChoice } from './presets.js';
export { lossCurveSvg, ticks, type CurveSeries } from './plot.js';
export { sampleIds, sampleIdsAsync, type SampleOptions } from './sample.js';
