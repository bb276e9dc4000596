import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ConfigError } from '@dcformer/kernels';
import {
  configToJson,
  dynamicRank,
  layerWindows,
  parseConfig,
  resolveConfig,
  rotaryDims,
  type ModelConfig,
} from '../src/config.js';
import { PRESETS, presetConfig } from '../src/presets.js';

// The repository's copy of the golden fixtures (DESIGN.md "Golden data"), resolved from this file. They are
// committed, so a missing file fails the tests below rather than skipping them.
const FIXTURES = fileURLToPath(new URL('../../../fixtures/oracle', import.meta.url));

function fixture(name: string): Record<string, unknown> {
  return JSON.parse(readFileSync(`${FIXTURES}/${name}/config.json`, 'utf8')) as Record<string, unknown>;
}

/** Parse and collect warnings instead of printing them. */
function parse(json: unknown): { config: ModelConfig; warnings: string[] } {
  const warnings: string[] = [];
  const config = parseConfig(json, { onWarning: (m) => warnings.push(m) });
  return { config, warnings };
}

/** The ConfigError thrown by fn (fails the test when fn does not throw one). */
function configError(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return e as ConfigError;
  }
  throw new Error('expected a ConfigError, nothing was thrown');
}

const MIN_DCFORMER = { model_type: 'dcformer', dim: 64, n_head: 4, n_layer: 2, vocab_size: 128, block_size: 64 };
const MIN_DCPYTHIA = { ...MIN_DCFORMER, model_type: 'dcpythia' };
const noWarn = { onWarning: () => {} };

// Hub config.json of the released checkpoints (Caiyun-AI/DCFormer-2.8B and Caiyun-AI/DCPythia-6.9B, main).
const HUB_DCFORMER_2_8B = {
  architectures: ['DCFormer'],
  auto_map: { AutoConfig: 'configuration_dcformer.DCFormerConfig', AutoModelForCausalLM: 'modeling_dcformer.DCFormer' },
  block_size: 2048,
  bos_token_id: 1,
  dim: 2560,
  eos_token_id: 2,
  head_dim: 80,
  intermediate_size: 6912,
  is_training: false,
  model_type: 'dcformer',
  n_head: 32,
  n_layer: 32,
  n_local_heads: 32,
  norm_eps: 1e-6,
  q_chunk_size: 128,
  query_wise: false,
  rope_base: 10000,
  tie_word_embeddings: false,
  torch_dtype: 'float16',
  transformers_version: '4.33.2',
  use_dcmha: true,
  use_gradient_checkpointing: false,
  use_qk_norm: true,
  vocab_size: 50257,
  window_size: 256,
  window_type: null,
};
const HUB_DCPYTHIA_6_9B = {
  architectures: ['DCPythia'],
  auto_map: { AutoConfig: 'configuration_dcpythia.DCPythiaConfig', AutoModelForCausalLM: 'modeling_dcpythia.DCPythia' },
  block_size: 2048,
  bos_token_id: 0,
  dim: 4096,
  eos_token_id: 0,
  head_dim: 128,
  intermediate_size: 16384,
  is_training: false,
  model_type: 'dcpythia',
  n_head: 32,
  n_layer: 32,
  n_local_heads: 32,
  norm_eps: 1e-5,
  q_chunk_size: 128,
  query_wise: false,
  rope_base: 10000,
  rotary_pct: 0.25,
  tie_word_embeddings: false,
  torch_dtype: 'float16',
  transformers_version: '4.33.2',
  use_dcmha: true,
  use_gradient_checkpointing: false,
  use_linear_bias: true,
  use_parallel_residual: true,
  use_qk_norm: true,
  vocab_size: 50257,
  window_size: 256,
  window_type: null,
};

