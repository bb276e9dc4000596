/**
 * Everything a run needs, decided and checked before tfjs is loaded or a file is written: bad input
 * fails in milliseconds with one line, and nothing in --out is touched.
 */
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { ConfigError, InputError } from '@dcformer/kernels';
import { isMudd, muddCounterpart, parseConfig, resolveConfig, type ModelConfig } from '@dcformer/model';
import {
  learningRate,
  resolveSettings,
  scheduleOf,
  TRAIN_PRESETS,
  trainPreset,
  type RunSettings,
  type TrainPreset,
} from '@dcformer/train';
import {
  CHECKPOINTS_DIR,
  configDifferences,
  latestCheckpoint,
  TRAINER_STATE_FILE,
  type BinDtype,
} from '@dcformer/train/node';
import {
  closestName,
  resolveBackend,
  resolveModelDir,
  UsageError,
  type BackendRequest,
  type ParsedFlags,
} from '@dcformer/cli-utils';
import { defaultTokenizerPath } from './tokenizers.js';
import { type FLAGS, SETTING_FLAGS } from './usage.js';

export type Flags = ParsedFlags<typeof FLAGS>;

/** --compare entries: the run folder's name and the table's label. */
const COMPARE: Record<string, { name: string; label: (c: ModelConfig | undefined) => string }> = {
  mha: { name: 'transformer', label: () => 'Transformer++' },
  mudd: { name: 'muddformer', label: (c) => (c?.family === 'muddpythia' ? 'MUDDPythia' : 'MUDDFormer') },
  'mudd-dcmha': { name: 'mudd-dcmha', label: () => 'MUDD×DCMHA' },
};

/** The models of `--compare a,b` (and the `--compare-mha` alias), in the order given. */
function compareList(f: Flags): string[] {
  const out: string[] = [];
  if (f.compare !== undefined) {
    for (const item of f.compare.split(',').map((x) => x.trim())) {
      if (!Object.hasOwn(COMPARE, item)) {
        throw new UsageError(
          `--compare: unknown model '${item}' (a comma-separated list of: ${Object.keys(COMPARE).join(', ')})`,
        );
      }
      if (!out.includes(item)) out.push(item);
    }
  }
  if (f['compare-mha'] && !out.includes('mha')) out.unshift('mha');
  return out;
}

/** Which model a side of a comparison trains, from the run's (DCFormer) config. */
function compareConfig(item: string, config: ModelConfig): ModelConfig {
  if (item === 'dcformer') return { ...config, useDcmha: true };
  if (item === 'mha') return { ...config, useDcmha: false };
  return resolveConfig(muddCounterpart(config, { dcmha: item === 'mudd-dcmha' }) as Partial<ModelConfig>, {
    onWarning: () => {},
  });
}

/** One model to train: the whole run, or one side of --compare. */
export interface RunTarget {
  /** 'dcformer' | 'transformer' | 'muddformer' | 'mudd-dcmha' under --compare; '' for a single run. */
  name: string;
  label: string;
  outDir: string;
  /** A run already there that --overwrite replaces. */
  replace: boolean;
  /** undefined: the checkpoint's (resume without --preset/--config). */
  config: ModelConfig | undefined;
  resumeFrom: string | null;
}

export interface Plan {
  outDir: string;
  data: string[];
  backend: BackendRequest;
  json: boolean;
  presetName: string | null;
  preset: TrainPreset | null;
  settings: RunSettings;
  tokenizerPath: string;
  targets: RunTarget[];
  initFrom: string | null;
  /** Said on stderr when --init-from named a run folder (which checkpoint it resolved to). */
  initFromNote: string | null;
  cacheDir: string;
  binDtype: BinDtype | undefined;
  sample: { tokens: number; prompt: string; temperature: number; topK?: number };
  /** --resume: where the run stands, from its latest checkpoint's trainer state. */
  resume: ResumeInfo | null;
  /** Said on stderr before anything runs (settings that are legal but probably not meant). */
  warnings: string[];
}

