/**
 * `dcformer convert`: any supported weights (safetensors single/sharded, PyTorch .bin single/sharded,
 * F32/F16/BF16) → one F32 model.safetensors with the official names, config.json with the official
 * keys, and the tokenizer files copied, so DIR2 is a complete model folder.
 */
import { copyFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { CliError, EXIT_OK, oneLine, parseArgs, required, resolveBackend, resolveModelDir, startBackend, UsageError, type Io } from '@dcformer/cli-utils';
import { commandUsage } from '../usage.js';
import { seconds } from './session.js';

const FLAGS = { model: 'string', out: 'string', backend: 'string', json: 'boolean', help: 'boolean' } as const;
const PREFIX = 'dcformer convert';

/** Files that travel with a checkpoint besides config and weights. */
export const TOKENIZER_FILES = [
  'tokenizer.json', 'tokenizer.json.gz', 'tokenizer.model', 'tokenizer_config.json', 'special_tokens_map.json',
  'encoder.json', 'vocab.bpe', 'vocab.json', 'merges.txt',
];

export async function runConvert(argv: readonly string[], io: Io): Promise<number> {
  const flags = parseArgs(argv, FLAGS);
  if (flags.help) {
    io.stdout.write(commandUsage('convert'));
    return EXIT_OK;
  }
  const out = required(flags.out, 'out');
  if (join(required(flags.model, 'model')) === join(out)) throw new UsageError('--out must differ from --model');
  const backend = resolveBackend(flags.backend);
  const { dir: src, note } = await resolveModelDir(flags.model!, '--model');
  if (note !== null) io.stderr.write(`${PREFIX}: ${note}\n`);
  const started = performance.now();
  // Converting computes nothing, and wasm32's 4 GiB heap cannot hold a large model: the default is cpu.
  await startBackend(backend === 'default' ? 'cpu' : backend);
  const { checkpointEntry, ensureDirectory, loadModel, nonRegularReason, saveModel } = await import('@dcformer/model/node');
  const model = await loadModel(src, { onWarning: (m) => io.stderr.write(`${PREFIX}: warning: ${oneLine(m)}\n`) });
  const copied: string[] = [];
  try {
    await ensureDirectory(out, (m) => new CliError(`--out ${out}: ${m}`));
    await saveModel(model, out);
    const present = new Set(await readdir(src));
    for (const name of TOKENIZER_FILES) {
      if (!present.has(name)) continue;
      // A link out of the model folder (other than into its HF cache blobs) is refused, not copied along.
      const from = await checkpointEntry(src, name, (m) => new CliError(m));
      const notFile = from === null ? 'is gone' : await nonRegularReason(from);
      if (notFile !== null) throw new CliError(`--model ${src}: ${name} ${notFile}`);
      await copyFile(join(src, name), join(out, name));
      copied.push(name);
    }
  } finally {
    model.dispose();
  }
  const elapsed = seconds(started);
  io.stderr.write(`${PREFIX}: wrote ${out} (config.json, model.safetensors${copied.map((c) => `, ${c}`).join('')}) in ${elapsed} s\n`);
  if (flags.json) io.stdout.write(`${JSON.stringify({ out, tokenizer_files: copied, seconds: elapsed })}\n`);
  return EXIT_OK;
}
