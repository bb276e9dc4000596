/**
 * Model configs: the official Hugging Face `config.json` (snake_case keys, Caiyun-AI/DCFormer
 * pytorch/dcformer/configuration_dcformer.py and pytorch/dcpythia/configuration_dcpythia.py @ df8671f)
 * in, a fully resolved camelCase `ModelConfig` out, and back. No tensors here.
 *
 * Defaults are the official classes' defaults, so a config.json that omits a key means what it means
 * to the official code. Two deliberate differences (DESIGN.md "Config", docs/dcmha.md):
 * `head_dim` is always dim / n_head, and windowed layers use `window_size`, never the reference's
 * hard-coded 256 in its window_type table.
 *
 * MUDDFormer / MUDDPythia (Caiyun-AI/MUDDFormer pytorch/muddformer/configuration_muddformer.py and
 * pytorch/muddpythia/configuration_muddpythia.py @ fc067b2) share these fields; their own switches
 * (`dense`, `dynamic_dense`, `dense_type`, `sepln`, `stack_hidden`, `expand_last`, `round64`) are
 * read in mudd.ts. There `use_dcmha`, `window_size` and friends are this project's extensions.
 */
import { describeValue } from '@dcformer/checkpoint';
import { ConfigError } from '@dcformer/kernels';
import {
  MUDD_ARCHITECTURE,
  MUDD_FIELD_KEYS,
  muddDefaults,
  muddJson,
  parseMuddSwitches,
  checkMudd,
} from './mudd-config.js';

export type ModelFamily = 'dcformer' | 'dcpythia' | 'muddformer' | 'muddpythia';
export type WindowType = 'LG' | 'LGLL' | 'LGL6' | null;

/** Resolved config: every derived field filled in. Build one with `parseConfig` or `resolveConfig`. */
export interface ModelConfig {
  family: ModelFamily;
  dim: number;
  nHead: number;
  nLayer: number;
  /** Always dim / nHead. */
  headDim: number;
  /** SwiGLU (DCFormer) or GELU-MLP (DCPythia) hidden width. */
  intermediateSize: number;
  vocabSize: number;
  blockSize: number;
  ropeBase: number;
  normEps: number;
  useQkNorm: boolean;
  /** false: plain multi-head attention (Transformer++ / Pythia), no Compose. */
  useDcmha: boolean;
  /** Query-side Compose terms (qw1/qw2, qdd). No official key turns them off, so always true. */
  queryWise: boolean;
  /** Key-side Compose terms (kw1/kw2, kdd). Official `query_wise: true` means keyWise = false. */
  keyWise: boolean;
  /** null: every layer global. */
  windowSize: number | null;
  windowType: WindowType;
  qChunkSize: number;
  mgate: boolean;
  mgateDim: number;
  rotaryPct: number;
  useParallelResidual: boolean;
  useLinearBias: boolean;
  /** MUDD only (absent otherwise): the last layer's dynamic-dense hidden width ×4. */
  expandLast?: boolean;
  /** MUDD only (absent otherwise): dynamic-dense hidden width rounded up to (h // 64 + 1)·64. */
  round64?: boolean;
}

/** MUDDFormer / MUDDPythia: dynamic dense connections instead of the residual stream. */
export function isMudd(config: { family: ModelFamily }): boolean {
  return config.family === 'muddformer' || config.family === 'muddpythia';
}

/** LayerNorm + biases + GELU MLP (DCPythia, MUDDPythia) rather than RMSNorm + SwiGLU. */
export function isPythiaLike(config: { family: ModelFamily }): boolean {
  return config.family === 'dcpythia' || config.family === 'muddpythia';
}

export interface ParseConfigOptions {
  /** Receives non-fatal findings (unknown keys, ignored values). Default: console.warn. */
  onWarning?: (message: string) => void;
}

type Warn = (message: string) => void;
type Kind = 'posInt' | 'posIntOrNull' | 'posNumber' | 'bool' | 'fraction' | 'windowType';
type FieldKey = Exclude<keyof ModelConfig, 'family' | 'headDim' | 'queryWise' | 'keyWise' | 'expandLast' | 'round64'>;

