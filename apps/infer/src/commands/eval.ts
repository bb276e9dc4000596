/**
 * `dcformer eval`: benchmarks (lm-evaluation-harness definitions, @dcformer/eval), perplexity of a
 * text, and the request-level modes over token ids (`loglikelihood`, `rolling`) that let other
 * harnesses drive the model. Everything that can fail cheaply (flags, data files, tokenizer files)
 * is checked before tfjs and the model load.
 */
import {
  getTask,
  isRequestMode,
  loglikelihoodLine,
  markdownTable,
  parseLoglikelihoodRequests,
  parseRollingRequests,
  resultJson,
  rollingLine,
  runTask,
  TASK_NAMES,
  type Dataset,
  type TaskDefinition,
  type TaskResult,
} from '@dcformer/eval';
import { readTaskData } from '@dcformer/eval/node';
import type { DcformerModel } from '@dcformer/model';
import { readFile, stat } from 'node:fs/promises';
import {
  CliError,
  closestName,
  EXIT_OK,
  oneLine,
  required,
  resolveBackend,
  resolveModelDir,
  startBackend,
  stderrProgress,
  UsageError,
  type Io,
  type ParsedFlags,
} from '@dcformer/cli-utils';
import { weightFileBytes } from '../inputs.js';
import { commandFlags } from '../usage.js';
import { dtypeOptions } from '../quantize.js';
import { findTokenizer } from './tokenizer-files.js';

const FLAGS = {
  model: 'string',
  task: 'string',
  data: 'string',
  limit: 'integer',
  'max-length': 'integer',
  stride: 'integer',
  'batch-size': 'integer',
  backend: 'string',
  dtype: 'string',
  'group-size': 'integer',
  json: 'boolean',
  help: 'boolean',
} as const;

const PREFIX = 'dcformer eval';

function positive(value: number | undefined, name: string): void {
  if (value !== undefined && value < 1) throw new UsageError(`--${name} must be ≥ 1; got ${value}`);
}

/** 75 s → "1m15s"; under a minute in seconds, over an hour in hours and minutes. */
export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

/**
 * A one-line progress display, only where a person watches (a TTY), at most ~10 updates a second:
 * done/total in the task's unit, the rate, and the time left at that rate. The clock starts at
 * `start(label)` (call it when scoring starts, after the model has loaded), or else at a label's
 * first update, so the ETA is the scoring's own.
 */
function progressLine(io: Io): {
  start(label: string): void;
  update(label: string, done: number, total: number, unit?: string): void;
  clear(): void;
} {
  const tty = (io.stderr as { isTTY?: boolean }).isTTY === true;
  let last = 0;
  let shown = false;
  let current = '';
  let since = 0;
  return {
    start(label) {
      current = label;
      since = performance.now();
    },
    update(label, done, total, unit = 'requests') {
      const now = performance.now();
      if (label !== current) {
        current = label;
        since = now;
      }
      if (!tty || (now - last < 100 && done < total)) return;
      last = now;
      shown = true;
      const elapsed = (now - since) / 1000;
      const rate = elapsed > 0 ? done / elapsed : 0;
      const eta = done > 0 && done < total && rate > 0 ? `, ETA ${formatDuration((total - done) / rate)}` : '';
      const speed = rate > 0 ? `, ${rate >= 10 ? Math.round(rate) : rate.toFixed(1)} ${unit}/s` : '';
      io.stderr.write(
        `\r\x1b[K${PREFIX}: ${label} ${done}/${total} ${unit} (${Math.floor((100 * done) / total)}%)${speed}${eta}`,
      );
    },
    clear() {
      if (shown) io.stderr.write('\r\x1b[K');
      shown = false;
    },
  };
}

/**
 * Loads the model. The backend is named (once) by `announce`, called when scoring starts: problems
 * found after loading (a continuation longer than --max-length) still make a one-line failure.
 */
async function openModel(
  dir: string,
  note: string | null,
  backendFlag: string | undefined,
  io: Io,
  loadDtype: ReturnType<typeof dtypeOptions> = {},
): Promise<{ model: DcformerModel; announce: () => void }> {
  const backend = await startBackend(resolveBackend(backendFlag), { weightBytes: await weightFileBytes(dir) });
  const { loadModel } = await import('@dcformer/model/node');
  const model = await loadModel(dir, {
    ...loadDtype,
    onWarning: (m) => io.stderr.write(`${PREFIX}: warning: ${oneLine(m)}\n`),
  });
  let announced = false;
  const announce = () => {
    if (!announced)
      io.stderr.write(`dcformer: backend ${backend.label}\n${note === null ? '' : `${PREFIX}: ${note}\n`}`);
    announced = true;
  };
  return { model, announce };
}

