/**
 * A whole training run on disk (Node only): init or resume, the step loop, validation, the JSONL
 * metrics log, periodic checkpoints. Everything the CLI shows comes through `hooks`; the run itself
 * prints nothing.
 *
 * Exact resume: a checkpoint holds the weights and AdamW moments bit for bit, the step, the data
 * generator's state and the skip counters, and the loop draws batches only from that generator, so
 * "6 steps" and "3 steps, checkpoint, resume, 3 steps" produce the same bits.
 *
 * Every read from the device is `await data()` (trainStepAsync, evaluateAsync, the checkpoint
 * writer), so a run works on GPU backends too, which cannot read synchronously; on cpu the numbers
 * are the same.
 */
import { appendFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Tensor } from '@tensorflow/tfjs-core';
import { ConfigError, InputError } from '@dcformer/kernels';
import { configToJson, initModel, type DcformerModel, type ModelConfig } from '@dcformer/model';
import { ensureDirectory } from '@dcformer/model/node';
import {
  latestCheckpoint,
  loadCheckpoint,
  removeStaleTemporaries,
  saveCheckpoint,
  snapshotExtraFiles,
  type CheckpointStage,
  type ExtraFile,
} from './checkpoints.js';
import { evalBatchCount, evalBatches, sampleBatch, splitTokens, type TokenArray } from './data.js';
import { deriveSeed, Rng } from './rng.js';
import { decayFilter, scheduleOf, tokensPerStep, type RunSettings } from './settings.js';
import { Trainer, type StepResult, type TrainerState } from './trainer.js';

export const METRICS_FILE = 'metrics.jsonl';
export const CHECKPOINTS_DIR = 'checkpoints';
const STATE_FORMAT = 'dcformer-train/1';

/** One line of the metrics log (and of `--json` output). */
export interface LogRecord {
  step: number;
  train_loss: number;
  lr: number;
  tokens_per_s: number;
  grad_norm: number;
  skipped_steps: number;
  elapsed_s: number;
  val_loss?: number;
  val_ppl?: number;
}

export interface RunHooks {
  /** After every step (progress bars). `step` counts steps done. */
  onStep?: (info: { step: number; total: number; result: StepResult; tokensPerS: number; etaS: number }) => void;
  /** Every logged line: every `logEvery` steps and every evaluation. */
  onLog?: (record: LogRecord) => void;
  onCheckpoint?: (dir: string, step: number) => void;
  onCheckpointStage?: (stage: CheckpointStage, step: number) => void | Promise<void>;
  onNote?: (message: string) => void;
  /** Polled between steps; true ends the run early with a checkpoint (SIGINT). */
  shouldStop?: () => boolean;
}

export interface RunOptions {
  outDir: string;
  settings: RunSettings;
  /** The model of a new run; on resume, if given, it must equal the checkpoint's. */
  config?: ModelConfig;
  /** Starting weights for a new run (fine-tuning); default: official init from the seed. Taken over by the run. */
  initialModel?: DcformerModel;
  tokens: TokenArray;
  /** Content hash of the data; a resumed run must see the same data. */
  dataHash: string;
  /** Tokenizer files copied into every checkpoint. */
  extraFiles?: readonly ExtraFile[];
  resume?: boolean;
  /** Stop after this many steps (with a checkpoint), as if interrupted; the schedule still spans `settings.steps`. */
  stopAfter?: number;
  hooks?: RunHooks;
}

export interface RunResult {
  step: number;
  trainLoss: number | null;
  valLoss: number | null;
  tokensPerS: number;
  checkpoint: string;
  /** The trained model (the caller disposes it). */
  model: DcformerModel;
  parameters: number;
  /** Every log record of the run, earlier sessions' included. */
  history: LogRecord[];
  /** Whether the run reached settings.steps. */
  finished: boolean;
}

/** The run's own part of a checkpoint (a type, not an interface, so it is a plain JSON record). */
type SavedState = {
  format: string;
  step: number;
  skippedSteps: number;
  consecutiveSkips: number;
  rng: { data: number };
  data: { hash: string; trainTokens: number; valTokens: number; batchesDrawn: number };
  tokensSeen: number;
  elapsedS: number;
  settings: RunSettings;
  model: Record<string, unknown>;
};

