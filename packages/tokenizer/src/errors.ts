/**
 * The tokenizer's one error class. It carries the same `Symbol.for('@dcformer/error')` marker as
 * @dcformer/kernels' DcformerError, so `DcformerError.isInstance(e)` (used by the CLIs to print a
 * one-line message) recognises it without this package depending on kernels (which pulls in tfjs).
 */

const MARKER = Symbol.for('@dcformer/error');
const TOKENIZER_MARKER = Symbol.for('@dcformer/tokenizer-error');

export interface TokenizerErrorDetails {
  /** The JSON path or field, e.g. `model.merges[17]`, `normalizer.type`. */
  field?: string;
  /** A byte offset (protobuf) or 1-based line number (vocab.bpe), when that is what locates the problem. */
  offset?: number;
  line?: number;
  /** The file the tokenizer came from, when known. */
  file?: string;
}

export class TokenizerError extends Error {
  readonly [MARKER] = true;
  readonly [TOKENIZER_MARKER] = true;
  /** Matches DcformerError's `code` so CLIs can branch on it uniformly. */
  readonly code = 'tokenizer';
  readonly field: string | undefined;
  readonly offset: number | undefined;
  readonly line: number | undefined;
  readonly file: string | undefined;

  constructor(message: string, details: TokenizerErrorDetails = {}) {
    super(message);
    this.name = 'TokenizerError';
    this.field = details.field;
    this.offset = details.offset;
    this.line = details.line;
    this.file = details.file;
  }

  /** `instanceof` that also works across duplicate copies of this package. */
  static isInstance(value: unknown): value is TokenizerError {
    return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[TOKENIZER_MARKER] === true;
  }
}