describe('oracle fixture configs', () => {
  const cases: [string, Partial<ModelConfig>, (number | null)[], number][] = [
    [
      'case1_dcformer_lgll',
      {
        family: 'dcformer',
        nLayer: 4,
        nHead: 4,
        headDim: 16,
        intermediateSize: 64,
        mgate: true,
        mgateDim: 4,
        windowType: 'LGLL',
        useQkNorm: true,
        keyWise: true,
        ropeBase: 500000,
        normEps: 1e-6,
        qChunkSize: 16,
      },
      [8, null, 8, 8],
      16,
    ],
    [
      'case2_dcformer_lg',
      {
        family: 'dcformer',
        nLayer: 2,
        nHead: 8,
        headDim: 8,
        mgate: false,
        useQkNorm: false,
        windowSize: 16,
        windowType: null,
      },
      [16, null],
      8,
    ],
    ['case3_dcformer_mha', { family: 'dcformer', useDcmha: false, nHead: 4, headDim: 16 }, [8, null], 16],
    [
      'case4_dcpythia',
      {
        family: 'dcpythia',
        rotaryPct: 0.25,
        useParallelResidual: true,
        useLinearBias: true,
        normEps: 1e-5,
        ropeBase: 10000,
        windowSize: null,
        mgate: false,
      },
      [null, null],
      4,
    ],
    [
      'case5_dcformer_querywise',
      { family: 'dcformer', keyWise: false, queryWise: true, useQkNorm: true },
      [8, null],
      16,
    ],
  ];
  it.each(cases)('%s parses with the expected derived values and no warnings', (name, expected, windows, rotary) => {
    const { config, warnings } = parse(fixture(name));
    expect(warnings).toEqual([]);
    expect(config).toMatchObject({ ...expected, dim: 64, vocabSize: 128, blockSize: 64, queryWise: true });
    expect(layerWindows(config)).toEqual(windows);
    expect(rotaryDims(config)).toBe(rotary);
  });

  it.each(cases.map((c) => c[0]))('%s round-trips and configToJson writes the fixture values back', (name) => {
    const json = fixture(name);
    const config = parse(json).config;
    const written = configToJson(config);
    expect(parse(written)).toEqual({ config, warnings: [] });
    const rewritten = ['torch_dtype', 'transformers_version', 'bos_token_id', 'eos_token_id', 'pad_token_id'];
    for (const [key, value] of Object.entries(json)) {
      if (!rewritten.includes(key)) expect([key, written[key]]).toEqual([key, value]);
    }
    for (const key of Object.keys(written)) if (key !== 'torch_dtype') expect(json).toHaveProperty(key);
  });
});

describe('parseConfig defaults (official class defaults)', () => {
  it('fills DCFormer defaults', () => {
    const { config, warnings } = parse(MIN_DCFORMER);
    expect(warnings).toEqual([]);
    expect(config).toEqual({
      family: 'dcformer',
      dim: 64,
      nHead: 4,
      nLayer: 2,
      headDim: 16,
      intermediateSize: 256,
      vocabSize: 128,
      blockSize: 64,
      ropeBase: 10000,
      normEps: 1e-5,
      useQkNorm: false,
      useDcmha: true,
      queryWise: true,
      keyWise: true,
      windowSize: 256,
      windowType: null,
      qChunkSize: 128,
      mgate: false,
      mgateDim: 44,
      rotaryPct: 1,
      useParallelResidual: false,
      useLinearBias: false,
    });
  });

  it('derives the DCFormer SwiGLU width as find_multiple(int(8*dim/3), 256), also for null', () => {
    expect(parse({ ...MIN_DCFORMER, dim: 2560, n_head: 32 }).config.intermediateSize).toBe(6912);
    expect(parse({ ...MIN_DCFORMER, dim: 96, intermediate_size: null }).config.intermediateSize).toBe(256);
    expect(parse({ ...MIN_DCFORMER, dim: 192 }).config.intermediateSize).toBe(512);
  });

  it('fills DCPythia defaults (4*dim MLP, rotary_pct 0.25, parallel residual, biases)', () => {
    const { config } = parse(MIN_DCPYTHIA);
    expect(config).toMatchObject({
      family: 'dcpythia',
      intermediateSize: 256,
      rotaryPct: 0.25,
      useParallelResidual: true,
      useLinearBias: true,
      mgate: false,
    });
    expect(rotaryDims(config)).toBe(4);
  });

  it('accepts mgate false and ignores mgate_dim in a DCPythia config', () => {
    const { config, warnings } = parse({ ...MIN_DCPYTHIA, mgate: false, mgate_dim: 8 });
    expect(warnings).toEqual([]);
    expect(config).toEqual(parse(MIN_DCPYTHIA).config);
  });

  it('takes the family from architectures alone', () => {
    const { model_type: _, ...rest } = MIN_DCPYTHIA;
    expect(parse({ ...rest, architectures: ['DCPythia'] }).config.family).toBe('dcpythia');
  });
});

