/**
 * Turning any failure into the contract's single stderr line (`<prefix>: <message>`, e.g.
 * `dcformer logits: …` or `dcformer-train: …`) and an exit code. Scripts grep that line, so
 * multi-line messages are folded and stacks appear only with DCF_DEBUG=1.
 */
import { DcformerError } from '@dcformer/kernels';
import { UsageError } from './args.js';

export interface Io {
  stdout: { write(text: string): unknown; isTTY?: boolean };
  stderr: { write(text: string): unknown; isTTY?: boolean };
}

/** A failure whose message is already written for the user (unreadable file, bad ids): exit 1. */
export class CliError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CliError';
  }
}

export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;
/** Stopped by Ctrl-C after saving what there was to save (128 + SIGINT, as shells report it). */
export const EXIT_INTERRUPTED = 130;

export function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, ' ').trim();
}

export function debugEnabled(): boolean {
  const v = process.env.DCF_DEBUG;
  return v !== undefined && v !== '' && v !== '0';
}

export interface ReportOptions {
  /**
   * Names (`error.name`) of further error classes whose message is written for the user, from
   * packages this one does not import (e.g. 'TrainingError', 'TokenizerError'): exit 1, no
   * "internal error" prefix.
   */
  userFacing?: readonly string[];
}

/** Writes the error line (plus the stack under DCF_DEBUG) and returns the exit code. */
export function reportError(prefix: string, error: unknown, io: Io, options: ReportOptions = {}): number {
  let code = EXIT_FAILURE;
  let message: string;
  if (error instanceof UsageError) {
    code = EXIT_USAGE;
    message = error.message;
  } else if (error instanceof CliError) {
    message = error.message;
  } else if (DcformerError.isInstance(error)) {
    // NotImplementedError is "this build cannot do that yet", the same class of answer as usage.
    code = error.code === 'not-implemented' ? EXIT_USAGE : EXIT_FAILURE;
    message = error.message;
  } else if (
    error instanceof Error &&
    (options.userFacing?.includes(error.name) || typeof (error as NodeJS.ErrnoException).code === 'string')
  ) {
    // A named user-facing class, or an fs error we did not anticipate: Node's message already
    // names the syscall and the path.
    message = error.message;
  } else {
    const text = error instanceof Error ? error.message : String(error);
    message = `internal error: ${text}${debugEnabled() ? '' : ' (DCF_DEBUG=1 shows the stack)'}`;
  }
  io.stderr.write(`${prefix}: ${oneLine(message)}\n`);
  if (debugEnabled() && error instanceof Error && error.stack !== undefined) {
    // Only on request: the one-line contract is for scripts, the stack for whoever debugs.
    io.stderr.write(`${error.stack}\n`);
  }
  return code;
}
