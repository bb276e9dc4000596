/**
 * One optimizer step at a time: gradients of the mean next-token loss (accumulated over
 * micro-batches), the global gradient norm, torch-style clipping, AdamW, and the rule for
 * non-finite steps. The data and the files are the caller's (see run.ts); this class only touches
 * tensors, so it runs on any backend and in the browser.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Scalar, Tensor } from '@tensorflow/tfjs-core';
import { readAsync, readSync, type DcformerModel, type Reads } from '@dcformer/model';
import { AdamW, type AdamWOptions, type AdamWState } from './adamw.js';
import { learningRate, validateSchedule, type Schedule } from './schedule.js';

/** Training cannot go on (k non-finite steps in a row): a user-facing, one-line message. */
export class TrainingError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TrainingError';
  }
}

export interface TrainerOptions {
  schedule: Schedule;
  /** Global gradient-norm clipping threshold (the reference's 1.0); 0 turns clipping off. */
  clip?: number;
  adamw?: AdamWOptions;
  /** After this many non-finite steps in a row the step throws TrainingError. */
  maxConsecutiveSkips?: number;
}

export interface StepResult {
  /** Index of the step just taken (0-based); `trainer.step` is now step + 1. */
  step: number;
  /** Mean loss over the micro-batches (NaN/Infinity when the step was skipped for it). */
  loss: number;
  /** Global L2 norm of the averaged gradients before clipping. */
  gradNorm: number;
  lr: number;
  /** The loss or a gradient was not finite: no update was made. */
  skipped: boolean;
}

/** A step between its gradients and the read-back of [loss, grad norm]; dispose frees all three. */
interface PendingStep {
  grads: Map<string, Tensor>;
  stats: Tensor;
  dispose(): void;
}

export interface TrainerState {
  step: number;
  skippedSteps: number;
  consecutiveSkips: number;
  optimizer: AdamWState;
}

export class Trainer {
  readonly model: DcformerModel;
  readonly optimizer: AdamW;
  readonly schedule: Schedule;
  readonly clip: number;
  readonly maxConsecutiveSkips: number;
  /** Steps taken so far, skipped ones included (the schedule and the data advance on every step). */
  step = 0;
  skippedSteps = 0;
  consecutiveSkips = 0;

  constructor(model: DcformerModel, options: TrainerOptions) {
    validateSchedule(options.schedule, 'Trainer');
    this.model = model;
    this.schedule = { ...options.schedule };
    this.clip = options.clip ?? 1.0;
    this.maxConsecutiveSkips = options.maxConsecutiveSkips ?? 5;
    this.optimizer = new AdamW(model.variables, options.adamw);
  }

  /** The learning rate the next step will use. */
  get lr(): number {
    return learningRate(this.schedule, this.step);
  }

  /**
   * Mean loss and mean gradients (keyed by official name) over micro-batches of equal shape; the
   * caller disposes the returned tensors. With one micro-batch this is exactly model.gradients.
   */
  gradients(micro: readonly Tensor[]): { loss: Scalar; grads: Map<string, Tensor> } {
    if (micro.length === 0) throw new RangeError('Trainer.gradients: no micro-batches');
    let sums: Map<string, Tensor> | null = null;
    let lossSum: Tensor | null = null;
    for (const ids of micro) {
      const { value, grads } = this.model.gradients(ids, 'Trainer.gradients');
      // Running sums with the old partials freed at once: peak memory is two copies of the grads.
      sums = sums === null ? grads : addEach(sums, grads);
      lossSum = lossSum === null ? value : addFreeing(lossSum, value);
    }
    const n = micro.length;
    const total = lossSum as Tensor;
    const summed = sums as Map<string, Tensor>;
    if (n === 1) return { loss: total as Scalar, grads: summed };
    const grads = new Map<string, Tensor>();
    for (const [name, s] of summed) {
      grads.set(
        name,
        tf.tidy(() => tf.div(s, n)),
      );
      s.dispose();
    }
    const loss = tf.tidy(() => tf.div(total, n)) as Scalar;
    total.dispose();
    return { loss, grads };
  }

  /**
   * One training step on `micro` (gradient accumulation over its entries). Reads two numbers back
   * from the device (loss and gradient norm): the skip rule and clipping need them before the
   * update. Synchronous, so for the cpu/wasm backends only: GPU backends cannot read synchronously
   * (tfjs-backend-webgpu throws in Node, and returns zeros in headless Chromium); use trainStepAsync.
   */
  trainStep(micro: readonly Tensor[]): StepResult {
    return readSync(this.stepReads(micro));
  }

