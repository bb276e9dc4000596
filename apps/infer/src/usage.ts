/**
 * Usage texts. The contracts are DESIGN.md's "Command-line contracts"; keep the two in step.
 */

import { parseArgs, type FlagSpecs, type Io, type ParsedFlags } from '@dcformer/cli-utils';

export const COMMANDS = ['logits', 'grads', 'generate', 'eval', 'tokenize', 'convert', 'quantize', 'download'] as const;
export type CommandName = (typeof COMMANDS)[number];

/** Commands that run; the others are recognised but exit 2 until they are built. */
export const IMPLEMENTED: readonly CommandName[] = [
  'logits',
  'grads',
  'generate',
  'eval',
  'tokenize',
  'convert',
  'quantize',
  'download',
];

const BACKEND = `  --backend B     cpu | wasm | webgpu | cuda (default: cpu with @dcformer/kernels-cpu's native kernels,
                  else wasm, or cpu for weights over 768 MiB; webgpu needs a Vulkan-capable GPU or
                  SwiftShader; cuda an NVIDIA GPU and @dcformer/kernels-cuda's device addon)`;

const DTYPE = `  --dtype D       weights in memory: f32 (default), bf16, f16, int8 or int4 (linear weights and
                  embedding; compute stays float32); a quantised checkpoint loads in its own format
  --group-size G  int8/int4 weights per scale (multiple of 32 dividing the input dim; default 64)`;

