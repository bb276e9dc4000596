/**
 * What a run shows while it trains: a live bar on a terminal (step, loss, lr, tokens/s, ETA),
 * plain lines when the output is a file or a pipe, or JSON lines with --json.
 */
import type { StepResult } from '@dcformer/train';
import type { LogRecord } from '@dcformer/train/node';
import type { Io } from '@dcformer/cli-utils';

export type ProgressMode = 'bar' | 'lines' | 'none' | 'json';

export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '?';
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
}

function rate(v: number): string {
  return v >= 1000 ? `${(v / 1000).toFixed(1)}k` : v.toFixed(0);
}

/** One plain log line, e.g. `step   50/150  loss 2.8731  lr 2.9e-3  1.2k tok/s  val 2.7012 (ppl 14.9)  41s`. */
export function formatRecord(r: LogRecord, total: number, label = ''): string {
  const width = String(total).length;
  const parts = [
    `${label}step ${String(r.step).padStart(width)}/${total}`,
    `loss ${r.train_loss.toFixed(4)}`,
    `lr ${r.lr.toExponential(1)}`,
    `${rate(r.tokens_per_s)} tok/s`,
  ];
  if (r.val_loss !== undefined)
    parts.push(`val ${r.val_loss.toFixed(4)} (ppl ${(r.val_ppl ?? Math.exp(r.val_loss)).toFixed(1)})`);
  if (r.skipped_steps > 0) parts.push(`skipped ${r.skipped_steps}`);
  parts.push(formatDuration(r.elapsed_s));
  return parts.join('  ');
}

export class Progress {
  private barShown = false;
  /** Steps of this session so far, and the first one's seconds (earlyStep). */
  private sessionSteps = 0;
  private firstStepS = 0;

  constructor(
    private readonly io: Io,
    readonly mode: ProgressMode,
    private readonly label = '',
    /** Extra fields in every JSON line (compare runs name their model). */
    private readonly jsonExtra: Record<string, unknown> = {},
  ) {}

  step(info: { step: number; total: number; result: StepResult; tokensPerS: number; etaS: number }): void {
    if (this.mode !== 'bar') return;
    const cols = 24;
    const filled = Math.round((cols * info.step) / info.total);
    const bar = `${'█'.repeat(filled)}${'░'.repeat(cols - filled)}`;
    const loss = info.result.skipped ? 'skipped' : `loss ${info.result.loss.toFixed(3)}`;
    const line = `${this.label}step ${info.step}/${info.total} ${bar} ${loss}  lr ${info.result.lr.toExponential(1)}  ${rate(info.tokensPerS)} tok/s  ETA ${formatDuration(info.etaS)}`;
    this.io.stderr.write(`\r\x1b[K${line}`);
    this.barShown = true;
  }

  log(record: LogRecord, total: number): void {
    if (this.mode === 'json') {
      this.io.stdout.write(`${JSON.stringify({ ...this.jsonExtra, ...record })}\n`);
      return;
    }
    if (this.mode === 'none') return;
    this.clearBar();
    this.io.stdout.write(`${formatRecord(record, total, this.label)}\n`);
  }

  /**
   * The first two steps of a session, each as soon as it ends: its time and the ETA it implies, on
   * stderr (so --json's stdout keeps its contract), in every mode but `none`. Without them a slow
   * backend would show nothing until the first log line, possibly minutes later. The first step also
   * pays for warm-up (kernel set-up, first allocations), so its ETA errs long; the second's is the
   * steady pace.
   */
  earlyStep(info: { step: number; total: number; tokensPerS: number; etaS: number }, tokensPerStep: number): void {
    this.sessionSteps++;
    if (this.mode === 'none' || this.sessionSteps > 2) return;
    // tokensPerS is over the session's steps so far: their training time, evaluation excluded
    const trainS = (this.sessionSteps * tokensPerStep) / info.tokensPerS;
    const seconds = trainS - this.firstStepS;
    const took = seconds < 10 ? `${seconds.toFixed(2)}s` : formatDuration(seconds);
    const remaining = (info.etaS * this.sessionSteps) / trainS;
    if (this.sessionSteps === 1) {
      this.firstStepS = seconds;
      const eta = remaining > 0 ? `; ETA ${formatDuration(info.etaS)} at this pace` : '';
      this.note(
        `dcformer-train: ${this.label}step ${info.step}/${info.total} took ${took} (${rate(tokensPerStep / seconds)} tok/s, the first step includes warm-up)${eta}`,
      );
    } else if (remaining > 0) {
      this.note(
        `dcformer-train: ${this.label}step ${info.step}/${info.total} took ${took}; ETA ${formatDuration(remaining * seconds)} at this pace`,
      );
    }
  }

  /** A human note on stderr (kept out of --json's stdout). */
  note(message: string): void {
    this.clearBar();
    this.io.stderr.write(`${message}\n`);
  }

  clearBar(): void {
    if (!this.barShown) return;
    this.io.stderr.write('\r\x1b[K');
    this.barShown = false;
  }
}

export function chooseMode(requested: string | undefined, json: boolean, io: Io): ProgressMode {
  if (json) return 'json';
  if (requested === 'bar' || requested === 'lines' || requested === 'none') return requested;
  return io.stderr.isTTY ? 'bar' : 'lines';
}
