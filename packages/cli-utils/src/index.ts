/**
 * Plumbing shared by the dcformer command lines (apps/infer's `dcformer`, apps/train's
 * `dcformer-train`, apps/bench's `dcformer-bench`): flag parsing, the backend switch, the one-line
 * error report, `--version`, the single-threaded-GC restart. Private to this repository; libraries
 * never import it.
 */
export {
  closestName,
  parseArgs,
  required,
  UsageError,
  type FlagSpecs,
  type FlagType,
  type ParsedFlags,
} from './args.js';
export {
  AVAILABLE,
  chooseDefaultBackend,
  KNOWN_BACKENDS,
  resolveBackend,
  startBackend,
  WASM_WEIGHT_LIMIT,
  type BackendName,
  type BackendRequest,
  type StartedBackend,
  type StartOptions,
} from './backend.js';
export { packageVersion } from './version.js';
export { relaunchWithSingleThreadedGc } from './relaunch.js';
export { exitQuietlyOnClosedStdout } from './pipes.js';
export { installStopSignals, isStopMessage, watchStop, type StopMessage, type StopReason } from './stop.js';
export { resolveModelDir, type ResolvedModelDir } from './model-dir.js';
export {
  hubCacheDir,
  HubNotFoundError,
  parseHubId,
  resolveHubModel,
  stderrProgress,
  type HubId,
  type HubOptions,
  type HubSnapshot,
} from './hub.js';
export {
  CliError,
  debugEnabled,
  EXIT_FAILURE,
  EXIT_INTERRUPTED,
  EXIT_OK,
  EXIT_USAGE,
  oneLine,
  reportError,
  type Io,
  type ReportOptions,
} from './report.js';
export { fsReason } from './fs-reason.js';
