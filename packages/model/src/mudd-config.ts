/**
 * The MUDD part of config.json (Caiyun-AI/MUDDFormer pytorch/muddformer/configuration_muddformer.py
 * and pytorch/muddpythia/configuration_muddpythia.py @ fc067b2) and the per-layer sizes its
 * constructors derive. Only type imports from config.ts: config.ts reads the tables below while it loads.
 *
 * The official PyTorch code runs one switch set only (dense, dynamic_dense, dense_type 'qkvr', sepln,
 * no stack_hidden); every other combination crashes there or is a plain Transformer (dense: false), so
 * it is refused here with the reason rather than guessed.
 */
import { ConfigError } from '@dcformer/kernels';
import type { ModelConfig, ModelFamily } from './config.js';

type MuddFamily = 'muddformer' | 'muddpythia';

export const MUDD_ARCHITECTURE: Record<MuddFamily, string> = { muddformer: 'MUDDFormer', muddpythia: 'MUDDPythia' };

/** Official MUDD keys parsed here (besides the shared ones in config.ts). */
export const MUDD_FIELD_KEYS = [
  'dense',
  'dynamic_dense',
  'dense_type',
  'sepln',
  'stack_hidden',
  'use_layer_cache',
  'expand_last',
  'round64',
] as const;

/** Official class defaults; use_dcmha / windows are this project's extensions and off by default. */
export function muddDefaults(family: MuddFamily) {
  const pythia = family === 'muddpythia';
  return {
    ropeBase: 10000,
    normEps: pythia ? 1e-5 : 1e-6,
    useQkNorm: false,
    useDcmha: false,
    keyWise: true,
    windowSize: null as number | null,
    windowType: null as ModelConfig['windowType'],
    qChunkSize: 128,
    mgate: false,
    mgateDim: 44,
    rotaryPct: pythia ? 0.25 : 1,
    useParallelResidual: pythia,
    useLinearBias: pythia,
  };
}