/** What the plan reads of a checkpoint's trainer state (packages/train run.ts writes it). */
interface SavedTrainerState {
  settings?: RunSettings;
  step?: number;
  data?: { hash?: string };
}

export interface ResumeInfo {
  /** Steps done. */
  step: number;
  /** The schedule's length when the checkpoint was written. */
  scheduledSteps: number;
  /** The data hash the checkpoint recorded (checked before tokenizing). */
  dataHash: string | null;
  /** --extend: the old and new learning rate of the next step. */
  extension: { lrBefore: number; lrAfter: number } | null;
}

async function readJson(path: string, what: string): Promise<unknown> {
  const { nonRegularReason, parseJsonBounded } = await import('@dcformer/model/node');
  const notFile = await nonRegularReason(path);
  if (notFile !== null) throw new InputError(`${what} ${path}: ${notFile}`);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new InputError(`${what} ${path}: ${code === 'ENOENT' ? 'no such file' : (code ?? String(e))}`);
  }
  return parseJsonBounded(text, (message) => {
    throw new InputError(`${what} ${path}: ${message.replace(/^is /, '')}`);
  });
}

/** The flags the user gave, as RunSettings fields. */
function explicitSettings(f: Flags): Partial<RunSettings> {
  const out: Record<string, unknown> = {};
  for (const [field, flag] of Object.entries(SETTING_FLAGS)) {
    const v = f[flag as keyof Flags];
    if (v !== undefined) out[field] = v;
  }
  return out as Partial<RunSettings>;
}

/**
 * Where a resumed run stands and what --steps does to it. A different --steps changes the
 * learning-rate schedule of the steps still to come (the cosine is stretched or squeezed), so it
 * needs --extend, which the caller reports with the next step's learning rate before and after.
 */
function resumeInfo(saved: SavedTrainerState, settings: RunSettings, f: Flags): ResumeInfo {
  const step = saved.step ?? 0;
  const scheduledSteps = saved.settings?.steps ?? settings.steps;
  let extension: ResumeInfo['extension'] = null;
  if (settings.steps !== scheduledSteps) {
    if (settings.steps <= step)
      throw new UsageError(`--resume: the run is at step ${step}; --steps ${settings.steps} would end before that`);
    const lrBefore = learningRate(scheduleOf({ ...settings, steps: scheduledSteps }), step);
    const lrAfter = learningRate(scheduleOf(settings), step);
    if (!f.extend) {
      throw new UsageError(
        `--resume: the run was scheduled for ${scheduledSteps} steps; --steps ${settings.steps} recomputes its learning-rate schedule (step ${step + 1}: ${lrBefore.toExponential(2)} → ${lrAfter.toExponential(2)}). Pass --extend to do that, or leave --steps out`,
      );
    }
    extension = { lrBefore, lrAfter };
  } else if (f.extend) {
    throw new UsageError(`--extend needs --steps N other than the run's ${scheduledSteps}`);
  }
  return { step, scheduledSteps, dataHash: saved.data?.hash ?? null, extension };
}

/** The flag combinations that make no sense, refused before anything is read; returns the --compare list. */
function checkFlags(f: Flags): { out: string; data: string[]; compared: string[] } {
  if (f.out === undefined) throw new UsageError('missing --out DIR');
  if (f.data === undefined || f.data.length === 0) throw new UsageError('missing --data PATH');
  if (f.preset !== undefined && f.config !== undefined) throw new UsageError('give --preset or --config, not both');
  if (f.overwrite && f.resume) throw new UsageError('--overwrite starts afresh; it cannot be combined with --resume');
  if (f.extend && !f.resume) throw new UsageError('--extend lengthens a resumed run; give it with --resume --steps N');
  if (f['init-from'] !== undefined && f.resume)
    throw new UsageError('--init-from starts a new run; it cannot be combined with --resume');
  const compared = compareList(f);
  if (f['init-from'] !== undefined && compared.length > 0)
    throw new UsageError('--init-from cannot be combined with --compare (the models have different weights)');
  if (f['bin-dtype'] !== undefined && f['bin-dtype'] !== 'uint16' && f['bin-dtype'] !== 'uint32') {
    throw new UsageError(`--bin-dtype must be uint16 or uint32; got '${f['bin-dtype']}'`);
  }
  if (f.progress !== undefined && !['bar', 'lines', 'none'].includes(f.progress)) {
    throw new UsageError(`--progress must be bar, lines or none; got '${f.progress}'`);
  }
  return { out: f.out, data: f.data, compared };
}