describe('parseConfig errors', () => {
  it.each(['dim', 'n_head', 'n_layer', 'vocab_size', 'block_size'])('names the missing required key %s', (key) => {
    const json: Record<string, unknown> = { ...MIN_DCFORMER };
    delete json[key];
    const e = configError(() => parseConfig(json, noWarn));
    expect(e.key).toBe(key);
    expect(e.message).toContain(`'${key}' is required`);
  });

  it('prints the key, what is allowed and what was received', () => {
    const e = configError(() => parseConfig({ ...MIN_DCFORMER, dim: '64' }, noWarn));
    expect(e.message).toBe(`config.json: 'dim' must be a positive integer; got "64" (string)`);
    expect(e.key).toBe('dim');
    expect(e.code).toBe('config');
  });

  it.each<[string, unknown, string]>([
    ['dim', 64.5, 'got 64.5 (number)'],
    ['n_layer', 0, 'positive integer'],
    ['vocab_size', -5, 'positive integer'],
    ['use_qk_norm', 1, 'true or false; got 1 (number)'],
    ['query_wise', 'false', 'true or false'],
    ['window_type', 'XYZ', '"LGLL"'],
    ['window_size', 0, 'positive integer or null'],
    ['rope_base', null, 'got null'],
    ['norm_eps', -1e-6, 'positive finite number'],
    ['q_chunk_size', 16.5, 'positive integer'],
    ['intermediate_size', '64', 'positive integer or null'],
  ])('rejects %s = %j', (key, value, fragment) => {
    const e = configError(() => parseConfig({ ...MIN_DCFORMER, [key]: value }, noWarn));
    expect(e.key).toBe(key);
    expect(e.message).toContain(fragment);
  });

  it.each<[string, Record<string, unknown>, string, string]>([
    ['dim not divisible by n_head', { ...MIN_DCFORMER, n_head: 6 }, 'dim', "divisible by 'n_head' (6)"],
    ['n_head < 2 with DCMHA', { ...MIN_DCFORMER, n_head: 1 }, 'n_head', 'at least 2'],
    ['odd head_dim in DCFormer (RoPE width)', { ...MIN_DCFORMER, dim: 60, n_head: 4 }, 'dim', '60 / 4 = 15'],
    [
      'intermediate not a multiple of mgate_dim',
      { ...MIN_DCFORMER, mgate: true, mgate_dim: 5, intermediate_size: 64 },
      'intermediate_size',
      "'mgate_dim' (5)",
    ],
    ['odd DCPythia rotary width', { ...MIN_DCPYTHIA, rotary_pct: 0.3125 }, 'rotary_pct', 'int(16 * 0.3125) = 5'],
    ['zero DCPythia rotary width', { ...MIN_DCPYTHIA, rotary_pct: 0.05 }, 'rotary_pct', '= 0'],
    ['rotary_pct above 1', { ...MIN_DCPYTHIA, rotary_pct: 1.5 }, 'rotary_pct', '(0, 1]'],
    ['rotary_pct of 0', { ...MIN_DCPYTHIA, rotary_pct: 0 }, 'rotary_pct', '(0, 1]'],
    ['DCPythia with mgate', { ...MIN_DCPYTHIA, mgate: true }, 'mgate', 'false for dcpythia'],
    ['DCFormer with rotary_pct', { ...MIN_DCFORMER, rotary_pct: 0.25 }, 'rotary_pct', '1 for dcformer'],
    [
      'DCFormer with parallel residual',
      { ...MIN_DCFORMER, use_parallel_residual: true },
      'use_parallel_residual',
      'false for dcformer',
    ],
    ['grouped-query heads', { ...MIN_DCFORMER, n_local_heads: 2 }, 'n_local_heads', 'unsupported'],
    ['tied embeddings', { ...MIN_DCFORMER, tie_word_embeddings: true }, 'tie_word_embeddings', 'got true'],
    [
      'unknown model_type',
      { ...MIN_DCFORMER, model_type: 'llama' },
      'model_type',
      '"dcformer", "dcpythia", "muddformer" or "muddpythia"',
    ],
    ['unknown architecture', { ...MIN_DCFORMER, architectures: ['LlamaForCausalLM'] }, 'architectures', '["DCFormer"]'],
    ['family disagreement', { ...MIN_DCFORMER, architectures: ['DCPythia'] }, 'model_type', 'disagree'],
  ])('rejects %s', (_, json, key, fragment) => {
    const e = configError(() => parseConfig(json, noWarn));
    expect(e.key).toBe(key);
    expect(e.message).toContain(fragment);
  });

  it('needs model_type or architectures', () => {
    const { model_type: _, ...rest } = MIN_DCFORMER;
    expect(configError(() => parseConfig(rest, noWarn)).message).toContain('cannot tell the model family');
  });

  it('rejects a non-object', () => {
    expect(configError(() => parseConfig([MIN_DCFORMER], noWarn)).message).toContain('a JSON object');
  });

  it('accepts n_local_heads -1 or n_head, MHA with one head, and tie_word_embeddings false', () => {
    expect(() => parseConfig({ ...MIN_DCFORMER, n_local_heads: -1, tie_word_embeddings: false }, noWarn)).not.toThrow();
    expect(() => parseConfig({ ...MIN_DCFORMER, n_local_heads: 4 }, noWarn)).not.toThrow();
    expect(parse({ ...MIN_DCFORMER, n_head: 1, use_dcmha: false }).config.headDim).toBe(64);
  });
});

