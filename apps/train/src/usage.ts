/** Flags and help text of dcformer-train (DESIGN.md "Command-line contracts"). */
import { TRAIN_PRESETS } from '@dcformer/train';

export const FLAGS = {
  help: 'boolean',
  version: 'boolean',
  preset: 'string',
  config: 'string',
  data: 'list',
  out: 'string',
  tokenizer: 'string',
  steps: 'integer',
  resume: 'boolean',
  extend: 'boolean',
  overwrite: 'boolean',
  compare: 'string',
  'compare-mha': 'boolean',
  seed: 'integer',
  backend: 'string',
  json: 'boolean',
  'init-from': 'string',
  'batch-size': 'integer',
  'seq-len': 'integer',
  accumulate: 'integer',
  lr: 'number',
  warmup: 'integer',
  'final-lr-fraction': 'number',
  clip: 'number',
  'weight-decay': 'number',
  decay: 'string',
  'eval-every': 'integer',
  'eval-batches': 'integer',
  'log-every': 'integer',
  'checkpoint-every': 'integer',
  keep: 'integer',
  'max-skips': 'integer',
  'val-fraction': 'number',
  'cache-dir': 'string',
  'bin-dtype': 'string',
  'sample-tokens': 'integer',
  prompt: 'string',
  temperature: 'number',
  progress: 'string',
} as const;

/** RunSettings field → the flag that sets it (error messages quote the flag). */
export const SETTING_FLAGS = {
  seed: 'seed',
  batchSize: 'batch-size',
  seqLen: 'seq-len',
  accumulate: 'accumulate',
  steps: 'steps',
  lr: 'lr',
  warmupSteps: 'warmup',
  finalLrFraction: 'final-lr-fraction',
  clip: 'clip',
  weightDecay: 'weight-decay',
  decay: 'decay',
  evalEvery: 'eval-every',
  evalBatches: 'eval-batches',
  logEvery: 'log-every',
  checkpointEvery: 'checkpoint-every',
  keep: 'keep',
  maxSkips: 'max-skips',
  valFraction: 'val-fraction',
} as const;

export function usage(): string {
  const presets = Object.entries(TRAIN_PRESETS)
    .map(([name, p]) => `  ${name.padEnd(16)} ${p.about}`)
    .join('\n');
  return `dcformer-train: train a DCFormer++ (or Transformer++) language model from text

usage: dcformer-train (--preset NAME | --config FILE) --data PATH [--data PATH ...] --out DIR [options]

  --preset NAME        a named model + tokenizer + hyper-parameters (below)
  --config FILE        a model config.json (official keys); hyper-parameters from flags
  --data PATH          text file, JSONL ({"text": ...} per line), directory of those, or a
                       pre-tokenized .bin (uint16/uint32 ids); repeatable
  --out DIR            run directory: metrics.jsonl, loss.svg, checkpoints/step-NNNNNN/
  --tokenizer PATH     tokenizer.json / .model / encoder.json / directory (default: the preset's)
  --steps N            optimizer steps (the schedule's length)
  --resume             continue the run in --out from its latest checkpoint, exactly (a finished
                       run says so and does nothing)
  --extend             with --resume --steps N: train a run on to N steps, its learning-rate
                       schedule recomputed for N (the new rate of the next step is stated)
  --overwrite          start afresh in an --out that holds a run (its checkpoints and logs are
                       deleted; the token cache is kept)
  --compare LIST       train DCFormer++ and, on the same seed and data, each of LIST (comma-separated):
                       mha (Transformer++, use_dcmha false), mudd (MUDDFormer: dynamic dense
                       connections, global attention), mudd-dcmha (MUDDFormer with DCMHA); one plot,
                       one table with validation loss at equal steps and at equal wall time (runs in
                       DIR/dcformer, DIR/transformer, DIR/muddformer, DIR/mudd-dcmha)
  --compare-mha        the same as --compare mha
  --init-from DIR      start from a model directory's weights (fine-tuning)
  --seed S             model init, data order and sampling (default 0)
  --backend B          cpu | wasm | webgpu | cuda (default: cpu with @dcformer/kernels-cpu's native
                       kernels, or wasm when they are not built; webgpu: a GPU through Dawn, or
                       SwiftShader without one, which is correct but slow; cuda: an NVIDIA GPU
                       through @dcformer/kernels-cuda's device addon)
  --json               one JSON object per log line on stdout, then a summary
  --version            print the version and exit

hyper-parameters (defaults from the preset):
  --batch-size B --seq-len T --accumulate K --lr X --warmup N --final-lr-fraction F --clip C
  --weight-decay W --decay matrices|all|none --eval-every N --eval-batches N --log-every N
  --checkpoint-every N --keep K --max-skips K --val-fraction F

data and output:
  --cache-dir DIR      token cache (default DIR/cache)
  --bin-dtype uint16|uint32   element type of .bin inputs (default: by vocabulary size)
  --sample-tokens N    tokens of sample text at the end (0: none)   --prompt TEXT   --temperature T
  --progress bar|lines|none   (default: bar on a terminal, lines otherwise)

presets:
${presets}

Ctrl-C stops after the current step and writes a checkpoint; --resume continues from it.
`;
}
