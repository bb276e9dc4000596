/** Node entry: token data from files (with a cache), checkpoints on disk, whole training runs. */
export {
  jsonlDocuments,
  listDataFiles,
  loadTokens,
  textPieces,
  type BinDtype,
  type LoadedTokens,
  type LoadTokensOptions,
  type TextTokenizer,
} from './sources.js';
export {
  latestCheckpoint,
  listCheckpoints,
  loadCheckpoint,
  removeStaleTemporaries,
  saveCheckpoint,
  stepDirName,
  weightsFinite,
  OPTIMIZER_FILE,
  TRAINER_STATE_FILE,
  type CheckpointInfo,
  type CheckpointStage,
  type ExtraFile,
  type LoadedCheckpoint,
  type SaveCheckpointOptions,
} from './checkpoints.js';
export {
  configDifferences,
  countParameters,
  readMetrics,
  runTraining,
  CHECKPOINTS_DIR,
  METRICS_FILE,
  type LogRecord,
  type RunHooks,
  type RunOptions,
  type RunResult,
} from './run.js';
