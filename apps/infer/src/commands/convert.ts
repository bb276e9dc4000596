/**
 * `dcformer convert`: any supported weights (safetensors single/sharded, PyTorch .bin single/sharded,
 * F32/F16/BF16) → one model.safetensors (F32, or F16/BF16 with --dtype) with the official names,
 * config.json with the official keys, and the tokenizer files copied, so DIR2 is a complete model
 * folder.
 *
 * DIR2 is written as a temporary sibling folder and renamed into place at the end: an interrupted
 * or failed conversion leaves no half-written DIR2, and an existing non-empty DIR2 is replaced
 * only with --overwrite (whole, so no stale shard of an older model stays beside the new weights).
 */
import { copyFile, mkdtemp, readdir, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import {
  CliError,
  EXIT_OK,
  oneLine,
  required,
  resolveBackend,
  resolveModelDir,
  startBackend,
  stderrProgress,
  UsageError,
  type Io,
} from '@dcformer/cli-utils';
import { commandFlags } from '../usage.js';
import { seconds } from './session.js';

const FLAGS = {
  model: 'string',
  out: 'string',
  dtype: 'string',
  overwrite: 'boolean',
  backend: 'string',
  json: 'boolean',
  help: 'boolean',
} as const;
const DTYPES = { f32: 'F32', f16: 'F16', bf16: 'BF16' } as const;
const PREFIX = 'dcformer convert';

/** Files that travel with a checkpoint besides config and weights. */
export const TOKENIZER_FILES = [
  'tokenizer.json',
  'tokenizer.json.gz',
  'tokenizer.model',
  'tokenizer_config.json',
  'special_tokens_map.json',
  'encoder.json',
  'vocab.bpe',
  'vocab.json',
  'merges.txt',
];

/**
 * Whether `out` holds something that --overwrite will replace; without --overwrite that is an
 * error. A missing or empty folder is simply written.
 */
async function checkOut(out: string, overwrite: boolean): Promise<boolean> {
  const info = await stat(out).catch(() => null);
  if (info === null) return false;
  if (!info.isDirectory()) throw new CliError(`--out ${out} exists and is not a folder`);
  const entries = await readdir(out);
  if (entries.length === 0) return false;
  if (!overwrite) {
    throw new CliError(
      `--out ${out} already exists and is not empty (${entries.length} entries); pass --overwrite to replace it, or choose another --out`,
    );
  }
  return true;
}

/** Renames the finished folder to `out`; an old `out` is set aside first and removed after. */
async function moveIntoPlace(temporary: string, out: string, replacing: boolean): Promise<void> {
  if (!replacing) {
    // rename(2) replaces an empty folder, and fails on a non-empty one that appeared meanwhile
    await rename(temporary, out);
    return;
  }
  const old = `${temporary}-old`;
  await rename(out, old);
  try {
    await rename(temporary, out);
  } catch (e) {
    await rename(old, out);
    throw e;
  }
  await rm(old, { recursive: true, force: true });
}

export async function runConvert(argv: readonly string[], io: Io): Promise<number> {
  const flags = commandFlags('convert', argv, FLAGS, io);
  if (flags === null) return EXIT_OK;
  const out = required(flags.out, 'out');
  if (resolve(required(flags.model, 'model')) === resolve(out)) throw new UsageError('--out must differ from --model');
  const dtypeFlag = flags.dtype ?? 'f32';
  if (!Object.hasOwn(DTYPES, dtypeFlag)) throw new UsageError(`--dtype must be f32, f16 or bf16; got '${dtypeFlag}'`);
  const dtype = DTYPES[dtypeFlag as keyof typeof DTYPES];
  const backend = resolveBackend(flags.backend);
  const replacing = await checkOut(out, flags.overwrite === true);
  const { dir: src, note } = await resolveModelDir(flags.model!, '--model', stderrProgress(io, PREFIX));
  if (note !== null) io.stderr.write(`${PREFIX}: ${note}\n`);
  const started = performance.now();
  // Converting computes nothing, and wasm32's 4 GiB heap cannot hold a large model: the default is cpu.
  await startBackend(backend === 'default' ? 'cpu' : backend);
  const { checkpointEntry, ensureDirectory, loadModel, nonRegularReason, saveModel } = await import(
    '@dcformer/model/node'
  );
  const model = await loadModel(src, { onWarning: (m) => io.stderr.write(`${PREFIX}: warning: ${oneLine(m)}\n`) });
  const copied: string[] = [];
  let temporary: string | null = null;
  try {
    await ensureDirectory(dirname(resolve(out)), (m) => new CliError(`--out ${out}: ${m}`));
    temporary = await mkdtemp(join(dirname(resolve(out)), `.tmp-${basename(resolve(out))}-`));
    await saveModel(model, temporary, { dtype });
    const present = new Set(await readdir(src));
    // e.g. GPT-NeoX's 20B_tokenizer.json, which the loader finds when it is the only one
    const others = [...present].filter((n) => /tokenizer\.json(\.gz)?$/.test(n) && !TOKENIZER_FILES.includes(n));
    const sole =
      others.length === 1 && !present.has('tokenizer.json') && !present.has('tokenizer.json.gz') ? others : [];
    for (const name of [...TOKENIZER_FILES, ...sole]) {
      if (!present.has(name)) continue;
      // A link out of the model folder (other than into its HF cache blobs) is refused, not copied along.
      const from = await checkpointEntry(src, name, (m) => new CliError(m));
      const notFile = from === null ? 'is gone' : await nonRegularReason(from);
      if (notFile !== null) throw new CliError(`--model ${src}: ${name} ${notFile}`);
      await copyFile(join(src, name), join(temporary, name));
      copied.push(name);
    }
    await moveIntoPlace(temporary, out, replacing);
    temporary = null;
  } finally {
    model.dispose();
    if (temporary !== null) await rm(temporary, { recursive: true, force: true });
  }
  const elapsed = seconds(started);
  io.stderr.write(
    `${PREFIX}: wrote ${out} (config.json, model.safetensors ${dtype}${copied.map((c) => `, ${c}`).join('')}) in ${elapsed} s\n`,
  );
  if (flags.json) io.stdout.write(`${JSON.stringify({ out, tokenizer_files: copied, seconds: elapsed })}\n`);
  return EXIT_OK;
}
