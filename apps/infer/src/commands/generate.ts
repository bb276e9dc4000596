/**
 * `dcformer generate`: greedy or sampled continuation of a prompt (text through the model folder's
 * tokenizer, or ids from IDS.json), with the KV+KW cache. Stops at the tokenizer's end-of-text id
 * (never config.json's eos_token_id: DESIGN.md), at a --stop string or after --max-new-tokens; goes
 * on past block_size by cropping the context (@dcformer/model's generate). Text never shows special
 * tokens: `<|endoftext|>` ends a row, it is not part of what the model wrote.
 */
import {
  generateAsync,
  validateSampling,
  type DcformerModel,
  type GenerateOptions,
  type GenerateResult,
} from '@dcformer/model';
import {
  EXIT_OK,
  oneLine,
  parseArgs,
  required,
  resolveBackend,
  resolveModelDir,
  startBackend,
  stderrProgress,
  UsageError,
  type Io,
  type ParsedFlags,
} from '@dcformer/cli-utils';
import { checkIdsFit, readIdsFile, weightFileBytes } from '../inputs.js';
import { commandUsage } from '../usage.js';
import { dtypeOptions } from '../quantize.js';
import { StopText } from './stop-text.js';
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
  stop: 'list',
  stream: 'boolean',
  backend: 'string',
  dtype: 'string',
  'group-size': 'integer',
  json: 'boolean',
  help: 'boolean',
} as const;

const PREFIX = 'dcformer generate';

type Flags = ParsedFlags<typeof FLAGS>;
type Tokenizer = NonNullable<Awaited<ReturnType<typeof findTokenizer>>>;

export async function runGenerate(argv: readonly string[], io: Io): Promise<number> {
  const flags = parseArgs(argv, FLAGS);
  const loadDtype = dtypeOptions(flags);
  if (flags.help) {
    io.stdout.write(commandUsage('generate'));
    return EXIT_OK;
  }
  const modelFlag = required(flags.model, 'model');
  if ((flags.prompt === undefined) === (flags.input === undefined))
    throw new UsageError('give exactly one of --prompt TEXT or --input IDS.json');
  const options = samplingOptions(flags);
  const request = resolveBackend(flags.backend);
  const { dir: modelDir, note } = await resolveModelDir(modelFlag, '--model', stderrProgress(io, PREFIX));
  const tokenizer = await findTokenizer(modelDir);
  const prompts = await readPrompts(flags, modelDir, tokenizer);
  const backend = await startBackend(request, { weightBytes: await weightFileBytes(modelDir) });
  if (note !== null) io.stderr.write(`${PREFIX}: ${note}\n`);
  const { loadModel } = await import('@dcformer/model/node');
  const model = await loadModel(modelDir, {
    ...loadDtype,
    onWarning: (m) => io.stderr.write(`${PREFIX}: warning: ${oneLine(m)}\n`),
  });
  try {
    for (const p of prompts) checkIdsFit([p], model.config, flags.input ?? '--prompt');
    io.stderr.write(`dcformer: backend ${backend.label}\n`);
    const streaming = flags.stream === true && tokenizer !== null;
    const { result, text } = await generateRows(model, prompts, options, flags.stop ?? [], tokenizer, streaming, io);
    if (flags.json) {
      io.stdout.write(
        `${JSON.stringify({ ids: result.ids, text, prefill_ms: round(result.prefillMs), decode_tokens_per_s: round(result.decodeTokensPerS) })}\n`,
      );
    } else if (!streaming) {
      for (let b = 0; b < prompts.length; b++) io.stdout.write(`${text ? text[b] : result.newIds[b].join(' ')}\n`);
    }
    io.stderr.write(
      `${PREFIX}: prefill ${round(result.prefillMs)} ms, decode ${round(result.decodeTokensPerS)} tokens/s\n`,
    );
  } finally {
    model.dispose();
  }
  return EXIT_OK;
}

/** The sampling flags as GenerateOptions, checked before anything is loaded. */
function samplingOptions(flags: Flags): GenerateOptions {
  if (
    flags.greedy &&
    ((flags.temperature ?? 0) !== 0 || flags['top-k'] !== undefined || flags['top-p'] !== undefined)
  ) {
    throw new UsageError('--greedy cannot be combined with --temperature (other than 0), --top-k or --top-p');
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
  return options;
}

/** The prompt ids: --prompt through the folder's tokenizer, or --input's rows; checked before the backend starts. */
async function readPrompts(flags: Flags, modelDir: string, tokenizer: Tokenizer | null): Promise<number[][]> {
  if (flags.prompt !== undefined && tokenizer === null) {
    throw new UsageError(
      `--prompt needs tokenizer files in ${modelDir} (tokenizer.json, tokenizer.model, or encoder.json + vocab.bpe); use --input IDS.json instead`,
    );
  }
  const prompts =
    flags.input !== undefined
      ? await readIdsFile(flags.input, { ragged: true })
      : [(tokenizer as Tokenizer).encode(flags.prompt as string)];
  if ((flags.stop ?? []).length > 0 && tokenizer === null)
    throw new UsageError(`--stop needs tokenizer files in ${modelDir} to see text; none found`);
  if (prompts.some((p) => p.length === 0)) throw new UsageError('the prompt encodes to no tokens');
  if (flags.stream && prompts.length !== 1) throw new UsageError('--stream needs a single prompt');
  return prompts;
}

/**
 * Generates every row; with a tokenizer, each row's text (special tokens skipped) goes through the
 * stop strings as it grows, and is streamed to stdout when `streaming`.
 */
async function generateRows(
  model: DcformerModel,
  prompts: number[][],
  options: GenerateOptions,
  stops: string[],
  tokenizer: Tokenizer | null,
  streaming: boolean,
  io: Io,
): Promise<{ result: GenerateResult; text: string[] | null }> {
  const decoders = tokenizer ? prompts.map(() => tokenizer.decoder({ skipSpecial: true })) : [];
  const texts = prompts.map(() => new StopText(stops));
  let cropped = false;
  const result = await generateAsync(model, prompts, {
    ...options,
    stopTokens: tokenizer?.eosId !== null && tokenizer?.eosId !== undefined ? [tokenizer.eosId] : [],
    onToken: tokenizer
      ? (row, id) => {
          const fresh = texts[row].push(decoders[row].push(id));
          if (streaming) io.stdout.write(fresh);
        }
      : undefined,
    stopWhen: stops.length > 0 ? (row) => texts[row].stopped : undefined,
    onCrop: (kept) => {
      if (cropped) return;
      cropped = true;
      io.stderr.write(
        `${PREFIX}: the context reached block_size ${model.config.blockSize}; keeping each row's last ${kept} tokens and going on (each time it fills)\n`,
      );
    },
  });
  if (!tokenizer) return { result, text: null };
  const text = texts.map((t, b) => {
    // the end of generation: a held-back partial stop string is plain text after all
    const rest = t.push(decoders[b].flush()) + t.flush();
    if (streaming) io.stdout.write(`${rest}\n`);
    return t.value;
  });
  return { result, text };
}

function round(x: number): number {
  return Math.round(x * 100) / 100;
}