async function readData(path: string): Promise<string> {
  const { nonRegularReason } = await import('@dcformer/model/node');
  const notFile = await nonRegularReason(path);
  if (notFile !== null && !notFile.startsWith('is a directory'))
    throw new CliError(`cannot read --data ${path}: ${notFile}`);
  try {
    return await readFile(path, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new CliError(
      `cannot read --data ${path}: ${code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a directory' : (e as Error).message}`,
    );
  }
}

function checkVocab(ids: readonly number[], vocabSize: number, where: string): void {
  const bad = ids.find((id) => id >= vocabSize);
  if (bad !== undefined) throw new CliError(`${where}: token id ${bad} is outside the vocabulary [0, ${vocabSize})`);
}

type Flags = ParsedFlags<typeof FLAGS>;

/** loglikelihood / rolling: token ids in, one JSON line per input line out, in input order. */
async function runRequests(mode: 'loglikelihood' | 'rolling', flags: Flags, io: Io): Promise<number> {
  const modelFlag = required(flags.model, 'model');
  const dataPath = required(flags.data, 'data');
  const text = await readData(dataPath);
  const limit = flags.limit ?? Infinity;
  const { dir: modelDir, note } = await resolveModelDir(modelFlag, '--model', stderrProgress(io, PREFIX));
  const requests = mode === 'loglikelihood' ? parseLoglikelihoodRequests(text, dataPath).slice(0, limit) : null;
  const rolling = mode === 'rolling' ? parseRollingRequests(text, dataPath).slice(0, limit) : null;
  // An empty document scores nothing; printing {"logprob": 0, "tokens": 0} for it would pass for an answer.
  const empty = rolling?.find((r) => r.ids.length === 0);
  if (empty !== undefined)
    throw new CliError(`--data ${dataPath}:${empty.line}: 'ids' is empty; a rolling request needs at least 1 token id`);
  const { model, announce } = await openModel(modelDir, note, flags.backend, io, dtypeOptions(flags));
  try {
    const { modelScorer } = await import('@dcformer/model');
    const maxLength = flags['max-length'] ?? model.config.blockSize;
    if (maxLength > model.config.blockSize)
      throw new CliError(`--max-length ${maxLength} exceeds the model's block_size ${model.config.blockSize}`);
    const scorer = modelScorer(model, { maxLength, batchSize: flags['batch-size'] });
    const progress = progressLine(io);
    if (requests !== null) {
      for (const r of requests) {
        checkVocab([...r.context, ...r.continuation], model.config.vocabSize, `--data ${dataPath}:${r.line}`);
        if (r.continuation.length > maxLength)
          throw new CliError(
            `--data ${dataPath}:${r.line}: ${r.continuation.length} continuation tokens, more than --max-length ${maxLength} can score`,
          );
      }
      announce();
      progress.start('loglikelihood');
      const results = await scorer.loglikelihood(requests, {
        onProgress: (d, t) => progress.update('loglikelihood', d, t),
      });
      progress.clear();
      io.stdout.write(results.map((r) => `${loglikelihoodLine(r)}\n`).join(''));
    } else if (rolling !== null) {
      const stride = flags.stride ?? maxLength;
      if (stride > maxLength) throw new UsageError(`--stride ${stride} must be at most --max-length ${maxLength}`);
      for (const r of rolling) checkVocab(r.ids, model.config.vocabSize, `--data ${dataPath}:${r.line}`);
      announce();
      progress.start('rolling');
      for (const [i, r] of rolling.entries()) {
        const line = rollingLine(await scorer.rolling(r.ids, { maxLength, stride }));
        progress.clear(); // stdout and stderr share a terminal: never print a result into the progress line
        io.stdout.write(`${line}\n`);
        progress.update('rolling', i + 1, rolling.length, 'documents');
      }
      progress.clear();
    }
  } finally {
    model.dispose();
  }
  return EXIT_OK;
}

export async function runEval(argv: readonly string[], io: Io): Promise<number> {
  const flags = commandFlags('eval', argv, FLAGS, io);
  if (flags === null) return EXIT_OK;
  const names = taskNames(flags);
  const modes = names.filter(isRequestMode);
  if (modes.length > 0) {
    if (names.length > 1)
      throw new UsageError(`--task ${modes[0]} reads token ids and runs alone; give it without other tasks`);
    return runRequests(modes[0], flags, io);
  }

  const modelFlag = required(flags.model, 'model');
  const dataPath = required(flags.data, 'data');
  const isDir = (await stat(dataPath).catch(() => null))?.isDirectory() ?? false;
  if (names.length > 1 && !isDir)
    throw new UsageError(
      'several tasks need --data to be the eval-data folder (laid out like shared/data/eval), not one file',
    );
  const { dir: modelDir, note } = await resolveModelDir(modelFlag, '--model', stderrProgress(io, PREFIX));
  // Parse everything first: a malformed row fails in a second, not after the model has loaded.
  const tasks: TaskData[] = [];
  for (const name of names) {
    const task = getTask(name);
    tasks.push({ task, data: await readTaskData(task, dataPath) });
  }
  const tokenizer = await findTokenizer(modelDir);
  if (tokenizer === null) {
    throw new CliError(
      `text tasks need tokenizer files in ${modelDir} (tokenizer.json, tokenizer.model, or encoder.json + vocab.bpe); --task loglikelihood and rolling take token ids`,
    );
  }
  const { model, announce } = await openModel(modelDir, note, flags.backend, io, dtypeOptions(flags));
  let results: TimedResult[];
  try {
    results = await runTasks(model, tasks, tokenizer, flags, announce, io);
  } finally {
    model.dispose();
  }
  if (flags.json) {
    const out = results.map((r) => ({ ...resultJson(r), seconds: Math.round(r.seconds * 100) / 100 }));
    io.stdout.write(`${JSON.stringify({ model: modelDir, results: out })}\n`);
  } else {
    io.stdout.write(markdownTable(results));
  }
  return EXIT_OK;
}

type TaskData = { task: TaskDefinition; data: Dataset<unknown> };
type TimedResult = TaskResult & { seconds: number };

/** --task's names, each known, and the numeric flags, checked before anything is read. */
function taskNames(flags: Flags): string[] {
  const names = required(flags.task, 'task')
    .split(',')
    .map((n) => n.trim());
  for (const n of names) {
    if (!TASK_NAMES.includes(n)) {
      const guess = closestName(n, TASK_NAMES);
      throw new UsageError(
        `unknown task '${n}'${guess === undefined ? '' : `; did you mean ${guess}?`} (one of: ${TASK_NAMES.join(', ')})`,
      );
    }
  }
  positive(flags.limit, 'limit');
  positive(flags['max-length'], 'max-length');
  positive(flags.stride, 'stride');
  positive(flags['batch-size'], 'batch-size');
  if (flags.stride !== undefined && flags['max-length'] !== undefined && flags.stride > flags['max-length']) {
    throw new UsageError(`--stride ${flags.stride} must be at most --max-length ${flags['max-length']}`);
  }
  resolveBackend(flags.backend);
  return names;
}

/** Runs each task on the model with a progress line; says how long each took and what it skipped. */
async function runTasks(
  model: DcformerModel,
  tasks: TaskData[],
  tokenizer: NonNullable<Awaited<ReturnType<typeof findTokenizer>>>,
  flags: Flags,
  announce: () => void,
  io: Io,
): Promise<TimedResult[]> {
  const { modelScorer } = await import('@dcformer/model');
  const maxLength = flags['max-length'] ?? model.config.blockSize;
  if (maxLength > model.config.blockSize)
    throw new CliError(`--max-length ${maxLength} exceeds the model's block_size ${model.config.blockSize}`);
  const stride = flags.stride ?? maxLength;
  if (stride > maxLength) throw new UsageError(`--stride ${stride} must be at most --max-length ${maxLength}`);
  const scorer = modelScorer(model, { maxLength, batchSize: flags['batch-size'] });
  const progress = progressLine(io);
  // lm-eval's prefix token: BOS when the tokenizer has one, else end-of-text.
  const prefixToken = tokenizer.bosId ?? tokenizer.eosId;
  const results: TimedResult[] = [];
  for (const { task, data } of tasks) {
    const start = performance.now();
    progress.start(task.name);
    const result = await runTask(
      task,
      data,
      {
        scorer,
        encoder: tokenizer,
        prefixToken,
        maxLength,
        stride,
        onProgress: (d, t, unit) => {
          announce();
          progress.update(task.name, d, t, unit);
        },
      },
      { limit: flags.limit },
    );
    progress.clear();
    announce();
    const seconds = (performance.now() - start) / 1000;
    results.push({ ...result, seconds });
    io.stderr.write(
      `${PREFIX}: ${task.name}: ${result.n} items in ${seconds.toFixed(1)} s (${(result.n / seconds).toFixed(2)} items/s)\n`,
    );
    if (result.skipped > 0) {
      // Said here as well as in the results' notes: whoever watches the run should not miss it.
      io.stderr.write(
        `${PREFIX}: ${task.name}: ${result.skipped} items could not be scored within --max-length ${maxLength} and are left out (see the notes)\n`,
      );
    }
  }
  return results;
}
