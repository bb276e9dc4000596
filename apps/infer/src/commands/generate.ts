/**
 * `dcformer generate`: greedy or sampled continuation of a prompt (text through the model folder's
 * tokenizer, or ids from IDS.json), with the KV+KW cache. Stops at the tokenizer's end-of-text id
 * (never config.json's eos_token_id: DESIGN.md) or after --max-new-tokens.
 */
import { generateAsync, validateSampling, type GenerateOptions } from '@dcformer/model';
import { EXIT_OK, oneLine, parseArgs, required, resolveBackend, startBackend, UsageError, type Io } from '@dcformer/cli-utils';
import { checkIdsFit, checkModelDir, readIdsFile, weightFileBytes } from '../inputs.js';
import { commandUsage } from '../usage.js';
import { findTokenizer } from './tokenizer-files.js';

const FLAGS = {
  model: 'string',
  prompt: 'string',
  input: 'string',
  'max-new-tokens': 'integer',
  temperature: 'number',
  'top-k': 'integer',
  'top-p': 'number',
  'repetition-penalty': 'number',
  seed: 'integer',
  greedy: 'boolean',
  stream: 'boolean',
  backend: 'string',
  json: 'boolean',
  help: 'boolean',
} as const;

const PREFIX = 'dcformer generate';

export async function runGenerate(argv: readonly string[], io: Io): Promise<number> {
  const flags = parseArgs(argv, FLAGS);
  if (flags.help) {
    io.stdout.write(commandUsage('generate'));
    return EXIT_OK;
  }
  const modelDir = required(flags.model, 'model');
  if ((flags.prompt === undefined) === (flags.input === undefined)) throw new UsageError('give exactly one of --prompt TEXT or --input IDS.json');
  if (flags.greedy && (flags.temperature !== undefined || flags['top-k'] !== undefined || flags['top-p'] !== undefined)) {
    throw new UsageError('--greedy cannot be combined with --temperature, --top-k or --top-p');
  }
  const options: GenerateOptions = {
    maxNewTokens: flags['max-new-tokens'] ?? 64,
    greedy: flags.greedy,
    temperature: flags.temperature,
    topK: flags['top-k'],
    topP: flags['top-p'],
    repetitionPenalty: flags['repetition-penalty'],
    seed: flags.seed,
  };
  validateSampling(options, 'options');
  const request = resolveBackend(flags.backend);
  await checkModelDir(modelDir);
  const tokenizer = await findTokenizer(modelDir);
  if (flags.prompt !== undefined && tokenizer === null) {
    throw new UsageError(`--prompt needs tokenizer files in ${modelDir} (tokenizer.json, tokenizer.model, or encoder.json + vocab.bpe); use --input IDS.json instead`);
  }
  const prompts = flags.input !== undefined ? await readIdsFile(flags.input, { ragged: true }) : [tokenizer!.encode(flags.prompt!)];
  if (prompts.some((p) => p.length === 0)) throw new UsageError('the prompt encodes to no tokens');
  if (flags.stream && prompts.length !== 1) throw new UsageError('--stream needs a single prompt');
  const backend = await startBackend(request, { weightBytes: await weightFileBytes(modelDir) });
  const { loadModel } = await import('@dcformer/model/node');
  const model = await loadModel(modelDir, { onWarning: (m) => io.stderr.write(`${PREFIX}: warning: ${oneLine(m)}\n`) });
  try {
    for (const p of prompts) checkIdsFit([p], model.config, flags.input ?? '--prompt');
    io.stderr.write(`dcformer: backend ${backend.label}\n`);
    const stream = flags.stream && tokenizer ? tokenizer.decoder() : null;
    const result = await generateAsync(model, prompts, {
      ...options,
      stopTokens: tokenizer?.eosId !== null && tokenizer?.eosId !== undefined ? [tokenizer.eosId] : [],
      onToken: stream ? (_row, id) => io.stdout.write(stream.push(id)) : undefined,
    });
    if (stream) io.stdout.write(`${stream.flush()}\n`);
    const text = tokenizer ? result.newIds.map((ids) => tokenizer.decode(ids)) : null;
    if (flags.json) {
      io.stdout.write(`${JSON.stringify({ ids: result.ids, text, prefill_ms: round(result.prefillMs), decode_tokens_per_s: round(result.decodeTokensPerS) })}\n`);
    } else if (!stream) {
      for (let b = 0; b < prompts.length; b++) io.stdout.write(`${text ? text[b] : result.newIds[b].join(' ')}\n`);
    }
    io.stderr.write(`${PREFIX}: prefill ${round(result.prefillMs)} ms, decode ${round(result.decodeTokensPerS)} tokens/s\n`);
  } finally {
    model.dispose();
  }
  return EXIT_OK;
}

function round(x: number): number {
  return Math.round(x * 100) / 100;
}
