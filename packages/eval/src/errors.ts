/**
 * Errors of @dcformer/eval. This package depends on no other @dcformer package, yet the CLI must
 * report its errors like every other @dcformer error (one line, exit 1): so they carry the same
 * process-wide `Symbol.for('@dcformer/error')` marker and a `code` that `DcformerError.isInstance`
 * in @dcformer/kernels recognises, without importing it.
 */

const MARKER = Symbol.for('@dcformer/error');

export class EvalError extends Error {
  readonly [MARKER] = true;
  /** 'input': bad data or arguments, never a bug (the CLI exits 1 with the message). */
  readonly code = 'input' as const;

  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }

  static isInstance(value: unknown): value is EvalError {
    return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[MARKER] === true;
  }
}

/** A data file row that cannot be used: names the file and the 1-based line. */
export class DataError extends EvalError {
  readonly source: string;
  readonly line: number | undefined;

  constructor(source: string, line: number | undefined, message: string) {
    super(`${source}${line === undefined ? '' : `:${line}`}: ${message}`);
    this.source = source;
    this.line = line;
  }
}