function shown(v: unknown): string {
  let text: string;
  try {
    text = JSON.stringify(v) ?? String(v);
  } catch {
    text = 'a deeply nested value'; // hostile config.json: JSON.stringify overflows its stack
  }
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

/**
 * Reads and checks the MUDD switches of an official config.json; returns the camelCase fields
 * config.ts keeps (`expandLast`, `round64`, raw for its own type checks).
 */
export function parseMuddSwitches(json: Record<string, unknown>, who: string): Record<string, unknown> {
  const required: [string, unknown, string][] = [
    [
      'dense',
      true,
      'dense: false is a plain Transformer in the official code; not implemented for MUDD models (use model_type dcformer / dcpythia with use_dcmha false)',
    ],
    ['dynamic_dense', true, 'static dense connections (dynamic_dense: false) crash in the official code'],
    ['dense_type', 'qkvr', "dense_type 'l' crashes in the official code"],
    ['sepln', true, 'sepln: false crashes in the official code'],
    ['stack_hidden', false, 'stack_hidden: true crashes in the official code'],
  ];
  for (const [key, want, why] of required) {
    const v = json[key];
    if (v !== undefined && v !== want) {
      throw new ConfigError(`${who}: '${key}' must be ${shown(want)} (${why}); got ${shown(v)}`, key);
    }
  }
  if (json.use_layer_cache !== undefined && typeof json.use_layer_cache !== 'boolean') {
    throw new ConfigError(
      `${who}: 'use_layer_cache' must be true or false; got ${shown(json.use_layer_cache)}`,
      'use_layer_cache',
    );
  }
  return { expandLast: json.expand_last, round64: json.round64 };
}

/** Checks that need the resolved config: what the official constructors cannot build. */
export function checkMudd(config: ModelConfig, who: string, name: (ts: string) => string): void {
  if (config.nLayer < 2) {
    throw new ConfigError(
      `${who}: '${name('nLayer')}' must be at least 2 for ${config.family} (the FFN width formula divides by n_layer - 1; the official code crashes); got ${config.nLayer}`,
      name('nLayer'),
    );
  }
  const widths = ffnWidths(config);
  const zero = widths.indexOf(0);
  if (zero >= 0) {
    throw new ConfigError(
      `${who}: '${name('intermediateSize')}' ${config.intermediateSize} gives layer ${zero} an FFN width of 0 (128·round(F·(i/(L−1)+0.5)/128)); use at least 256`,
      name('intermediateSize'),
    );
  }
}

/** Python's round(): half to even. */
function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** FeedForward hidden width per layer: 128·round(F·(i/(L−1) + 0.5) / 128), Python float arithmetic. */
export function ffnWidths(config: Pick<ModelConfig, 'nLayer' | 'intermediateSize'>): number[] {
  const { nLayer: L, intermediateSize: F } = config;
  return Array.from({ length: L }, (_, i) => roundHalfEven((F * (i / (L - 1) + 0.5)) / 128) * 128);
}

/** Per MUDD connection i: streams C_i (4, or 1 after the last block), inputs L_i = i + 2, hidden width. */
export function muddSizes(config: ModelConfig): { C: number; L: number; hidden: number }[] {
  return Array.from({ length: config.nLayer }, (_, i) => {
    const last = i === config.nLayer - 1;
    const C = last ? 1 : 4;
    const L = i + 2;
    let hidden = C * L;
    if (last && config.expandLast) hidden *= 4;
    if (config.round64) hidden = (Math.floor(hidden / 64) + 1) * 64;
    return { C, L, hidden };
  });
}

/** The official config.json of a MUDD model (keys as the released configs, plus this project's extensions when set). */
export function muddJson(c: ModelConfig, arch: string): Record<string, unknown> {
  const family = c.family as ModelFamily;
  const out: Record<string, unknown> = {
    architectures: [arch],
    auto_map: {
      AutoConfig: `configuration_${family}.${arch}Config`,
      AutoModelForCausalLM: `modeling_${family}.${arch}`,
    },
    block_size: c.blockSize,
    dense: true,
    dense_type: 'qkvr',
    dim: c.dim,
    dynamic_dense: true,
    expand_last: c.expandLast ?? false,
    head_dim: c.headDim,
    intermediate_size: c.intermediateSize,
    is_training: false,
    model_type: family,
    n_head: c.nHead,
    n_layer: c.nLayer,
    n_local_heads: c.nHead,
    norm_eps: c.normEps,
    rope_base: c.ropeBase,
    round64: c.round64 ?? false,
    sepln: true,
    stack_hidden: false,
    tie_word_embeddings: false,
    torch_dtype: 'float32',
    use_gradient_checkpointing: false,
    use_layer_cache: true,
    use_qk_norm: c.useQkNorm,
    vocab_size: c.vocabSize,
  };
  if (family === 'muddpythia') {
    Object.assign(out, {
      rotary_pct: c.rotaryPct,
      use_linear_bias: c.useLinearBias,
      use_parallel_residual: c.useParallelResidual,
    });
  }
  // Extensions the official code does not have: written only when they change the model.
  if (c.useDcmha) out.use_dcmha = true;
  if (!c.keyWise) out.query_wise = true;
  if (c.qChunkSize !== 128) out.q_chunk_size = c.qChunkSize;
  if (c.windowSize !== null) out.window_size = c.windowSize;
  if (c.windowType !== null) out.window_type = c.windowType;
  return out;
}

/**
 * The MUDD counterpart of a DCFormer / DCPythia config for side-by-side training (`--compare mudd`):
 * the same widths, depth, vocabulary, norms and RoPE; the FFN base width `intermediate_size` (MUDD
 * scales it per layer from 0.5× to 1.5×, so the mean width stays close); the released MUDD switches
 * (expand_last, round64). With `dcmha`, DCMHA's Compose in every block on the source's windows;
 * without it plain global attention, as the official MUDD code.
 */
export function muddCounterpart(config: ModelConfig, options: { dcmha?: boolean } = {}): Record<string, unknown> {
  const pythia = config.family === 'dcpythia' || config.family === 'muddpythia';
  const dcmha = options.dcmha === true;
  const { expandLast: _e, round64: _r, headDim: _h, queryWise: _q, ...rest } = config;
  return {
    ...rest,
    family: pythia ? 'muddpythia' : 'muddformer',
    mgate: false,
    useDcmha: dcmha,
    windowSize: dcmha ? config.windowSize : null,
    windowType: dcmha ? config.windowType : null,
    expandLast: true,
    round64: true,
  };
}
