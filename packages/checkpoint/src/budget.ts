/**
 * One allocation budget per load. Every tensor's output buffer is charged here *before* it is
 * allocated, so a tiny file cannot make the reader allocate gigabytes (stride-0 views, a thousand
 * tensors viewing one storage, zip entries overlapping one another). The budget grows with the bytes
 * of the files actually opened (`FILE_EXPANSION` × their size: float16 → float32 doubles, and a few
 * tensors may legitimately share a storage) and never exceeds `ceiling` (e.g. the machine's memory).
 * Pure and browser-safe.
 */
import { CheckpointError } from './errors.js';

/** Output bytes allowed per byte of checkpoint file: f16 → f32 is 2×, tied weights 2× again. */
export const FILE_EXPANSION = 8;
/** Small files (empty tensors, headers) get this much regardless of their size. */
export const BUDGET_SLACK_BYTES = 1 << 20;

export class AllocationBudget {
  private allowed = BUDGET_SLACK_BYTES;
  private used = 0;
  private fileBytes = 0;

  constructor(
    /** Names the load in errors (a directory or file). */
    readonly label: string,
    /** Hard cap whatever the files' sizes (default: none beyond the files). */
    readonly ceiling = Number.POSITIVE_INFINITY,
  ) {}

  /** A file of `bytes` bytes was opened: its tensors may take up to FILE_EXPANSION × that. */
  addFile(bytes: number): void {
    this.fileBytes += bytes;
    this.allowed += FILE_EXPANSION * bytes;
  }

  get limit(): number {
    return Math.min(this.allowed, this.ceiling);
  }

  get usedBytes(): number {
    return this.used;
  }

  /** Charges `bytes` for `what` (e.g. "tensor 'x' (4×4 float32)") or throws before anything is allocated. */
  take(bytes: number, what: string, file?: string, tensorName?: string): void {
    if (!Number.isSafeInteger(bytes) || bytes < 0 || this.used + bytes > this.limit) {
      const why =
        this.limit === this.ceiling
          ? `the limit of ${this.ceiling} bytes`
          : `${FILE_EXPANSION}× the ${this.fileBytes} bytes of its files (+${BUDGET_SLACK_BYTES})`;
      throw new CheckpointError(
        `${this.label}: ${what} would allocate ${bytes} bytes, bringing this load to ${this.used + bytes}; expected at most ${this.limit} (${why})`,
        { file: file ?? this.label, tensorName },
      );
    }
    this.used += bytes;
  }
}