type InitFrom = Awaited<ReturnType<typeof resolveModelDir>>;

/** The preset, the model config (--preset, --config or --init-from's) and the --init-from folder. */
async function modelSource(
  f: Flags,
): Promise<{ preset: TrainPreset | null; config: ModelConfig | undefined; initFrom: InitFrom | null }> {
  if (f.preset !== undefined && !Object.hasOwn(TRAIN_PRESETS, f.preset)) {
    // a mistyped name is a usage mistake (exit 2), with the nearest preset suggested
    const names = Object.keys(TRAIN_PRESETS);
    const guess = closestName(f.preset, names);
    throw new UsageError(
      `unknown preset '${f.preset}'${guess === undefined ? '' : `; did you mean ${guess}?`} (one of: ${names.join(', ')})`,
    );
  }
  const preset = f.preset !== undefined ? trainPreset(f.preset) : null;
  let config: ModelConfig | undefined = preset?.model;
  if (f.config !== undefined) {
    try {
      config = parseConfig(await readJson(f.config, '--config'), { onWarning: () => {} });
    } catch (e) {
      if (e instanceof ConfigError)
        throw new ConfigError(`--config ${f.config}: ${e.message.replace(/^config\.json: /, '')}`, e.key);
      throw e;
    }
  }
  // a training run folder stands for its latest checkpoint, as --model does in dcformer
  const initFrom = f['init-from'] !== undefined ? await resolveModelDir(f['init-from'], '--init-from') : null;
  if (initFrom !== null && config === undefined) {
    const json = await readJson(join(initFrom.dir, 'config.json'), '--init-from');
    config = parseConfig(json, { onWarning: () => {} });
  }
  return { preset, config, initFrom };
}

/**
 * One target per trained model (one, or DCFormer++ and each --compare entry), each checked against
 * what its folder holds; `saved` is the first resumed checkpoint's trainer state.
 */
async function runTargets(
  f: Flags,
  outDir: string,
  config: ModelConfig | undefined,
  compared: string[],
): Promise<{ targets: RunTarget[]; saved: SavedTrainerState | null }> {
  const compare = compared.length > 0;
  if (compare && config !== undefined && isMudd(config)) {
    throw new UsageError(
      `--compare trains DCFormer++ against the listed models: give a DCFormer / DCPythia --preset or --config, not ${config.family}`,
    );
  }
  const items = compare ? ['dcformer', ...compared] : [''];
  const names = items.map((item) => (item === '' || item === 'dcformer' ? item : COMPARE[item].name));
  const targets: RunTarget[] = [];
  let saved: SavedTrainerState | null = null;
  for (const [index, name] of names.entries()) {
    const item = items[index];
    const dir = name === '' ? outDir : join(outDir, name);
    const latest = await latestCheckpoint(join(dir, CHECKPOINTS_DIR));
    if (latest && !f.resume && !f.overwrite) {
      throw new InputError(
        `--out ${f.out} already holds a run (checkpoint at step ${latest.step}); pass --resume to continue it, --overwrite to start afresh, or choose another --out`,
      );
    }
    if (!latest && f.resume) throw new InputError(`--resume: no checkpoint under ${join(dir, CHECKPOINTS_DIR)}`);
    if (latest && f.resume && saved === null)
      saved = (await readJson(join(latest.dir, TRAINER_STATE_FILE), 'checkpoint state')) as SavedTrainerState;
    let own = config;
    if (compare && own) own = compareConfig(item, own);
    if (own && latest && f.resume) {
      // Checked here, before tfjs loads, so the mismatch is the only line printed.
      const theirs = parseConfig(await readJson(join(latest.dir, 'config.json'), 'checkpoint config'), {
        onWarning: () => {},
      });
      const diffs = configDifferences(own, theirs);
      if (diffs.length > 0)
        throw new ConfigError(`--resume: the model config differs from the checkpoint's (${diffs.join('; ')})`);
    }
    targets.push({
      name,
      label: name === '' ? '' : `${item === 'dcformer' ? 'DCFormer++' : COMPARE[item].label(own)} `,
      outDir: dir,
      config: own,
      resumeFrom: f.resume ? (latest?.dir ?? null) : null,
      replace: latest !== null && f.overwrite === true,
    });
  }
  return { targets, saved };
}