/** Keys whose values differ between two configs, in official spelling ('dim: 128 vs 64'). */
export function configDifferences(a: ModelConfig, b: ModelConfig): string[] {
  const ja = configToJson(a);
  const jb = configToJson(b);
  return Object.keys({ ...ja, ...jb })
    .filter((k) => JSON.stringify(ja[k]) !== JSON.stringify(jb[k]))
    .map((k) => `${k}: ${JSON.stringify(jb[k])} in the checkpoint vs ${JSON.stringify(ja[k])} requested`);
}

export async function readMetrics(outDir: string): Promise<LogRecord[]> {
  try {
    const text = await readFile(join(outDir, METRICS_FILE), 'utf8');
    return text
      .split('\n')
      .filter((l) => l.trim() !== '')
      .map((l) => JSON.parse(l) as LogRecord);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw e;
  }
}

export function countParameters(model: DcformerModel): number {
  let n = 0;
  for (const v of model.variables.values()) n += v.size;
  return n;
}

/** Where a run starts: its model (owned by the run from here on) and, on resume, the saved state. */
interface Start {
  model: DcformerModel;
  saved: SavedState | null;
  trainerState: TrainerState | null;
}

/** A run in progress: everything the step loop, the log and the checkpoint writer share. */
interface Session {
  o: RunOptions;
  model: DcformerModel;
  saved: SavedState | null;
  trainer: Trainer;
  rng: Rng;
  split: { train: TokenArray; val: TokenArray };
  evalSet: Tensor[];
  extraFiles: ExtraFile[];
  ckptRoot: string;
  metricsPath: string;
  history: LogRecord[];
  lastStep: number;
  perStep: number;
  t0: number;
  trainTime: number;
  batchesDrawn: number;
  tokensSeen: number;
  elapsedBefore: number;
  checkpoint: string;
  lastTrainLoss: number | null;
  lastVal: number | null;
  /** Losses of the steps since the last log line (skipped steps left out). */
  window: number[];
}

export async function runTraining(o: RunOptions): Promise<RunResult> {
  const s = o.settings;
  const ckptRoot = join(o.outDir, CHECKPOINTS_DIR);
  const split = splitTokens(o.tokens, s.valFraction, s.seqLen, 'the training data');
  // One level at a time: a recursive mkdir under /proc never returns.
  await ensureDirectory(o.outDir, (m) => new InputError(`--out ${o.outDir}: ${m}`));
  // Read the tokenizer files now: a resumed run's come from a checkpoint that --keep may delete.
  const extraFiles = await snapshotExtraFiles(o.extraFiles ?? []);
  const latest = await latestCheckpoint(ckptRoot);
  if (!o.resume && latest) {
    throw new InputError(
      `--out ${o.outDir} already holds a run (checkpoint at step ${latest.step}); pass --resume to continue it or choose another --out`,
    );
  }
  if (o.resume && !latest) throw new InputError(`--resume: no checkpoint under ${ckptRoot}`);
  const start = latest && o.resume ? await resumeFrom(o, latest.dir) : newStart(o);
  // The one disposal path of the model: every failure from here on frees it; success hands it over.
  try {
    return await trainFrom(o, start, { split, extraFiles, ckptRoot, checkpoint: latest?.dir ?? '' });
  } catch (e) {
    start.model.dispose();
    throw e;
  }
}

function newStart(o: RunOptions): Start {
  if (!o.config && !o.initialModel) throw new ConfigError('runTraining: a new run needs a model config');
  const model = o.initialModel ?? initModel(o.config as ModelConfig, o.settings.seed);
  return { model, saved: null, trainerState: null };
}

/** The latest checkpoint's model and state, checked against this run's config and data. */
async function resumeFrom(o: RunOptions, dir: string): Promise<Start> {
  const ck = await loadCheckpoint(dir);
  try {
    const saved = ck.state as SavedState;
    if (saved.format !== STATE_FORMAT)
      throw new InputError(`${dir}: trainer state format ${JSON.stringify(saved.format)} is not ${STATE_FORMAT}`);
    const diffs = o.config ? configDifferences(o.config, ck.model.config) : [];
    if (diffs.length > 0)
      throw new ConfigError(`--resume: the model config differs from the checkpoint's (${diffs.join('; ')})`);
    if (saved.data.hash !== o.dataHash) {
      throw new InputError(
        `--resume: the data differ from the run's (content hash ${o.dataHash.slice(0, 12)} vs ${saved.data.hash.slice(0, 12)} in the checkpoint)`,
      );
    }
    const trainerState: TrainerState = {
      step: saved.step,
      skippedSteps: saved.skippedSteps,
      consecutiveSkips: saved.consecutiveSkips,
      optimizer: ck.optimizer,
    };
    return { model: ck.model, saved, trainerState };
  } catch (e) {
    ck.model.dispose();
    throw e;
  }
}

