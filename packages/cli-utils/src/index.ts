/**
 * Plumbing shared by the dcformer command lines (apps/infer's `dcformer`, apps/train's
 * `dcformer-train`): flag parsing, the backend switch, the one-line error report. Private to this
 * repository; libraries never import it.
 */
export { parseArgs, required, UsageError, type FlagSpecs, type FlagType, type ParsedFlags } from './args.js';
export { AVAILABLE, KNOWN_BACKENDS, resolveBackend, startBackend, type BackendName, type StartOptions } from './backend.js';
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
