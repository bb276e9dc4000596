/**
 * `dcformer-train` itself: plan → backend → tokenizer → tokens (cached) → one run, or two under
 * --compare → loss curve, sample text, summary.
 */
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ConfigError, InputError } from '@dcformer/kernels';
import type { ModelConfig } from '@dcformer/model';
import { splitTokens, tokensPerStep } from '@dcformer/train';
import {
  CHECKPOINTS_DIR,
  configDifferences,
  loadTokens,
  METRICS_FILE,
  runTraining,
  type RunResult,
} from '@dcformer/train/node';
import {
  EXIT_INTERRUPTED,
  EXIT_OK,
  packageVersion,
  parseArgs,
  startBackend,
  watchStop,
  type Io,
} from '@dcformer/cli-utils';
import { finishCompare, finishSingle, PLOT_FILE } from './finish.js';
import { makePlan, type Plan, type ResumeInfo, type RunTarget } from './plan.js';
import { chooseMode, Progress } from './progress.js';
import { resolveTokenizer, type RunTokenizer } from './tokenizers.js';
import { FLAGS, usage } from './usage.js';

/** Fails fast (and writes nothing of value) when --out cannot be created or written. */
async function probeWritable(dir: string): Promise<void> {
  const probe = join(dir, `.write-probe-${process.pid}`);
  // One level at a time: a recursive mkdir under /proc never returns.
  const { ensureDirectory } = await import('@dcformer/model/node');
  await ensureDirectory(dir, (m, code) => new InputError(`--out ${dir}: not writable (${code ?? m})`));
  try {
    await writeFile(probe, '');
    await rm(probe, { force: true });
  } catch (e) {
    throw new InputError(`--out ${dir}: not writable (${(e as NodeJS.ErrnoException).code ?? String(e)})`);
  }
}

/**
 * Ctrl-C or SIGTERM once (to this process or to the parent that re-spawned it, or that parent
 * gone): finish the step, checkpoint, stop. A second Ctrl-C: exit at once.
 */
function interruptFlag(progress: Progress): { stop: () => boolean; release: () => void } {
  const why = { SIGINT: '', SIGTERM: 'SIGTERM: ', 'parent exited': 'the parent process is gone: ' };
  const watch = watchStop(
    (reason) =>
      progress.note(
        `dcformer-train: ${why[reason]}stopping after this step and writing a checkpoint${reason === 'SIGINT' ? ' (Ctrl-C again to quit now)' : ''}`,
      ),
    () => process.exit(EXIT_INTERRUPTED),
  );
  return { stop: watch.requested, release: watch.release };
}

async function trainOne(
  plan: Plan,
  target: RunTarget,
  tok: RunTokenizer,
  tokens: { tokens: Uint16Array | Uint32Array; hash: string },
  io: Io,
  progressMode: ReturnType<typeof chooseMode>,
  stop: () => boolean,
): Promise<RunResult> {
  const progress = new Progress(io, progressMode, target.label, target.name === '' ? {} : { model: target.name });
  let initialModel: Awaited<ReturnType<typeof import('@dcformer/model/node').loadModel>> | undefined;
  if (plan.initFrom !== null && !target.resumeFrom) {
    if (plan.initFromNote !== null) progress.note(`dcformer-train: ${plan.initFromNote}`);
    const { loadModel } = await import('@dcformer/model/node');
    initialModel = await loadModel(plan.initFrom, { onWarning: (m) => progress.note(`dcformer-train: ${m}`) });
    const diffs = target.config ? configDifferences(target.config, initialModel.config) : [];
    if (diffs.length > 0) {
      initialModel.dispose();
      throw new ConfigError(
        `--init-from ${plan.initFrom}: its config differs from the requested model (${diffs.join('; ').replaceAll('in the checkpoint', 'there')})`,
      );
    }
  }
  if (target.resumeFrom) progress.note(`dcformer-train: ${target.label}resuming from ${target.resumeFrom}`);
  try {
    return await runTraining({
      outDir: target.outDir,
      settings: plan.settings,
      config: target.config,
      initialModel,
      tokens: tokens.tokens,
      dataHash: tokens.hash,
      extraFiles: tok.files,
      resume: target.resumeFrom !== null,
      hooks: {
        onStep: (info) => {
          progress.earlyStep(info, tokensPerStep(plan.settings));
          progress.step(info);
        },
        onLog: (record) => progress.log(record, plan.settings.steps),
        onNote: (m) => progress.note(`dcformer-train: ${m}`),
        shouldStop: stop,
      },
    });
  } finally {
    progress.clearBar();
  }
}

/**
 * --resume of a run that has done all its steps: nothing to train. Said on stderr (with how to go
 * on), and under --json the summary line of the checkpoint that is already there.
 */