describe('parseConfig warnings', () => {
  afterEach(() => vi.restoreAllMocks());

  it('lists every unknown key in one warning', () => {
    const { warnings } = parse({ ...MIN_DCFORMER, hidden_size: 64, use_sw: false, transformers_version: '4.33.2' });
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain("'hidden_size'");
    expect(warnings[0]).toContain("'use_sw'");
    expect(warnings[0]).not.toContain('transformers_version');
  });

  it('warns through console.warn by default', () => {
    const spy = vi.spyOn(console, 'warn').mockImplementation(() => {});
    parseConfig({ ...MIN_DCFORMER, foo: 1 });
    expect(spy).toHaveBeenCalledTimes(1);
    expect(String(spy.mock.calls[0]?.[0])).toContain("'foo'");
  });

  it('ignores a head_dim that disagrees with dim / n_head, with a warning', () => {
    const { config, warnings } = parse({ ...MIN_DCFORMER, head_dim: 64 });
    expect(config.headDim).toBe(16);
    expect(warnings).toEqual([expect.stringContaining("'head_dim' is ignored")]);
  });

  it('warns that window_type does nothing when window_size is null', () => {
    const { config, warnings } = parse({ ...MIN_DCFORMER, n_layer: 4, window_size: null, window_type: 'LGLL' });
    expect(layerWindows(config)).toEqual([null, null, null, null]);
    expect(warnings).toEqual([expect.stringContaining('every layer is global')]);
  });
});

describe('layerWindows, rotaryDims, dynamicRank', () => {
  const base = resolveConfig({ dim: 64, nHead: 4, nLayer: 10, vocabSize: 16, blockSize: 64, windowSize: 5 });

  it('alternates local/global for null and "LG", starting local', () => {
    expect(layerWindows(base)).toEqual([5, null, 5, null, 5, null, 5, null, 5, null]);
    expect(layerWindows({ ...base, windowType: 'LG' })).toEqual(layerWindows(base));
  });

  it('repeats LGLL and LGL6 with window_size, not the reference 256', () => {
    expect(layerWindows({ ...base, windowType: 'LGLL' })).toEqual([5, null, 5, 5, 5, null, 5, 5, 5, null]);
    expect(layerWindows({ ...base, windowType: 'LGL6' })).toEqual([5, null, 5, 5, 5, 5, 5, 5, 5, null]);
  });

  it('gives DCFormer the whole head and DCPythia int(headDim * rotaryPct)', () => {
    expect(rotaryDims(base)).toBe(16);
    const pythia = { ...base, family: 'dcpythia', useLinearBias: true, useParallelResidual: true } as const;
    expect(rotaryDims(resolveConfig({ ...pythia, rotaryPct: 0.5 }))).toBe(8);
    expect(rotaryDims(resolveConfig({ ...pythia, rotaryPct: 0.3 }))).toBe(4); // int(4.8), as Python truncates
  });

  it('computes I = N // (N // 2)', () => {
    expect([2, 3, 4, 5, 7, 32].map(dynamicRank)).toEqual([2, 3, 2, 2, 2, 2]);
    expect(configError(() => dynamicRank(1)).key).toBe('nHead');
  });
});

