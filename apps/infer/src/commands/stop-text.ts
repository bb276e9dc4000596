/**
 * Stop strings over streamed text (`dcformer generate --stop STR`). Text is pushed piece by piece as
 * tokens are decoded; what `push` returns is final: the part that can no longer turn into a stop
 * string is released, a tail that could still be the start of one waits. The stop string itself and
 * everything after it are never released (as the OpenAI API and llama.cpp do).
 */
export class StopText {
  private text = '';
  private released = 0;
  /** True once a stop string has appeared; `text` then ends before it. */
  stopped = false;

  constructor(private readonly stops: readonly string[]) {}

  /** Adds decoded text; returns the newly certain text. */
  push(piece: string): string {
    if (this.stopped) return '';
    this.text += piece;
    let cut = -1;
    for (const s of this.stops) {
      // only the new piece and a stop's length before it can hold a new match
      const at = this.text.indexOf(s, Math.max(0, this.text.length - piece.length - s.length + 1));
      if (at !== -1 && (cut === -1 || at < cut)) cut = at;
    }
    if (cut !== -1) {
      this.stopped = true;
      this.text = this.text.slice(0, cut);
      return this.release(this.text.length);
    }
    return this.release(this.text.length - this.pendingPrefix());
  }

  /** Everything not yet released (the end of generation: a partial stop string is plain text). */
  flush(): string {
    return this.release(this.text.length);
  }

  /** The whole text so far (after a stop: the text before the stop string). */
  get value(): string {
    return this.text;
  }

  /** Length of the longest tail of the text that is a proper prefix of some stop string. */
  private pendingPrefix(): number {
    let longest = 0;
    for (const s of this.stops) {
      for (let n = Math.min(s.length - 1, this.text.length); n > longest; n--) {
        if (this.text.endsWith(s.slice(0, n))) {
          longest = n;
          break;
        }
      }
    }
    return longest;
  }

  private release(upTo: number): string {
    const end = Math.max(upTo, this.released);
    const out = this.text.slice(this.released, end);
    this.released = end;
    return out;
  }
}
