/**
 * Error classes shared by every @dcformer package. Each carries a `Symbol.for` marker so that
 * `isInstance` works across duplicate package copies (two copies of a class are never `instanceof`
 * each other).
 *
 * Messages say who complained, about which argument, what was expected and what was received,
 * e.g. `dcmhaCompose: 'qw1' must be [B,T,I,N] = [2,8,2,4]; got [2,8,4,2]`.
 */

const MARKER = Symbol.for('@dcformer/error');

export type DcformerErrorCode = 'shape' | 'config' | 'checkpoint' | 'input' | 'not-implemented' | 'kernel';

export class DcformerError extends Error {
  readonly [MARKER] = true;
  readonly code: DcformerErrorCode;

  constructor(code: DcformerErrorCode, message: string) {
    super(message);
    this.code = code;
    this.name = new.target.name;
  }

  static isInstance(value: unknown): value is DcformerError {
    return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[MARKER] === true;
  }
}

/** A tensor argument has the wrong rank, size or dtype. */
export class ShapeError extends DcformerError {
  constructor(message: string) {
    super('shape', message);
  }
}

/** A model config is missing a key, has a key of the wrong type, or holds inconsistent values. */
export class ConfigError extends DcformerError {
  readonly key: string | undefined;
  constructor(message: string, key?: string) {
    super('config', message);
    this.key = key;
  }
}

/** A checkpoint file is corrupt, truncated, or does not match the model (missing/unexpected/mis-shaped tensors). */
export class CheckpointError extends DcformerError {
  readonly tensorName: string | undefined;
  readonly file: string | undefined;
  constructor(message: string, options: { tensorName?: string; file?: string } = {}) {
    super('checkpoint', message);
    this.tensorName = options.tensorName;
    this.file = options.file;
  }

  /** Also true for @dcformer/checkpoint's CheckpointError (tfjs-free, so it cannot extend this class; same marker and code). */
  static [Symbol.hasInstance](value: unknown): boolean {
    return DcformerError.isInstance(value) && value.code === 'checkpoint';
  }
}

/** User data (token ids, sequence length, JSON input files) is out of range or malformed. */
export class InputError extends DcformerError {
  constructor(message: string) {
    super('input', message);
  }
}

/** A feature that is declared but not built yet. */
export class NotImplementedError extends DcformerError {
  constructor(what: string) {
    super('not-implemented', `${what} is not implemented yet`);
  }
}

/** A kernel is missing or registered twice from different package copies. */
export class KernelError extends DcformerError {
  constructor(message: string) {
    super('kernel', message);
  }
}

/** `[2,4,8,8]` — the way every message in this project prints a shape. */
export function formatShape(shape: readonly number[]): string {
  return `[${shape.join(',')}]`;
}

/** `[B,N,T,S] = [2,4,8,8]` — letters and numbers together. */
export function formatLettered(letters: string, shape: readonly number[]): string {
  return `[${letters.split('').join(',')}] = ${formatShape(shape)}`;
}