/** camelCase field, official key, accepted values. Fields not listed here are handled by hand. */
const FIELDS: readonly { ts: FieldKey; json: string; kind: Kind }[] = (
  [
    ['dim', 'dim', 'posInt'],
    ['nHead', 'n_head', 'posInt'],
    ['nLayer', 'n_layer', 'posInt'],
    ['intermediateSize', 'intermediate_size', 'posIntOrNull'],
    ['vocabSize', 'vocab_size', 'posInt'],
    ['blockSize', 'block_size', 'posInt'],
    ['ropeBase', 'rope_base', 'posNumber'],
    ['normEps', 'norm_eps', 'posNumber'],
    ['useQkNorm', 'use_qk_norm', 'bool'],
    ['useDcmha', 'use_dcmha', 'bool'],
    ['windowSize', 'window_size', 'posIntOrNull'],
    ['windowType', 'window_type', 'windowType'],
    ['qChunkSize', 'q_chunk_size', 'posInt'],
    ['mgate', 'mgate', 'bool'],
    ['mgateDim', 'mgate_dim', 'posInt'],
    ['rotaryPct', 'rotary_pct', 'fraction'],
    ['useParallelResidual', 'use_parallel_residual', 'bool'],
    ['useLinearBias', 'use_linear_bias', 'bool'],
  ] as const
).map(([ts, json, kind]) => ({ ts, json, kind }));
const REQUIRED: readonly FieldKey[] = ['dim', 'nHead', 'nLayer', 'vocabSize', 'blockSize'];

/**
 * Upper bounds, checked while parsing, before anything is sized from them (per-layer lists, weight
 * tables, the memory estimate): config.json comes from strangers, and `n_layer: 2**40` must be an
 * error, not an hour of list building. Each is far beyond any published model (GPT-3: 96 layers,
 * dim 12288; the largest vocabularies ~256k; the longest contexts ~1M tokens).
 */
export const CONFIG_LIMITS: Readonly<Partial<Record<FieldKey, number>>> = {
  dim: 1 << 16,
  nHead: 1 << 10,
  nLayer: 1 << 10,
  intermediateSize: 1 << 20,
  vocabSize: 1 << 22,
  blockSize: 1 << 22,
  windowSize: 1 << 22,
  qChunkSize: 1 << 22,
  mgateDim: 1 << 20,
  ropeBase: 1e12,
  normEps: 1,
};
const JSON_NAME: Record<string, string> = {
  ...Object.fromEntries(FIELDS.map((f) => [f.ts, f.json])),
  keyWise: 'query_wise',
  headDim: 'head_dim',
  expandLast: 'expand_last',
  round64: 'round64',
};

/** Written by HF / the official scripts; they do not change the model, so they are accepted unread. */
const BOOKKEEPING = new Set([
  'architectures',
  'auto_map',
  'model_type',
  'torch_dtype',
  'quantization', // a quantised checkpoint's layout; loadModel reads it (compact-load.ts)
  'transformers_version',
  'is_training',
  'use_gradient_checkpointing',
  'prefill_pad',
  'tie_word_embeddings',
  'bos_token_id',
  'eos_token_id',
  'pad_token_id',
  'n_local_heads',
  'head_dim',
  'query_wise',
]);

const ALLOWED: Record<Kind, string> = {
  posInt: 'a positive integer',
  posIntOrNull: 'a positive integer or null',
  posNumber: 'a positive finite number',
  bool: 'true or false',
  fraction: 'a number in (0, 1]',
  windowType: 'null, "LG", "LGLL" or "LGL6"',
};

const WINDOW_PATTERN: Record<'LG' | 'LGLL' | 'LGL6', readonly boolean[]> = {
  // true = local. docs/dcmha.md "Windows"; window_type null behaves as "LG".
  LG: [true, false],
  LGLL: [true, false, true, true],
  LGL6: [true, false, true, true, true, true, true, true],
};

const ARCHITECTURE: Record<ModelFamily, string> = { dcformer: 'DCFormer', dcpythia: 'DCPythia', ...MUDD_ARCHITECTURE };
const FAMILIES = Object.keys(ARCHITECTURE) as ModelFamily[];
const FAMILY_LIST = '"dcformer", "dcpythia", "muddformer" or "muddpythia"';