/** --tokenizer, else the resumed checkpoint's, the --init-from folder's or the preset's. */
function tokenizerFor(f: Flags, first: RunTarget, initFrom: InitFrom | null, preset: TrainPreset | null): string {
  if (f.tokenizer !== undefined) return f.tokenizer;
  if (first.resumeFrom) return first.resumeFrom;
  if (initFrom !== null) return initFrom.dir;
  if (preset) return defaultTokenizerPath(preset.tokenizer, f.preset as string);
  throw new UsageError('--config needs --tokenizer PATH (presets bring their own)');
}

export async function makePlan(f: Flags): Promise<Plan> {
  const { out, data, compared } = checkFlags(f);
  const backend = resolveBackend(f.backend);
  const outDir = resolve(out);
  const { preset, config, initFrom } = await modelSource(f);
  const { targets, saved } = await runTargets(f, outDir, config, compared);
  if (config === undefined && !f.resume) throw new UsageError('missing --preset NAME or --config FILE');

  // Settings: the checkpoint's when resuming (the same run), else the preset's; flags override both.
  const base = saved?.settings ?? preset?.settings ?? {};
  const settings = resolveSettings(
    { ...base, ...explicitSettings(f) },
    (k) => `--${SETTING_FLAGS[k as keyof typeof SETTING_FLAGS] ?? k}`,
  );

  const resume = saved === null ? null : resumeInfo(saved, settings, f);
  const warnings: string[] = [];
  if (settings.warmupSteps >= settings.steps) {
    warnings.push(
      `--warmup ${settings.warmupSteps} is not shorter than the run (${settings.steps} steps): the learning rate never reaches its peak ${settings.lr}`,
    );
  }

  const block = targets[0].config?.blockSize;
  if (block !== undefined && settings.seqLen > block)
    throw new UsageError(`--seq-len ${settings.seqLen} exceeds the model's block_size ${block}`);

  const tokenizerPath = tokenizerFor(f, targets[0], initFrom, preset);
  const sampleDefaults = preset?.sample ?? { prompt: '\n', tokens: 64, temperature: 0.8, topK: 40 };
  if (f['sample-tokens'] !== undefined && f['sample-tokens'] < 0)
    throw new UsageError(`--sample-tokens must be >= 0; got ${f['sample-tokens']}`);
  if (f.temperature !== undefined && !(f.temperature > 0))
    throw new UsageError(`--temperature must be > 0; got ${f.temperature}`);
  return {
    outDir,
    data,
    backend,
    json: f.json === true,
    presetName: f.preset ?? null,
    preset,
    settings,
    tokenizerPath,
    targets,
    initFrom: initFrom?.dir ?? null,
    initFromNote: initFrom?.note ?? null,
    cacheDir: resolve(f['cache-dir'] ?? join(outDir, 'cache')),
    binDtype: f['bin-dtype'] as BinDtype | undefined,
    resume,
    warnings,
    sample: {
      tokens: f['sample-tokens'] ?? sampleDefaults.tokens,
      prompt: f.prompt ?? sampleDefaults.prompt,
      temperature: f.temperature ?? sampleDefaults.temperature,
      topK: sampleDefaults.topK,
    },
  };
}