describe('resolveConfig', () => {
  it('uses the same defaults as parseConfig', () => {
    expect(resolveConfig({ dim: 64, nHead: 4, nLayer: 2, vocabSize: 128, blockSize: 64 })).toEqual(
      parse(MIN_DCFORMER).config,
    );
    expect(resolveConfig({ family: 'dcpythia', dim: 64, nHead: 4, nLayer: 2, vocabSize: 128, blockSize: 64 })).toEqual(
      parse(MIN_DCPYTHIA).config,
    );
  });

  it('names camelCase keys in its errors', () => {
    const e = configError(() => resolveConfig({ dim: 64, nHead: 3, nLayer: 2, vocabSize: 8, blockSize: 8 }));
    expect(e.message).toBe(`resolveConfig: 'dim' must be divisible by 'nHead' (3); got 64 (number)`);
    expect(configError(() => resolveConfig({ dim: 64, nLayer: 2, vocabSize: 8, blockSize: 8 })).key).toBe('nHead');
  });

  it('rejects queryWise false (no official key can express it)', () => {
    const e = configError(() =>
      resolveConfig({ dim: 64, nHead: 4, nLayer: 2, vocabSize: 8, blockSize: 8, queryWise: false }),
    );
    expect(e.key).toBe('queryWise');
  });

  it('warns about unknown fields', () => {
    const warnings: string[] = [];
    resolveConfig({ dim: 64, nHead: 4, nLayer: 2, vocabSize: 8, blockSize: 8, n_head: 4 } as never, {
      onWarning: (m) => warnings.push(m),
    });
    expect(warnings).toEqual([expect.stringContaining("'n_head'")]);
  });

  it('round-trips keyWise false as query_wise true', () => {
    const c = resolveConfig({
      dim: 64,
      nHead: 4,
      nLayer: 2,
      vocabSize: 8,
      blockSize: 8,
      keyWise: false,
      windowSize: null,
    });
    const json = configToJson(c);
    expect(json).toMatchObject({
      query_wise: true,
      n_local_heads: 4,
      head_dim: 16,
      window_size: null,
      tie_word_embeddings: false,
      torch_dtype: 'float32',
      architectures: ['DCFormer'],
      model_type: 'dcformer',
    });
    expect(parse(json).config).toEqual(c);
  });
});

describe('presets', () => {
  it('has the documented shapes', () => {
    expect(Object.keys(PRESETS).sort()).toEqual([
      'bench-small',
      'bench-small-mha',
      'dcformer-2.8b',
      'dcpythia-6.9b',
      'tiny',
      'tiny-mudd',
    ]);
    const tiny = presetConfig('tiny');
    expect(tiny).toMatchObject({
      family: 'dcformer',
      vocabSize: 257,
      dim: 128,
      nLayer: 4,
      nHead: 4,
      blockSize: 128,
      useQkNorm: true,
      mgate: false,
      intermediateSize: 512,
    });
    expect(layerWindows(tiny)).toEqual([32, null, 32, null]);
    const small = presetConfig('bench-small');
    expect(small).toMatchObject({
      vocabSize: 50304,
      dim: 256,
      nHead: 8,
      nLayer: 4,
      intermediateSize: 768,
      useQkNorm: true,
      useDcmha: true,
      blockSize: 1024,
    });
    expect(layerWindows(small)).toEqual([64, null, 64, null]);
    expect(presetConfig('bench-small-mha')).toEqual({ ...small, useDcmha: false });
  });

  it("matches the released checkpoints' Hub config.json", () => {
    expect(presetConfig('dcformer-2.8b')).toEqual(parse(HUB_DCFORMER_2_8B).config);
    expect(presetConfig('dcpythia-6.9b')).toEqual(parse(HUB_DCPYTHIA_6_9B).config);
  });

  it.each(Object.keys(PRESETS))('%s round-trips through config.json', (name) => {
    const c = presetConfig(name);
    expect(parse(configToJson(c))).toEqual({ config: c, warnings: [] });
  });

  it('hands out copies', () => {
    const c = presetConfig('tiny');
    c.dim = 1;
    expect(presetConfig('tiny').dim).toBe(128);
  });

  it('lists the valid names for an unknown preset', () => {
    const e = configError(() => presetConfig('Tiny'));
    for (const name of Object.keys(PRESETS)) expect(e.message).toContain(name);
    expect(e.message).toContain('"Tiny"');
  });
});
