/**
 * The checkpoint readers' one error class. This package imports no tfjs and no other @dcformer
 * package, so it cannot extend @dcformer/kernels' DcformerError; instead it carries the same
 * process-wide `Symbol.for('@dcformer/error')` marker and `code: 'checkpoint'`. Both declarations
 * recognise each other: `e instanceof CheckpointError` holds for either package's CheckpointError
 * (and vitest's `toThrow(CheckpointError)` with either import), and `DcformerError.isInstance(e)`
 * (what the CLIs use to print one line and exit 1) sees it, as it sees TokenizerError and EvalError.
 */

const MARKER = Symbol.for('@dcformer/error');

export interface CheckpointErrorOptions {
  /** The tensor the complaint is about, when there is one. */
  tensorName?: string;
  /** The file the complaint is about, when known. */
  file?: string;
}

/** A checkpoint file is corrupt, truncated, hostile, or does not hold what the caller expects. */
export class CheckpointError extends Error {
  readonly [MARKER] = true;
  readonly code = 'checkpoint' as const;
  readonly tensorName: string | undefined;
  readonly file: string | undefined;

  constructor(message: string, options: CheckpointErrorOptions = {}) {
    super(message);
    this.name = 'CheckpointError';
    this.tensorName = options.tensorName;
    this.file = options.file;
  }

  /** Any @dcformer checkpoint error, from this package or @dcformer/kernels, of any copy. */
  static isInstance(value: unknown): value is CheckpointError {
    return (
      typeof value === 'object' &&
      value !== null &&
      (value as Record<symbol, unknown>)[MARKER] === true &&
      (value as { code?: unknown }).code === 'checkpoint'
    );
  }

  static [Symbol.hasInstance](value: unknown): boolean {
    return CheckpointError.isInstance(value);
  }
}

/** `[2,4,8,8]` — the way every message of this project prints a shape (as @dcformer/kernels' formatShape). */
export function formatShape(shape: readonly number[]): string {
  return `[${shape.join(',')}]`;
}