/**
 * Official class defaults: configuration_dcformer.py L29-43, configuration_dcpythia.py L22-35.
 * rope_base: 10000 as in configuration_dcpythia.py L22 and the Hub copy of configuration_dcformer.py;
 * the GitHub configuration_dcformer.py L28 says 500000, matching only its 8B config.json.
 */
function familyDefaults(family: ModelFamily) {
  if (family === 'muddformer' || family === 'muddpythia') return muddDefaults(family);
  const pythia = family === 'dcpythia';
  return {
    ropeBase: 10000,
    normEps: 1e-5,
    useQkNorm: false,
    useDcmha: true,
    keyWise: true,
    windowSize: 256 as number | null,
    windowType: null as WindowType,
    qChunkSize: 128,
    mgate: false,
    mgateDim: 44,
    rotaryPct: pythia ? 0.25 : 1,
    useParallelResidual: pythia,
    useLinearBias: pythia,
  };
}

function fail(who: string, key: string, allowed: string, got: unknown): never {
  throw new ConfigError(`${who}: '${key}' must be ${allowed}; got ${describeValue(got)}`, key);
}

function checkKind(who: string, key: string, kind: Kind, v: unknown, max = Number.POSITIVE_INFINITY): unknown {
  if (typeof v === 'number' && v > max && (kind === 'posInt' || kind === 'posIntOrNull' || kind === 'posNumber')) {
    fail(who, key, `${ALLOWED[kind]} at most ${max}`, v);
  }
  const ok =
    kind === 'posInt'
      ? typeof v === 'number' && Number.isInteger(v) && v >= 1
      : kind === 'posIntOrNull'
        ? v === null || (typeof v === 'number' && Number.isInteger(v) && v >= 1)
        : kind === 'posNumber'
          ? typeof v === 'number' && Number.isFinite(v) && v > 0
          : kind === 'bool'
            ? typeof v === 'boolean'
            : kind === 'fraction'
              ? typeof v === 'number' && v > 0 && v <= 1
              : v === null || v === 'LG' || v === 'LGLL' || v === 'LGL6';
  if (!ok) fail(who, key, ALLOWED[kind], v);
  return v;
}

