/**
 * `dcformer quantize --model DIR --dtype int8|int4 [--group-size G] --out DIR2`: weight-only
 * quantisation as a transform outside the model (gpt-fast's way). Reads any supported checkpoint,
 * packing each weight matrix as it is read, and writes DIR2: model.safetensors (`P.qweight` I8/U8 +
 * `P.scales` F32 per compact weight, F32 for the rest), config.json with a `quantization` block, and
 * the tokenizer files. `loadModel` (every command) reads DIR2 back in its own format. 16-bit storage
 * is `dcformer convert --dtype f16|bf16`; 16-bit in memory is `--dtype bf16|f16` on any command.
 * Also: the --dtype / --group-size flags the model-loading commands share.
 */
import { copyFile, mkdtemp, readdir, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import {
  CliError,
  EXIT_OK,
  oneLine,
  parseArgs,
  required,
  resolveModelDir,
  startBackend,
  stderrProgress,
  UsageError,
  type Io,
} from '@dcformer/cli-utils';
import { commandUsage } from './usage.js';

const FLAGS = {
  model: 'string',
  out: 'string',
  dtype: 'string',
  'group-size': 'integer',
  json: 'boolean',
  help: 'boolean',
} as const;
const PREFIX = 'dcformer quantize';
const MEMORY_DTYPES = ['f32', 'bf16', 'f16', 'int8', 'int4'] as const;
type MemoryDtype = (typeof MEMORY_DTYPES)[number];

/** loadModel's dtype options from --dtype / --group-size (usage errors for bad values). */
export function dtypeOptions(flags: { dtype?: string; 'group-size'?: number }): {
  dtype?: MemoryDtype;
  groupSize?: number;
} {
  const dtype = flags.dtype;
  if (dtype !== undefined && !(MEMORY_DTYPES as readonly string[]).includes(dtype))
    throw new UsageError(`--dtype must be one of ${MEMORY_DTYPES.join(', ')}; got '${dtype}'`);
  const G = flags['group-size'];
  if (G !== undefined) {
    if (dtype !== 'int8' && dtype !== 'int4') throw new UsageError('--group-size goes with --dtype int8 or int4');
    if (G < 32 || G % 32 !== 0)
      throw new UsageError(`--group-size must be a positive multiple of 32 (32, 64, 128, …); got ${G}`);
  }
  return { dtype: dtype as MemoryDtype | undefined, groupSize: G };
}

/** Files that travel with a checkpoint besides config and weights (as convert copies them). */
const TOKENIZER_FILES = [
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

export async function runQuantize(argv: readonly string[], io: Io): Promise<number> {
  const flags = parseArgs(argv, FLAGS);
  if (flags.help) {
    io.stdout.write(commandUsage('quantize'));
    return EXIT_OK;
  }
  const out = required(flags.out, 'out');
  if (resolve(required(flags.model, 'model')) === resolve(out)) throw new UsageError('--out must differ from --model');
  const dtype = required(flags.dtype, 'dtype');
  if (dtype !== 'int8' && dtype !== 'int4')
    throw new UsageError(
      `--dtype must be int8 or int4; got '${dtype}' (16-bit storage: dcformer convert --dtype f16|bf16)`,
    );
  const { groupSize } = dtypeOptions({ dtype, 'group-size': flags['group-size'] });
  const existing = await stat(out).catch(() => null);
  if (existing !== null && (!existing.isDirectory() || (await readdir(out)).length > 0))
    throw new CliError(`--out ${out} already exists and is not an empty folder; choose another --out`);
  const { dir: src, note } = await resolveModelDir(flags.model!, '--model', stderrProgress(io, PREFIX));
  if (note !== null) io.stderr.write(`${PREFIX}: ${note}\n`);
  const started = performance.now();
  await startBackend('cpu');
  const { checkpointEntry, ensureDirectory, loadModel, nonRegularReason, saveQuantized } = await import(
    '@dcformer/model/node'
  );
  const model = await loadModel(src, {
    dtype,
    groupSize,
    onWarning: (m) => io.stderr.write(`${PREFIX}: warning: ${oneLine(m)}\n`),
  });
  let temporary: string | null = null;
  const copied: string[] = [];
  try {
    await ensureDirectory(dirname(resolve(out)), (m) => new CliError(`--out ${out}: ${m}`));
    temporary = await mkdtemp(join(dirname(resolve(out)), `.tmp-${basename(resolve(out))}-`));
    const block = await saveQuantized(model, temporary);
    const present = new Set(await readdir(src));
    for (const name of TOKENIZER_FILES.filter((n) => present.has(n)).concat(
      [...present].filter((n) => /tokenizer\.json(\.gz)?$/.test(n) && !TOKENIZER_FILES.includes(n)),
    )) {
      const from = await checkpointEntry(src, name, (m) => new CliError(m));
      const notFile = from === null ? 'is gone' : await nonRegularReason(from);
      if (notFile !== null) throw new CliError(`--model ${src}: ${name} ${notFile}`);
      await copyFile(join(src, name), join(temporary, name));
      copied.push(name);
    }
    await rename(temporary, out);
    temporary = null;
    const seconds = Math.round((performance.now() - started) / 100) / 10;
    io.stderr.write(
      `${PREFIX}: wrote ${out} (${block.format}, group size ${block.group_size}, ${block.modules.length} weights; config.json, model.safetensors${copied.map((c) => `, ${c}`).join('')}) in ${seconds} s\n`,
    );
    if (flags.json)
      io.stdout.write(
        `${JSON.stringify({ out, dtype: block.format, group_size: block.group_size, tokenizer_files: copied, seconds })}\n`,
      );
  } finally {
    model.dispose();
    if (temporary !== null) await rm(temporary, { recursive: true, force: true });
  }
  return EXIT_OK;
}
