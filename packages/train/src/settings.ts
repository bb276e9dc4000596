/**
 * Hyper-parameters of a training run: what a preset fixes, what the CLI can override, and what a
 * checkpoint stores so that `--resume` continues the same run.
 */
import { InputError } from '@dcformer/kernels';
import { ADAMW_DEFAULTS, decaysMatrices } from './adamw.js';
import type { Schedule } from './schedule.js';

export type DecayPolicy = 'matrices' | 'all' | 'none';

export interface RunSettings {
  seed: number;
  /** Sequences per micro-batch. */
  batchSize: number;
  /** Token ids per sequence (≤ block_size); the loss covers seqLen − 1 predictions per sequence. */
  seqLen: number;
  /** Micro-batches per optimizer step (gradient accumulation). */
  accumulate: number;
  /** Optimizer steps in the run (the schedule's length). */
  steps: number;
  lr: number;
  warmupSteps: number;
  /** lr at the last step, as a fraction of the peak. */
  finalLrFraction: number;
  /** Global gradient-norm threshold; 0 = off. */
  clip: number;
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
  decay: DecayPolicy;
  /** Validation every n steps (and at the end); 0 = only at the end. */
  evalEvery: number;
  /** Validation batches (of batchSize × seqLen) per evaluation. */
  evalBatches: number;
  /** A log line every n steps. */
  logEvery: number;
  /** A checkpoint every n steps (and at the end); 0 = only at the end. */
  checkpointEvery: number;
  /** Checkpoints kept on disk. */
  keep: number;
  /** Non-finite steps in a row before the run stops. */
  maxSkips: number;
  /** Fraction of the token stream held out for validation (its tail). */
  valFraction: number;
}

export const DEFAULT_SETTINGS: RunSettings = {
  seed: 0,
  batchSize: 8,
  seqLen: 128,
  accumulate: 1,
  steps: 1000,
  lr: 1e-3,
  warmupSteps: 100,
  finalLrFraction: 0.1,
  clip: 1.0,
  ...ADAMW_DEFAULTS,
  decay: 'matrices',
  evalEvery: 100,
  evalBatches: 4,
  logEvery: 10,
  checkpointEvery: 500,
  keep: 3,
  maxSkips: 5,
  valFraction: 0.1,
};

type Rule =
  | 'posInt'
  | 'nonNegInt'
  | 'int'
  | 'posNumber'
  | 'nonNegNumber'
  | 'fraction'
  | 'openFraction'
  | 'beta'
  | 'decay';

const RULES: Record<keyof RunSettings, Rule> = {
  seed: 'int',
  batchSize: 'posInt',
  seqLen: 'posInt',
  accumulate: 'posInt',
  steps: 'posInt',
  lr: 'posNumber',
  warmupSteps: 'nonNegInt',
  finalLrFraction: 'fraction',
  clip: 'nonNegNumber',
  beta1: 'beta',
  beta2: 'beta',
  eps: 'posNumber',
  weightDecay: 'nonNegNumber',
  decay: 'decay',
  evalEvery: 'nonNegInt',
  evalBatches: 'posInt',
  logEvery: 'posInt',
  checkpointEvery: 'nonNegInt',
  keep: 'posInt',
  maxSkips: 'posInt',
  valFraction: 'openFraction',
};

const ALLOWED: Record<Rule, string> = {
  posInt: 'an integer >= 1',
  nonNegInt: 'an integer >= 0',
  int: 'an integer',
  posNumber: 'a number > 0',
  nonNegNumber: 'a number >= 0',
  fraction: 'a number in [0, 1]',
  openFraction: 'a number in (0, 1)',
  beta: 'a number in [0, 1)',
  decay: '"matrices", "all" or "none"',
};

function ok(rule: Rule, v: unknown): boolean {
  if (rule === 'decay') return v === 'matrices' || v === 'all' || v === 'none';
  if (typeof v !== 'number' || !Number.isFinite(v)) return false;
  switch (rule) {
    case 'posInt':
      return Number.isInteger(v) && v >= 1;
    case 'nonNegInt':
      return Number.isInteger(v) && v >= 0;
    case 'int':
      return Number.isInteger(v);
    case 'posNumber':
      return v > 0;
    case 'nonNegNumber':
      return v >= 0;
    case 'fraction':
      return v >= 0 && v <= 1;
    case 'openFraction':
      return v > 0 && v < 1;
    case 'beta':
      return v >= 0 && v < 1;
  }
}

/** Fills defaults and validates; `name` turns a field into the flag the user typed. */
export function resolveSettings(partial: Partial<RunSettings>, name: (key: string) => string = (k) => k): RunSettings {
  const s = {
    ...DEFAULT_SETTINGS,
    ...Object.fromEntries(Object.entries(partial).filter(([, v]) => v !== undefined)),
  } as RunSettings;
  for (const key of Object.keys(RULES) as (keyof RunSettings)[]) {
    if (!ok(RULES[key], s[key]))
      throw new InputError(`${name(key)} must be ${ALLOWED[RULES[key]]}; got ${JSON.stringify(s[key])}`);
  }
  if (s.seqLen < 2)
    throw new InputError(`${name('seqLen')} must be at least 2 (one prediction needs two tokens); got ${s.seqLen}`);
  return s;
}

export function scheduleOf(s: RunSettings): Schedule {
  return { lr: s.lr, warmupSteps: s.warmupSteps, totalSteps: s.steps, finalFraction: s.finalLrFraction };
}

export function decayFilter(policy: DecayPolicy): (name: string, shape: readonly number[]) => boolean {
  return policy === 'all' ? () => true : policy === 'none' ? () => false : decaysMatrices;
}

/** Tokens consumed by one optimizer step. */
export function tokensPerStep(s: RunSettings): number {
  return s.batchSize * s.seqLen * s.accumulate;
}
