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

interface SavedState {
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
}

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

export async function runTraining(o: RunOptions): Promise<RunResult> {
  const s = o.settings;
  const hooks = o.hooks ?? {};
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

  let model: DcformerModel;
  let saved: SavedState | null = null;
  let trainerState: TrainerState | null = null;
  if (o.resume && latest) {
    const ck = await loadCheckpoint(latest.dir);
    saved = ck.state as unknown as SavedState;
    if (saved.format !== STATE_FORMAT) {
      ck.model.dispose();
      throw new InputError(
        `${latest.dir}: trainer state format ${JSON.stringify(saved.format)} is not ${STATE_FORMAT}`,
      );
    }
    const diffs = o.config ? configDifferences(o.config, ck.model.config) : [];
    if (diffs.length > 0) {
      ck.model.dispose();
      throw new ConfigError(`--resume: the model config differs from the checkpoint's (${diffs.join('; ')})`);
    }
    if (saved.data.hash !== o.dataHash) {
      ck.model.dispose();
      throw new InputError(
        `--resume: the data differ from the run's (content hash ${o.dataHash.slice(0, 12)} vs ${saved.data.hash.slice(0, 12)} in the checkpoint)`,
      );
    }
    model = ck.model;
    trainerState = {
      step: saved.step,
      skippedSteps: saved.skippedSteps,
      consecutiveSkips: saved.consecutiveSkips,
      optimizer: ck.optimizer,
    };
  } else {
    if (!o.config && !o.initialModel) throw new ConfigError('runTraining: a new run needs a model config');
    model = o.initialModel ?? initModel(o.config as ModelConfig, s.seed);
  }
  if (s.seqLen > model.config.blockSize) {
    model.dispose();
    throw new InputError(`--seq-len ${s.seqLen} exceeds the model's block_size ${model.config.blockSize}`);
  }

  // Probe writability before any work, so a bad --out fails at once and overwrites nothing.
  const metricsPath = join(o.outDir, METRICS_FILE);
  const history = saved ? (await readMetrics(o.outDir)).filter((r) => r.step <= (saved as SavedState).step) : [];
  try {
    await writeFile(metricsPath, history.map((r) => `${JSON.stringify(r)}\n`).join(''));
    await mkdir(ckptRoot, { recursive: true });
  } catch (e) {
    model.dispose();
    throw new InputError(`--out ${o.outDir}: not writable (${(e as NodeJS.ErrnoException).code ?? e})`);
  }
  await removeStaleTemporaries(ckptRoot);

  const trainer = new Trainer(model, {
    schedule: scheduleOf(s),
    clip: s.clip,
    adamw: { beta1: s.beta1, beta2: s.beta2, eps: s.eps, weightDecay: s.weightDecay, decays: decayFilter(s.decay) },
    maxConsecutiveSkips: s.maxSkips,
  });
  const rng = new Rng(deriveSeed(s.seed, 'data'));
  let batchesDrawn = 0;
  let tokensSeen = 0;
  let elapsedBefore = 0;
  if (trainerState && saved) {
    trainer.importState(trainerState);
    rng.state = saved.rng.data;
    batchesDrawn = saved.data.batchesDrawn;
    tokensSeen = saved.tokensSeen;
    elapsedBefore = saved.elapsedS;
  }
  const evalSet = evalBatches(
    split.val,
    s.batchSize,
    s.seqLen,
    evalBatchCount(split.val.length, s.batchSize, s.seqLen, s.evalBatches),
  );
  const lastStep = Math.min(s.steps, o.stopAfter ?? Infinity);
  const perStep = tokensPerStep(s);
  const t0 = performance.now();
  let trainTime = 0;
  let checkpoint = latest?.dir ?? '';
  let lastTrainLoss: number | null = null;
  let lastVal: number | null = null;
  let window: number[] = [];

  const writeCheckpoint = async () => {
    const optimizer = await trainer.optimizer.exportState();
    const state: SavedState = {
      format: STATE_FORMAT,
      step: trainer.step,
      skippedSteps: trainer.skippedSteps,
      consecutiveSkips: trainer.consecutiveSkips,
      rng: { data: rng.state },
      data: { hash: o.dataHash, trainTokens: split.train.length, valTokens: split.val.length, batchesDrawn },
      tokensSeen,
      elapsedS: elapsedBefore + (performance.now() - t0) / 1000,
      settings: s,
      model: configToJson(model.config),
    };
    const step = trainer.step;
    checkpoint = await saveCheckpoint(
      ckptRoot,
      step,
      { model, optimizer, state: state as unknown as Record<string, unknown> },
      {
        extraFiles,
        keep: s.keep,
        onStage: hooks.onCheckpointStage ? (stage) => hooks.onCheckpointStage?.(stage, step) : undefined,
      },
    );
    hooks.onCheckpoint?.(checkpoint, step);
  };

  try {
    let stopped = false;
    while (trainer.step < lastStep) {
      const ts = performance.now();
      const micro: Tensor[] = [];
      for (let a = 0; a < s.accumulate; a++) micro.push(sampleBatch(split.train, s.batchSize, s.seqLen, rng));
      batchesDrawn += s.accumulate;
      let result: StepResult;
      try {
        result = await trainer.trainStepAsync(micro);
      } finally {
        for (const m of micro) m.dispose();
      }
      trainTime += performance.now() - ts;
      tokensSeen += perStep;
      const done = trainer.step;
      const sessionSteps = done - (saved?.step ?? 0);
      const tokensPerS = (sessionSteps * perStep) / (trainTime / 1000);
      hooks.onStep?.({
        step: done,
        total: s.steps,
        result,
        tokensPerS,
        etaS: ((lastStep - done) * trainTime) / sessionSteps / 1000,
      });
      if (!result.skipped) window.push(result.loss);

      const isLast = done === lastStep;
      const evalNow = isLast || (s.evalEvery > 0 && done % s.evalEvery === 0);
      if (evalNow || done % s.logEvery === 0) {
        const record: LogRecord = {
          step: done,
          train_loss: window.length > 0 ? window.reduce((a, b) => a + b, 0) / window.length : NaN,
          lr: result.lr,
          tokens_per_s: tokensPerS,
          grad_norm: result.gradNorm,
          skipped_steps: trainer.skippedSteps,
          elapsed_s: elapsedBefore + (performance.now() - t0) / 1000,
        };
        lastTrainLoss = window.length > 0 ? record.train_loss : lastTrainLoss;
        window = [];
        if (evalNow) {
          lastVal = await trainer.evaluateAsync(evalSet);
          record.val_loss = lastVal;
          record.val_ppl = Math.exp(lastVal);
        }
        history.push(record);
        await appendFile(metricsPath, `${JSON.stringify(record)}\n`);
        hooks.onLog?.(record);
      }
      stopped = hooks.shouldStop?.() ?? false;
      if (isLast || stopped || (s.checkpointEvery > 0 && done % s.checkpointEvery === 0)) await writeCheckpoint();
      if (stopped) break;
    }
    if (checkpoint === '') await writeCheckpoint(); // resumed at or past the end: still name a directory
    const sessionSteps = trainer.step - (saved?.step ?? 0);
    return {
      step: trainer.step,
      trainLoss: lastTrainLoss,
      valLoss: lastVal ?? [...history].reverse().find((r) => r.val_loss !== undefined)?.val_loss ?? null,
      tokensPerS: sessionSteps > 0 ? (sessionSteps * perStep) / (trainTime / 1000) : 0,
      checkpoint,
      model,
      parameters: countParameters(model),
      history,
      finished: trainer.step >= s.steps,
    };
  } catch (e) {
    model.dispose();
    throw e;
  } finally {
    trainer.dispose();
    for (const b of evalSet) b.dispose();
  }
}