async function reportFinished(plan: Plan, resume: ResumeInfo, notes: Progress, io: Io): Promise<number> {
  const target = plan.targets[0];
  notes.note(
    `dcformer-train: the run in ${target.outDir} has finished (step ${resume.step} of ${resume.scheduledSteps}); nothing to train. To go on: --resume --steps N --extend`,
  );
  if (plan.json) {
    const records = (await readFile(join(target.outDir, METRICS_FILE), 'utf8').catch(() => ''))
      .split('\n')
      .filter((l) => l.trim() !== '')
      .map((l) => JSON.parse(l) as { step: number; train_loss?: number; val_loss?: number });
    const upTo = records.filter((r) => r.step <= resume.step).reverse();
    const trainLoss = upTo.find((r) => r.train_loss !== undefined)?.train_loss ?? null;
    const valLoss = upTo.find((r) => r.val_loss !== undefined)?.val_loss ?? null;
    io.stdout.write(
      `${JSON.stringify({ step: resume.step, train_loss: trainLoss, val_loss: valLoss, tokens_per_s: null, checkpoint: target.resumeFrom, finished: true })}\n`,
    );
  }
  return EXIT_OK;
}

export async function runTrain(argv: readonly string[], io: Io): Promise<number> {
  const flags = parseArgs(argv, FLAGS);
  if (flags.help) {
    io.stdout.write(usage());
    return EXIT_OK;
  }
  if (flags.version) {
    io.stdout.write(`${packageVersion(import.meta.url)}\n`);
    return EXIT_OK;
  }
  const plan = await makePlan(flags);
  const mode = chooseMode(flags.progress, plan.json, io);
  const notes = new Progress(io, mode);
  for (const w of plan.warnings) notes.note(`dcformer-train: warning: ${w}`);
  if (plan.resume !== null && plan.resume.step >= plan.settings.steps)
    return reportFinished(plan, plan.resume, notes, io);
  if (plan.resume?.extension) {
    const { step, scheduledSteps, extension } = plan.resume;
    const s = plan.settings;
    notes.note(
      `dcformer-train: extending the run from ${scheduledSteps} to ${s.steps} steps: the learning rate is recomputed for ${s.steps} steps (warmup ${s.warmupSteps}, cosine from ${s.lr} to ${s.lr * s.finalLrFraction}); step ${step + 1} uses ${extension.lrAfter.toExponential(2)} (was to be ${extension.lrBefore.toExponential(2)})`,
    );
  }
  const tok = await resolveTokenizer(plan.tokenizerPath);
  for (const t of plan.targets) {
    const vocab = t.config?.vocabSize;
    if (vocab !== undefined && tok.tokenizer.vocabSize > vocab) {
      throw new InputError(
        `the tokenizer (${plan.tokenizerPath}) has ${tok.tokenizer.vocabSize} ids but the model's vocab_size is ${vocab}`,
      );
    }
  }
  for (const t of plan.targets) await probeWritable(t.outDir);
  const vocabSize = (plan.targets[0].config as ModelConfig | undefined)?.vocabSize ?? tok.tokenizer.vocabSize;
  const loaded = await loadTokens(plan.data, {
    tokenizer: {
      encode: (text) => tok.tokenizer.encode(text, { specials: 'none' }),
      vocabSize: tok.tokenizer.vocabSize,
      eosId: tok.tokenizer.eosId,
    },
    tokenizerFingerprint: tok.fingerprint,
    cacheDir: plan.cacheDir,
    vocabSize,
    binDtype: plan.binDtype,
    onNote: (m) => notes.note(`dcformer-train: ${m}`),
    expectHash: plan.resume?.dataHash ?? undefined,
  });
  splitTokens(loaded.tokens, plan.settings.valFraction, plan.settings.seqLen, '--data'); // before tfjs loads: the error is the only line
  // Started before --overwrite deletes anything: a webgpu without an adapter is one more check.
  // The cpu fast path names itself (native or the tfjs kernels): the speed depends on it. Without
  // the native addon the default is wasm, and the backend line below says why.
  const backend = await startBackend(plan.backend, { cpuPathNote: true });
  for (const t of plan.targets) {
    if (!t.replace) continue;
    // --overwrite: the old run goes only now, after every check has passed.
    for (const name of [CHECKPOINTS_DIR, METRICS_FILE, PLOT_FILE])
      await rm(join(t.outDir, name), { recursive: true, force: true });
  }
  notes.note(`dcformer-train: backend ${backend.label}`);

  notes.note(
    `dcformer-train: ${loaded.tokens.length.toLocaleString('en-US')} tokens from ${loaded.files.length} file${loaded.files.length === 1 ? '' : 's'}${loaded.cached ? ' (cached)' : ''}`,
  );

  const interrupt = interruptFlag(notes);
  const results: RunResult[] = [];
  try {
    for (const target of plan.targets) {
      results.push(await trainOne(plan, target, tok, loaded, io, mode, interrupt.stop));
      if (interrupt.stop()) break;
    }
    if (plan.targets.length === 1) await finishSingle(plan, results[0], tok, io, mode);
    else if (results.length === plan.targets.length) await finishCompare(plan, results, tok, io, mode);
  } finally {
    interrupt.release();
    for (const r of results) r.model.dispose();
  }
  return interrupt.stop() ? EXIT_INTERRUPTED : EXIT_OK;
}