const USAGE: Record<CommandName, string> = {
  logits: `usage: dcformer logits --model DIR --input IDS.json --out OUT.json [--prefill P] [--backend B] [--json]

Runs the model over token ids and writes the logits.
  --model DIR     config.json + model.safetensors (or a sharded index)
  --input FILE    {"input_ids": [[int, ...], ...]}, rectangular B x T
  --out FILE      written atomically: {"logits": [[[float x V] x T] x B]}; each float is the
                  shortest decimal that parses back to the same float32
  --prefill P     cached prefill of P tokens, then T-P one-token decode steps (KV+KW cache)
${BACKEND}
  --json          print {"out", "shape", "seconds"} to stdout`,
  grads: `usage: dcformer grads --model DIR --input IDS.json --out G.safetensors [--backend B] [--json]

Writes d(mean next-token cross-entropy over B*(T-1) predictions)/d(parameter) for every trainable
parameter: F32 safetensors with the official names (dw1/qkw/dd under their own names; no buffers).
  --model DIR     config.json + model.safetensors (or a sharded index)
  --input FILE    {"input_ids": [[int, ...], ...]}, rectangular B x T with T >= 2
  --out FILE      written atomically
${BACKEND}
  --json          print {"loss", "tensors", "out"} to stdout`,
  generate: `usage: dcformer generate --model DIR (--prompt TEXT | --input IDS.json) [--max-new-tokens N]
                 [--temperature t] [--top-k k] [--top-p p] [--repetition-penalty r] [--seed s]
                 [--greedy] [--stop STR ...] [--stream] [--backend B] [--json]

Continues each prompt with the KV+KW cache. Greedy unless --temperature (> 0), --top-k or --top-p is
given; stops at the tokenizer's end-of-text token, at a --stop string or after N new tokens. When the
context reaches the model's block_size, each row keeps its last block_size/2 tokens, which are
prefilled afresh, and generation goes on (said once on stderr). Text output never shows special
tokens such as <|endoftext|>.
  --model DIR          config.json + weights (+ tokenizer files for --prompt and text output)
  --prompt TEXT        encoded with the folder's tokenizer
  --input FILE         {"input_ids": [[int, ...], ...]}; rows may differ in length
  --max-new-tokens N   default 64 (may exceed block_size)
  --temperature t      sample with logits / t (t > 0); 0 is greedy
  --top-k k            sample among the k most likely tokens
  --top-p p            sample from the smallest set reaching probability p
  --repetition-penalty r   > 1 discourages tokens already in the row
  --seed s             seed of the sampling RNG (same seed, same text); alone it keeps greedy
  --greedy             argmax (the default without sampling flags)
  --stop STR           end a row where its text shows STR (repeatable); the text stops before STR,
                       the ids keep the token that completed it
  --stream             print text as it is produced (one prompt)
${BACKEND}
${DTYPE}
  --json               print {"ids", "text", "prefill_ms", "decode_tokens_per_s"}: ids = prompt +
                       new ids per row, text = the new text per row (null without a tokenizer)`,
  eval: `usage: dcformer eval --model DIR --task NAME[,NAME] [--data FILE|DIR] [--limit N] [--max-length L]
                 [--stride S] [--batch-size B] [--backend B] [--json]

Scores the model on benchmarks with lm-evaluation-harness's definitions (@dcformer/eval), prints a
markdown table of metrics with standard errors (or JSON), and names items/s per task on stderr
(on a terminal, progress with rate and ETA: requests, or tokens for ppl).
  --model DIR       config.json + weights + tokenizer files (text tasks need the tokenizer)
  --task NAMES      comma-separated: lambada_openai, piqa, arc_easy, arc_challenge, winogrande,
                    hellaswag, boolq, dcformer_synthetic, ppl (a text file, or .jsonl of {"text"});
                    or alone, over token ids (no tokenizer needed):
                    loglikelihood  {"context_ids": [...], "continuation_ids": [...]} per line in,
                                   {"logprob": x, "is_greedy": bool} per line out
                    rolling        {"ids": [...]} per line in, {"logprob": x, "tokens": n} out;
                                   token 0 has no context and is not scored, every other token once
  --data FILE|DIR   the task's data file, or a folder laid out like shared/data/eval (needed for
                    several tasks at once); official PIQA reads valid-labels.lst next to valid.jsonl
  --limit N         only the first N items (lines) of each task
  --max-length L    most tokens fed per sequence (default: the model's block_size); longer
                    requests are truncated on the left, texts are scored in windows; an item
                    whose answer alone is longer cannot be scored: it is counted ("skipped"),
                    named in the notes and left out of the metrics
  --stride S        tokens scored per window after the first (1..L, default L: lm-eval's windows)
  --batch-size B    most sequences per forward (default 16; 1 on wasm, where batching only
                    adds padding)
${BACKEND}
${DTYPE}
  --json            print {"model", "results": [{"task", "format", "n", "skipped", "requests", "metrics":
                    {name: {"value", "stderr", "higher_is_better"}}, "notes", "seconds"}]}`,
  tokenize: `usage: dcformer tokenize --tokenizer PATH (--text TEXT | --file F | --jsonl F) [--specials all|none]
                 [--decode] [--json]

Text to token ids (no model, no BOS/EOS added); with --decode, token ids to text.
  --tokenizer PATH  a tokenizer.json(.gz), a SentencePiece .model, or a directory holding one of them
                    (or a single *tokenizer.json, e.g. 20B_tokenizer.json) or encoder.json + vocab.bpe
                    (tokenizer_config.json beside it sets bos/eos/pad)
  --text TEXT       prints the ids, space-separated
  --file F          the whole file (UTF-8) as one text: prints the ids; the count goes to stderr
  --jsonl F         one {"text": ...} per line in, one {"ids": [...]} per line out (blank lines skipped)
  --specials M      all | none: whether special tokens (e.g. <|endoftext|>) written in the text are
                    matched; default: the format's convention (tokenizer.json: matched; GPT-2 files
                    and .model: plain text). Non-special added tokens are always matched.
  --decode          the other way: --text / --file hold ids (spaces or commas, or a JSON array) and
                    the text is printed; --jsonl reads {"ids": [...]} and prints {"text": ...};
                    --specials none leaves special tokens out of the text
  --json            --text/--file print {"ids", "count"(, "bytes")} instead ({"text", "count"} with
                    --decode)

Output cut short by its reader (| head) ends quietly with exit 0.`,
  download: `usage: dcformer download org/name[@revision] [--json]

Fetches a model from the Hugging Face Hub into its cache without running it: config.json, the
tokenizer files, and the weights (every shard of a sharded index), as blobs + snapshot links like
the Hub's own cache ($HF_HUB_CACHE, default $HF_HOME/hub, default ~/.cache/huggingface/hub).
Partial files resume where they stopped; each file's size, and the sha256 the Hub reports for large
(LFS) files, are checked before it is moved into place. Prints the snapshot folder.
--model org/name[@revision] does the same on first use, in every command (a local path of that name
wins). HF_ENDPOINT sets the server; HF_HUB_OFFLINE=1 uses the cache only.
  --json          print {"path", "commit", "files", "downloaded"}`,
  quantize: `usage: dcformer quantize --model DIR --dtype int8|int4 [--group-size G] --out DIR2 [--json]

Weight-only quantisation: writes DIR2 with model.safetensors (for each weight matrix and the token
embedding, P.qweight — I8 [N,K] or U8 [N,K/2], two 4-bit weights per byte — and P.scales, F32
[N,K/G]; DCMHA's dyn_w_proj.dw1 / .dd as their transposes [4K,D] / [4N,D]; every other tensor F32
under its official name), config.json with a "quantization" block
(format, group_size, modules, layout) and the tokenizer files. Every command loads DIR2 in its format.
  --dtype D       int8 or int4 (16-bit storage: dcformer convert --dtype f16|bf16)
  --group-size G  weights per scale along the input dimension: a multiple of 32 that divides it
                  (default 64; the input dimension itself = one scale per output channel)
  --json          print {"out", "dtype", "group_size", "tokenizer_files", "seconds"}`,
  convert: `usage: dcformer convert --model DIR --out DIR2 [--dtype f32|f16|bf16] [--overwrite] [--backend B] [--json]

Reads any supported weights (model.safetensors or its sharded index, pytorch_model.bin or its sharded
index; F32/F16/BF16) and writes DIR2: config.json (official keys), model.safetensors (official
names) and the tokenizer files found in DIR. PyTorch files are read by a restricted unpickler that
refuses anything but tensors (no code runs). DIR2 appears only when complete.
  --model DIR     the checkpoint folder (or a training run folder: its latest checkpoint)
  --out DIR2      a new or empty folder; files are written atomically
  --dtype D       f32 (default), f16 or bf16: the storage type of the weights, rounded to nearest
                  even (compute is float32 whatever the storage)
  --overwrite     replace a non-empty DIR2, whole (without it, that is an error)
  --backend B     cpu | wasm | webgpu | cuda (default cpu: converting computes nothing, and wasm's
                  4 GiB heap cannot hold a large model)
  --json          print {"out", "tokenizer_files", "seconds"}`,
};