/** Checks the model against the settings, opens the log and runs the steps; throws leave the model to the caller. */
async function trainFrom(
  o: RunOptions,
  { model, saved, trainerState }: Start,
  files: { split: Session['split']; extraFiles: ExtraFile[]; ckptRoot: string; checkpoint: string },
): Promise<RunResult> {
  const s = o.settings;
  if (s.seqLen > model.config.blockSize)
    throw new InputError(`--seq-len ${s.seqLen} exceeds the model's block_size ${model.config.blockSize}`);
  const metricsPath = join(o.outDir, METRICS_FILE);
  const history = await openMetrics(o.outDir, metricsPath, files.ckptRoot, saved);
  await removeStaleTemporaries(files.ckptRoot);
  const trainer = new Trainer(model, {
    schedule: scheduleOf(s),
    clip: s.clip,
    adamw: { beta1: s.beta1, beta2: s.beta2, eps: s.eps, weightDecay: s.weightDecay, decays: decayFilter(s.decay) },
    maxConsecutiveSkips: s.maxSkips,
  });
  const rng = new Rng(deriveSeed(s.seed, 'data'));
  if (trainerState && saved) {
    trainer.importState(trainerState);
    rng.state = saved.rng.data;
  }
  const { split } = files;
  const evalSet: Tensor[] = [];
  try {
    evalSet.push(
      ...evalBatches(
        split.val,
        s.batchSize,
        s.seqLen,
        evalBatchCount(split.val.length, s.batchSize, s.seqLen, s.evalBatches),
      ),
    );
    const session: Session = {
      ...files,
      o,
      model,
      saved,
      trainer,
      rng,
      evalSet,
      metricsPath,
      history,
      lastStep: Math.min(s.steps, o.stopAfter ?? Infinity),
      perStep: tokensPerStep(s),
      t0: performance.now(),
      trainTime: 0,
      batchesDrawn: saved?.data.batchesDrawn ?? 0,
      tokensSeen: saved?.tokensSeen ?? 0,
      elapsedBefore: saved?.elapsedS ?? 0,
      lastTrainLoss: null,
      lastVal: null,
      window: [],
    };
    await stepLoop(session);
    return summary(session);
  } finally {
    trainer.dispose();
    for (const b of evalSet) b.dispose();
  }
}

/**
 * The log so far (a resumed run's lines up to its checkpoint), rewritten; this also probes that
 * --out is writable before any work, so a bad --out fails at once and overwrites nothing.
 */
async function openMetrics(
  outDir: string,
  metricsPath: string,
  ckptRoot: string,
  saved: SavedState | null,
): Promise<LogRecord[]> {
  const history = saved ? (await readMetrics(outDir)).filter((r) => r.step <= saved.step) : [];
  try {
    await writeFile(metricsPath, history.map((r) => `${JSON.stringify(r)}\n`).join(''));
    await mkdir(ckptRoot, { recursive: true });
  } catch (e) {
    throw new InputError(`--out ${outDir}: not writable (${(e as NodeJS.ErrnoException).code ?? e})`);
  }
  return history;
}

async function stepLoop(r: Session): Promise<void> {
  const { settings: s, hooks = {} } = r.o;
  while (r.trainer.step < r.lastStep) {
    const result = await trainOneStep(r);
    const done = r.trainer.step;
    const sessionSteps = done - (r.saved?.step ?? 0);
    const tokensPerS = (sessionSteps * r.perStep) / (r.trainTime / 1000);
    hooks.onStep?.({
      step: done,
      total: s.steps,
      result,
      tokensPerS,
      etaS: ((r.lastStep - done) * r.trainTime) / sessionSteps / 1000,
    });
    if (!result.skipped) r.window.push(result.loss);
    const isLast = done === r.lastStep;
    const evalNow = isLast || (s.evalEvery > 0 && done % s.evalEvery === 0);
    if (evalNow || done % s.logEvery === 0) await logStep(r, result, tokensPerS, evalNow);
    const stopped = hooks.shouldStop?.() ?? false;
    if (isLast || stopped || (s.checkpointEvery > 0 && done % s.checkpointEvery === 0)) await writeCheckpoint(r);
    if (stopped) break;
  }
  if (r.checkpoint === '') await writeCheckpoint(r); // resumed at or past the end: still name a directory
}