  /**
   * trainStep with the loss and gradient norm read by `await data()`: the form that runs on every
   * backend (webgpu in Node and the browser included), with the same numbers and rules.
   */
  trainStepAsync(micro: readonly Tensor[]): Promise<StepResult> {
    return readAsync(this.stepReads(micro));
  }

  /** The step written once; readSync / readAsync choose how [loss, grad norm] is read. */
  private *stepReads(micro: readonly Tensor[]): Reads<StepResult> {
    const pending = this.beginStep(micro);
    try {
      const [lossValue, gradNorm] = yield pending.stats;
      return this.finishStep(pending, lossValue, gradNorm);
    } finally {
      pending.dispose();
    }
  }

  /** Gradients of `micro` and the [loss, global grad norm] pair still on the device. */
  private beginStep(micro: readonly Tensor[]): PendingStep {
    const { loss, grads } = this.gradients(micro);
    const stats = tf.tidy(() => {
      const squares = [...grads.values()].map((g) => tf.sum(tf.square(g)));
      return tf.stack([loss, tf.sqrt(tf.addN(squares))]);
    });
    return {
      grads,
      stats,
      dispose: () => {
        stats.dispose();
        loss.dispose();
        for (const g of grads.values()) g.dispose();
      },
    };
  }

  /** The skip rule, clipping and the update, once the loss and gradient norm are on the host. */
  private finishStep(pending: PendingStep, lossValue: number, gradNorm: number): StepResult {
    const step = this.step;
    const lr = learningRate(this.schedule, step);
    const skipped = !Number.isFinite(lossValue) || !Number.isFinite(gradNorm);
    this.step += 1;
    if (skipped) {
      this.skippedSteps += 1;
      this.consecutiveSkips += 1;
      if (this.consecutiveSkips >= this.maxConsecutiveSkips) {
        throw new TrainingError(
          `${this.consecutiveSkips} steps in a row had a non-finite loss or gradient (last: step ${step + 1}, loss ${lossValue}, ` +
            `grad norm ${gradNorm}); stopping. Lower --lr, or check the data`,
        );
      }
      return { step, loss: lossValue, gradNorm, lr, skipped };
    }
    this.consecutiveSkips = 0;
    this.optimizer.apply(pending.grads, lr, clipCoefficient(gradNorm, this.clip));
    return { step, loss: lossValue, gradNorm, lr, skipped };
  }

  /** Mean loss over evaluation batches of equal shape (forward only). Synchronous: cpu/wasm only (see trainStep). */
  evaluate(batches: readonly Tensor[]): number {
    return readSync(this.evaluateReads(batches));
  }

  /** evaluate reading each loss by `await data()` (every backend); the same sum in the same order. */
  evaluateAsync(batches: readonly Tensor[]): Promise<number> {
    return readAsync(this.evaluateReads(batches));
  }

  private *evaluateReads(batches: readonly Tensor[]): Reads<number> {
    let total = 0;
    for (const ids of batches) {
      const loss = this.model.loss(ids);
      try {
        total += (yield loss)[0];
      } finally {
        loss.dispose();
      }
    }
    return total / batches.length;
  }

  async exportState(): Promise<TrainerState> {
    return {
      step: this.step,
      skippedSteps: this.skippedSteps,
      consecutiveSkips: this.consecutiveSkips,
      optimizer: await this.optimizer.exportState(),
    };
  }

  importState(state: TrainerState): void {
    this.optimizer.importState(state.optimizer);
    this.step = state.step;
    this.skippedSteps = state.skippedSteps;
    this.consecutiveSkips = state.consecutiveSkips;
  }

  dispose(): void {
    this.optimizer.dispose();
  }
}

/** sums + grads name by name, freeing both as it goes (never more than one extra copy alive). */
function addEach(sums: Map<string, Tensor>, grads: Map<string, Tensor>): Map<string, Tensor> {
  const out = new Map<string, Tensor>();
  for (const [name, s] of sums) out.set(name, addFreeing(s, grads.get(name) as Tensor));
  return out;
}

/** a + b, freeing a and b. */
function addFreeing(a: Tensor, b: Tensor): Tensor {
  const sum = tf.tidy(() => tf.add(a, b));
  a.dispose();
  b.dispose();
  return sum;
}

/**
 * torch.nn.utils.clip_grad_norm_: coef = max_norm / (total_norm + 1e-6), clamped to 1, computed in
 * float32 as torch does on float32 gradients. 0 or Infinity disables clipping.
 */
export function clipCoefficient(totalNorm: number, maxNorm: number): number {
  if (!(maxNorm > 0) || maxNorm === Infinity) return 1;
  const coef = Math.fround(Math.fround(maxNorm) / Math.fround(Math.fround(totalNorm) + Math.fround(1e-6)));
  return Math.min(coef, 1);
}
