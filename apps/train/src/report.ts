/**
 * Failures as the contract's single stderr line (`dcformer-train: <message>`) and an exit code;
 * stacks only with DCF_DEBUG=1.
 */
import { DcformerError } from '@dcformer/kernels';
import { UsageError } from './args.js';

export interface Io {
  stdout: { write(text: string): unknown; isTTY?: boolean };
  stderr: { write(text: string): unknown; isTTY?: boolean };
}

export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;
/** Stopped by Ctrl-C after writing a checkpoint (128 + SIGINT, as shells report it). */
export const EXIT_INTERRUPTED = 130;

export function debugEnabled(): boolean {
  const v = process.env.DCF_DEBUG;
  return v !== undefined && v !== '' && v !== '0';
}

export function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, ' ').trim();
}

/** Errors whose message is written for the user, by class name (they come from several packages). */
const USER_FACING = new Set(['TrainingError', 'TokenizerError']);

export function reportError(prefix: string, error: unknown, io: Io): number {
  let code = EXIT_FAILURE;
  let message: string;
  if (error instanceof UsageError) {
    code = EXIT_USAGE;
    message = error.message;
  } else if (DcformerError.isInstance(error)) {
    code = error.code === 'not-implemented' ? EXIT_USAGE : EXIT_FAILURE;
    message = error.message;
  } else if (error instanceof Error && (USER_FACING.has(error.name) || typeof (error as NodeJS.ErrnoException).code === 'string')) {
    message = error.message;
  } else {
    const text = error instanceof Error ? error.message : String(error);
    message = `internal error: ${text}${debugEnabled() ? '' : ' (DCF_DEBUG=1 shows the stack)'}`;
  }
  io.stderr.write(`${prefix}: ${oneLine(message)}\n`);
  if (debugEnabled() && error instanceof Error && error.stack !== undefined) io.stderr.write(`${error.stack}\n`);
  return code;
}