/** One warning for all of them, so a config from a newer exporter does not flood the log. */
function warnUnknown(who: string, keys: string[], warn: Warn): void {
  if (keys.length > 0) warn(`${who}: ignoring unknown keys ${keys.map((k) => `'${k}'`).join(', ')}`);
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function findMultiple(n: number, k: number): number {
  return n % k === 0 ? n : n + k - (n % k);
}

/** The reference's rank I of the dynamic projection: N // (N // 2) (2 for every even N). */
export function dynamicRank(nHead: number): number {
  if (!Number.isInteger(nHead) || nHead < 2) {
    fail('dynamicRank', 'nHead', 'an integer >= 2 (the dynamic projection has N // 2 groups)', nHead);
  }
  return Math.floor(nHead / Math.floor(nHead / 2));
}

/** RoPE width per head: the whole head for DCFormer, int(headDim * rotaryPct) for DCPythia. */
export function rotaryDims(config: ModelConfig): number {
  return ropeWidth(config.family, config.headDim, config.rotaryPct);
}

function ropeWidth(family: ModelFamily, headDim: number, rotaryPct: number): number {
  const pythia = family === 'dcpythia' || family === 'muddpythia';
  return pythia ? Math.floor(headDim * rotaryPct) : headDim; // Python int() of a positive float
}

/** Per layer: the window W of a local layer, or null for a global one. */
export function layerWindows(config: ModelConfig): (number | null)[] {
  const w = config.windowSize;
  const pattern = WINDOW_PATTERN[config.windowType ?? 'LG'];
  return Array.from({ length: config.nLayer }, (_, i) => (w !== null && pattern[i % pattern.length] ? w : null));
}

/** The FIELDS-table fields of a config, as read (intermediateSize null = derive it). */
type Fields = Omit<ModelConfig, 'family' | 'headDim' | 'queryWise' | 'keyWise' | 'intermediateSize'> & {
  intermediateSize: number | null;
};
type KeyName = (ts: string) => string;

/**
 * Shared validation. `raw` holds camelCase fields (undefined = absent); `name` maps a field to the
 * key the caller wrote, so messages quote the user's own spelling. The checks run in a fixed order
 * (fields, heads, family rules, RoPE, MUDD), so a config with several mistakes always names the same one.
 */
function build(family: ModelFamily, raw: Record<string, unknown>, name: KeyName, who: string, warn: Warn): ModelConfig {
  const d = familyDefaults(family);
  const c = readFields(raw, name, who, d);
  const keyWise = raw.keyWise === undefined ? d.keyWise : checkKind(who, name('keyWise'), 'bool', raw.keyWise);
  if (raw.queryWise !== undefined && raw.queryWise !== true) {
    fail(who, name('queryWise'), 'true (the official config has no key that turns the query side off)', raw.queryWise);
  }
  const headDim = checkHeads(c, raw, name, who, warn);
  const { intermediateSize, mgateDim } = familySizes(family, c, name, who, d.mgateDim);
  checkRope(family, headDim, c, name, who);
  if (c.windowType !== null && c.windowSize === null) {
    warn(
      `${who}: '${name('windowType')}' ${JSON.stringify(c.windowType)} has no effect: '${name('windowSize')}' is null, so every layer is global`,
    );
  }
  const config: ModelConfig = {
    family,
    ...c,
    headDim,
    intermediateSize,
    queryWise: true,
    keyWise: keyWise as boolean,
    mgateDim,
  };
  muddSettings(config, raw, name, who);
  return config;
}

/** Every FIELDS entry: the given value checked against its kind and limits, or the family default. */
function readFields(
  raw: Record<string, unknown>,
  name: KeyName,
  who: string,
  d: ReturnType<typeof familyDefaults>,
): Fields {
  const v: Record<string, unknown> = {};
  for (const f of FIELDS) {
    const given = raw[f.ts];
    if (given === undefined) {
      if (REQUIRED.includes(f.ts)) {
        throw new ConfigError(`${who}: '${name(f.ts)}' is required (${ALLOWED[f.kind]}) but is missing`, name(f.ts));
      }
      v[f.ts] = f.ts === 'intermediateSize' ? null : d[f.ts as keyof typeof d];
    } else {
      v[f.ts] = checkKind(who, name(f.ts), f.kind, given, CONFIG_LIMITS[f.ts]);
    }
  }
  return v as Fields;
}

/** head_dim = dim / n_head (a given head_dim is ignored with a warning); DCMHA needs n_head ≥ 2. */
function checkHeads(c: Fields, raw: Record<string, unknown>, name: KeyName, who: string, warn: Warn): number {
  const [dim, nHead] = [c.dim, c.nHead];
  if (dim % nHead !== 0) fail(who, name('dim'), `divisible by '${name('nHead')}' (${nHead})`, dim);
  const headDim = dim / nHead;
  if (raw.headDim !== undefined && raw.headDim !== headDim) {
    warn(
      `${who}: '${name('headDim')}' is ignored; head_dim is always dim / n_head = ${headDim}; got ${describeValue(raw.headDim)}`,
    );
  }
  if (c.useDcmha && nHead < 2) {
    fail(
      who,
      name('nHead'),
      `at least 2 when '${name('useDcmha')}' is true (the dynamic projection needs n_head // 2 >= 1)`,
      nHead,
    );
  }
  return headDim;
}

/** The FFN width and mgate width of the family, with the settings only one family may change refused elsewhere. */
function familySizes(
  family: ModelFamily,
  c: Fields,
  name: KeyName,
  who: string,
  defaultMgateDim: number,
): { intermediateSize: number; mgateDim: number } {
  // configuration_dcformer.py L71-74 / configuration_dcpythia.py L65-66
  const pythia = family === 'dcpythia' || family === 'muddpythia';
  const mudd = family === 'muddformer' || family === 'muddpythia';
  const dim = c.dim;
  const intermediateSize = c.intermediateSize ?? (pythia ? 4 * dim : findMultiple(Math.trunc((2 * 4 * dim) / 3), 256));
  let mgateDim = c.mgateDim;
  if (pythia || mudd) {
    if (c.mgate)
      fail(who, name('mgate'), `false for ${family} (${pythia ? 'its MLP has no gate' : 'not implemented'})`, true);
    mgateDim = defaultMgateDim; // meaningless without a gate; one canonical value keeps round trips exact
  }
  if (!pythia) {
    for (const [key, fixed] of [
      ['rotaryPct', 1],
      ['useParallelResidual', false],
      ['useLinearBias', false],
    ] as const) {
      if (c[key] !== fixed) fail(who, name(key), `${fixed} for ${family} (a Pythia-only setting)`, c[key]);
    }
    if (!mudd && c.mgate && intermediateSize % mgateDim !== 0) {
      fail(
        who,
        name('intermediateSize'),
        `a multiple of '${name('mgateDim')}' (${mgateDim}) when '${name('mgate')}' is true`,
        intermediateSize,
      );
    }
  }
  return { intermediateSize, mgateDim };
}

/** The RoPE width per head must be even and ≥ 2. */
function checkRope(family: ModelFamily, headDim: number, c: Fields, name: KeyName, who: string): void {
  const pythia = family === 'dcpythia' || family === 'muddpythia';
  const rotary = ropeWidth(family, headDim, c.rotaryPct);
  if (rotary % 2 !== 0 || rotary < 2) {
    const which = !pythia
      ? `dim / n_head = ${c.dim} / ${c.nHead} = ${headDim}`
      : `int(${headDim} * ${c.rotaryPct}) = ${rotary}`;
    const key = !pythia ? name('dim') : name('rotaryPct');
    throw new ConfigError(`${who}: '${key}' must give an even RoPE width >= 2; got ${which}`, key);
  }
}

/** MUDD's own switches (expandLast, round64) and checks; refused on the other families. */
function muddSettings(config: ModelConfig, raw: Record<string, unknown>, name: KeyName, who: string): void {
  if (isMudd(config)) {
    config.expandLast =
      raw.expandLast === undefined ? false : (checkKind(who, name('expandLast'), 'bool', raw.expandLast) as boolean);
    config.round64 =
      raw.round64 === undefined ? false : (checkKind(who, name('round64'), 'bool', raw.round64) as boolean);
    checkMudd(config, who, name);
  } else {
    for (const key of ['expandLast', 'round64'] as const) {
      if (raw[key] !== undefined) fail(who, name(key), `absent for ${config.family} (a MUDD-only setting)`, raw[key]);
    }
  }
}

function familyOf(json: Record<string, unknown>): ModelFamily {
  const who = 'config.json';
  let fromType: ModelFamily | undefined;
  let fromArch: ModelFamily | undefined;
  if (json.model_type !== undefined) {
    if (!FAMILIES.includes(json.model_type as ModelFamily)) fail(who, 'model_type', FAMILY_LIST, json.model_type);
    fromType = json.model_type as ModelFamily;
  }
  if (json.architectures !== undefined) {
    const a = json.architectures;
    const found =
      Array.isArray(a) && a.length === 1
        ? (Object.keys(ARCHITECTURE) as ModelFamily[]).find((f) => ARCHITECTURE[f] === a[0])
        : undefined;
    if (!found) fail(who, 'architectures', '["DCFormer"], ["DCPythia"], ["MUDDFormer"] or ["MUDDPythia"]', a);
    fromArch = found;
  }
  if (fromType && fromArch && fromType !== fromArch) {
    throw new ConfigError(
      `${who}: 'model_type' "${fromType}" and 'architectures' ["${ARCHITECTURE[fromArch]}"] disagree`,
      'model_type',
    );
  }
  const family = fromType ?? fromArch;
  if (family) return family;
  throw new ConfigError(
    `${who}: cannot tell the model family: 'model_type' (${FAMILY_LIST}) and 'architectures' (["DCFormer"], ["DCPythia"], ["MUDDFormer"] or ["MUDDPythia"]) are both missing`,
    'model_type',
  );
}

/** Official HF config.json object (already JSON-parsed) -> resolved ModelConfig. Throws ConfigError. */
export function parseConfig(json: unknown, options: ParseConfigOptions = {}): ModelConfig {
  const who = 'config.json';
  const warn = options.onWarning ?? ((m: string) => console.warn(m));
  if (!isRecord(json)) fail(who, '(top level)', 'a JSON object', json);
  const family = familyOf(json);
  if (json.tie_word_embeddings !== undefined && json.tie_word_embeddings !== false) {
    fail(who, 'tie_word_embeddings', 'false (the models have a separate output matrix)', json.tie_word_embeddings);
  }
  const mudd = family === 'muddformer' || family === 'muddpythia';
  const known = new Set([...FIELDS.map((f) => f.json), ...(mudd ? MUDD_FIELD_KEYS : [])]);
  warnUnknown(
    who,
    Object.keys(json).filter((k) => !known.has(k) && !BOOKKEEPING.has(k)),
    warn,
  );

  const raw: Record<string, unknown> = {};
  for (const f of FIELDS) raw[f.ts] = json[f.json];
  if (json.query_wise !== undefined) raw.keyWise = !checkKind(who, 'query_wise', 'bool', json.query_wise);
  raw.headDim = json.head_dim;
  if (mudd) Object.assign(raw, parseMuddSwitches(json, who));
  const config = build(family, raw, (ts) => JSON_NAME[ts] ?? ts, who, warn);
  const local = json.n_local_heads;
  if (local !== undefined && local !== -1 && local !== config.nHead) {
    fail(who, 'n_local_heads', `-1 or 'n_head' (${config.nHead}); grouped-query attention is unsupported`, local);
  }
  return config;
}

const TS_KEYS = new Set<string>([
  'family',
  'headDim',
  'queryWise',
  'keyWise',
  'expandLast',
  'round64',
  ...FIELDS.map((f) => f.ts),
]);

/** Build a ModelConfig from camelCase fields (defaults as for config.json), validated the same way. */
export function resolveConfig(
  partial: Partial<ModelConfig> & { family?: ModelFamily },
  options: ParseConfigOptions = {},
): ModelConfig {
  const who = 'resolveConfig';
  const warn = options.onWarning ?? ((m: string) => console.warn(m));
  if (!isRecord(partial)) fail(who, '(argument)', 'an object', partial);
  const family = partial.family ?? 'dcformer';
  if (!FAMILIES.includes(family)) fail(who, 'family', FAMILY_LIST, family);
  warnUnknown(
    who,
    Object.keys(partial).filter((k) => !TS_KEYS.has(k)),
    warn,
  );
  return build(family, partial as Record<string, unknown>, (ts) => ts, who, warn);
}

/** ModelConfig -> official config.json keys (sorted, as HF writes them). parseConfig inverts it. */
export function configToJson(config: ModelConfig): Record<string, unknown> {
  const c = resolveConfig(config, { onWarning: () => {} }); // refuse to write what could not be read back
  const arch = ARCHITECTURE[c.family];
  if (c.family === 'muddformer' || c.family === 'muddpythia') return sortKeys(muddJson(c, arch));
  const out: Record<string, unknown> = {
    architectures: [arch],
    auto_map: {
      AutoConfig: `configuration_${c.family}.${arch}Config`,
      AutoModelForCausalLM: `modeling_${c.family}.${arch}`,
    },
    block_size: c.blockSize,
    dim: c.dim,
    head_dim: c.headDim,
    intermediate_size: c.intermediateSize,
    is_training: false,
    model_type: c.family,
    n_head: c.nHead,
    n_layer: c.nLayer,
    n_local_heads: c.nHead,
    norm_eps: c.normEps,
    q_chunk_size: c.qChunkSize,
    query_wise: !c.keyWise,
    rope_base: c.ropeBase,
    tie_word_embeddings: false,
    torch_dtype: 'float32',
    use_dcmha: c.useDcmha,
    use_gradient_checkpointing: false,
    use_qk_norm: c.useQkNorm,
    vocab_size: c.vocabSize,
    window_size: c.windowSize,
    window_type: c.windowType,
  };
  if (c.family === 'dcformer') {
    Object.assign(out, { mgate: c.mgate, mgate_dim: c.mgateDim, prefill_pad: true });
  } else {
    Object.assign(out, {
      rotary_pct: c.rotaryPct,
      use_linear_bias: c.useLinearBias,
      use_parallel_residual: c.useParallelResidual,
    });
  }
  return sortKeys(out);
}

function sortKeys(out: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(out).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}