export function commandUsage(name: CommandName): string {
  return `${USAGE[name]}\n`;
}

/**
 * A command's opening: its flags parsed, or null after printing its usage for --help / -h (the
 * command then returns EXIT_OK). Unknown or malformed flags throw UsageError before help is read,
 * as parseArgs always has.
 */
export function commandFlags<S extends FlagSpecs>(
  name: CommandName,
  argv: readonly string[],
  specs: S,
  io: Io,
): ParsedFlags<S> | null {
  const flags = parseArgs(argv, specs);
  if (!flags.help) return flags;
  io.stdout.write(commandUsage(name));
  return null;
}

export function mainUsage(): string {
  return `usage: dcformer <command> [flags]     (dcformer help <command>, or <command> --help, for its flags)
       dcformer --version

commands:
  logits     logits of a full forward over token ids (JSON)
  grads      gradients of the mean next-token loss (safetensors)
  generate   text generation with the KV+KW cache
  eval       benchmarks and perplexity (lm-eval definitions), token-id scoring
  tokenize   text -> token ids (any supported tokenizer)
  convert    any supported weights -> safetensors
  quantize   weights -> int8 / int4 safetensors (weight-only, per-group scales)
  download   a model from the Hugging Face Hub into its cache (--model org/name does it too)

Errors are one line on stderr; exit codes: 0 ok, 1 bad input or model, 2 bad usage or not implemented.
DCF_DEBUG=1 adds stack traces to unexpected errors and keeps TensorFlow.js's own warnings.
`;
}
