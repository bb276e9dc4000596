export { EvalError, DataError } from './errors.js';
export {
  referenceScorer,
  validateRequests,
  type Scorer,
  type LoglikelihoodRequest,
  type LoglikelihoodResult,
  type RollingOptions,
  type RollingResult,
  type ScoreOptions,
  type NextTokenLogits,
} from './scorer.js';
export { requestInput, rollingWindows, checkRollingOptions, type RollingWindow } from './windows.js';
export { encodePair, dedupeRequests, type TextEncoderLike, type TextRequest } from './encode.js';
export {
  mean,
  stderrOfMean,
  meanMetric,
  perplexityMetric,
  ratioOfSums,
  corpusPerplexity,
  bitsPerByte,
  argmax,
  type Metric,
} from './metrics.js';
export { parseJsonl, Fields, type JsonRow } from './jsonl.js';
export { TASKS, TASK_NAMES, REQUEST_MODES, getTask, isRequestMode, type RequestMode } from './registry.js';
export { runTask, type RunOptions } from './evaluate.js';
export { markdownTable, resultJson, type ResultJson } from './report.js';
export {
  evaluateChoices,
  promptWithChoices,
  choicePicks,
  scoreText,
  unscorableSummary,
  TARGET_DELIMITER,
  type ChoiceDoc,
  type ScoredText,
} from './tasks/multiple-choice.js';
export { arcEasy, arcChallenge, boolq, winogrande } from './tasks/foundry.js';
export { piqa } from './tasks/piqa.js';
export { hellaswag, hellaswagPreprocess } from './tasks/hellaswag.js';
export { lambadaOpenai, splitLastWord, type LambadaDoc } from './tasks/lambada.js';
export { dcformerSynthetic, syntheticQueries, type SyntheticDoc } from './tasks/synthetic.js';
export { perplexity, wordCount, utf8Length, type TextDoc } from './tasks/perplexity.js';
export { parseLoglikelihoodRequests, parseRollingRequests, loglikelihoodLine, rollingLine } from './tasks/requests.js';
export type { TaskContext, TaskDefinition, TaskResult, TaskMetrics, Dataset, ParseExtras } from './tasks/types.js';