/** Draws the step's micro-batches (advancing the data generator) and takes the step. */
async function trainOneStep(r: Session): Promise<StepResult> {
  const s = r.o.settings;
  const ts = performance.now();
  const micro: Tensor[] = [];
  for (let a = 0; a < s.accumulate; a++) micro.push(sampleBatch(r.split.train, s.batchSize, s.seqLen, r.rng));
  r.batchesDrawn += s.accumulate;
  try {
    return await r.trainer.trainStepAsync(micro);
  } finally {
    for (const m of micro) m.dispose();
    r.trainTime += performance.now() - ts;
    r.tokensSeen += r.perStep;
  }
}

/** One metrics line: the mean loss since the last line, and the validation loss when due. */
async function logStep(r: Session, result: StepResult, tokensPerS: number, evalNow: boolean): Promise<void> {
  const record: LogRecord = {
    step: r.trainer.step,
    train_loss: r.window.length > 0 ? r.window.reduce((a, b) => a + b, 0) / r.window.length : NaN,
    lr: result.lr,
    tokens_per_s: tokensPerS,
    grad_norm: result.gradNorm,
    skipped_steps: r.trainer.skippedSteps,
    elapsed_s: r.elapsedBefore + (performance.now() - r.t0) / 1000,
  };
  r.lastTrainLoss = r.window.length > 0 ? record.train_loss : r.lastTrainLoss;
  r.window = [];
  if (evalNow) {
    r.lastVal = await r.trainer.evaluateAsync(r.evalSet);
    record.val_loss = r.lastVal;
    record.val_ppl = Math.exp(r.lastVal);
  }
  r.history.push(record);
  await appendFile(r.metricsPath, `${JSON.stringify(record)}\n`);
  r.o.hooks?.onLog?.(record);
}

async function writeCheckpoint(r: Session): Promise<void> {
  const { o, trainer } = r;
  const s = o.settings;
  const hooks = o.hooks ?? {};
  const optimizer = await trainer.optimizer.exportState();
  const state: SavedState = {
    format: STATE_FORMAT,
    step: trainer.step,
    skippedSteps: trainer.skippedSteps,
    consecutiveSkips: trainer.consecutiveSkips,
    rng: { data: r.rng.state },
    data: {
      hash: o.dataHash,
      trainTokens: r.split.train.length,
      valTokens: r.split.val.length,
      batchesDrawn: r.batchesDrawn,
    },
    tokensSeen: r.tokensSeen,
    elapsedS: r.elapsedBefore + (performance.now() - r.t0) / 1000,
    settings: s,
    model: configToJson(r.model.config),
  };
  const step = trainer.step;
  r.checkpoint = await saveCheckpoint(
    r.ckptRoot,
    step,
    { model: r.model, optimizer, state },
    {
      extraFiles: r.extraFiles,
      keep: s.keep,
      onStage: hooks.onCheckpointStage ? (stage) => hooks.onCheckpointStage?.(stage, step) : undefined,
    },
  );
  hooks.onCheckpoint?.(r.checkpoint, step);
}

function summary(r: Session): RunResult {
  const step = r.trainer.step;
  const sessionSteps = step - (r.saved?.step ?? 0);
  return {
    step,
    trainLoss: r.lastTrainLoss,
    valLoss: r.lastVal ?? [...r.history].reverse().find((x) => x.val_loss !== undefined)?.val_loss ?? null,
    tokensPerS: sessionSteps > 0 ? (sessionSteps * r.perStep) / (r.trainTime / 1000) : 0,
    checkpoint: r.checkpoint,
    model: r.model,
    parameters: countParameters(r.model),
    history: r.history,
    finished: step >= r.o.settings.steps,
  };
}
