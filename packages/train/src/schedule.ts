/**
 * Learning-rate schedule of the reference trainer (MaxText's `learning_rate_schedule_steps`,
 * `warmup_steps_fraction`, `cosine_learning_rate_final_fraction`): linear warmup to the peak, then
 * cosine decay to `finalFraction` of the peak at the last step.
 */
import { InputError } from '@dcformer/kernels';

export interface Schedule {
  /** Peak learning rate. */
  lr: number;
  /** Steps of linear warmup (0: start at the peak). */
  warmupSteps: number;
  /** Total optimizer steps; the cosine reaches its floor here. */
  totalSteps: number;
  /** lr at the end = lr · finalFraction (the reference uses 0.1). */
  finalFraction: number;
}

export function validateSchedule(s: Schedule, who = 'schedule'): void {
  const check = (ok: boolean, key: string, allowed: string, got: unknown) => {
    if (!ok) throw new InputError(`${who}: '${key}' must be ${allowed}; got ${String(got)}`);
  };
  check(Number.isFinite(s.lr) && s.lr > 0, 'lr', 'a positive number', s.lr);
  check(Number.isInteger(s.totalSteps) && s.totalSteps >= 1, 'totalSteps', 'an integer >= 1', s.totalSteps);
  check(Number.isInteger(s.warmupSteps) && s.warmupSteps >= 0, 'warmupSteps', 'an integer >= 0', s.warmupSteps);
  check(s.finalFraction >= 0 && s.finalFraction <= 1, 'finalFraction', 'in [0, 1]', s.finalFraction);
}

/**
 * Learning rate of optimizer step `step` (0-based). Warmup is (step+1)/warmup · lr so that the very
 * first update is not a no-op; after the warmup the cosine runs from the peak (step = warmup) to the
 * floor (step = totalSteps − 1) and stays there if training continues past totalSteps.
 */
export function learningRate(s: Schedule, step: number): number {
  if (step < s.warmupSteps) return (s.lr * (step + 1)) / s.warmupSteps;
  const floor = s.lr * s.finalFraction;
  const span = s.totalSteps - 1 - s.warmupSteps;
  if (span <= 0) return s.lr;
  const progress = Math.min(1, (step - s.warmupSteps) / span);
  return floor + 0.5 * (s.lr - floor) * (1 + Math.cos(Math.PI * progress));
}
