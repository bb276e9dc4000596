import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '@dcformer/kernels';
import { configToJson, parseConfig, resolveConfig, rotaryDims, type ModelConfig } from '../src/config.js';
import { ffnWidths, muddCounterpart, muddSizes } from '../src/mudd-config.js';
import { presetConfig } from '../src/presets.js';
import { weightSpecs } from '../src/weights.js';
import { muddGolden } from './mudd-oracle.js';

/** pytorch/muddpythia/config_2p8b.json @ fc067b2 (the released MUDDPythia-2.8B's config). */
const MUDDPYTHIA_2P8B = {
  architectures: ['MUDDPythia'],
  auto_map: {
    AutoConfig: 'configuration_muddpythia.MUDDPythiaConfig',
    AutoModelForCausalLM: 'modeling_muddpythia.MUDDPythia',
  },
  block_size: 2048,
  bos_token_id: 0,
  dense: true,
  dense_type: 'qkvr',
  dim: 2560,
  dynamic_dense: true,
  eos_token_id: 0,
  expand_last: true,
  head_dim: 80,
  intermediate_size: 10240,
  is_training: false,
  model_type: 'muddpythia',
  n_head: 32,
  n_layer: 32,
  n_local_heads: 32,
  norm_eps: 1e-5,
  rope_base: 10000,
  rotary_pct: 0.25,
  round64: true,
  sepln: true,
  stack_hidden: false,
  tie_word_embeddings: false,
  torch_dtype: 'bfloat16',
  transformers_version: '4.35.0',
  use_gradient_checkpointing: false,
  use_layer_cache: true,
  use_linear_bias: true,
  use_parallel_residual: true,
  use_qk_norm: true,
  vocab_size: 50432,
};
const MIN_MUDDFORMER = { model_type: 'muddformer', dim: 64, n_head: 4, n_layer: 4, vocab_size: 128, block_size: 64 };

function parse(json: unknown) {
  const warnings: string[] = [];
  const config = parseConfig(json, { onWarning: (m) => warnings.push(m) });
  return { config, warnings };
}

describe('MUDD config.json', () => {
  it('reads the released MUDDPythia-2.8B config without warnings', () => {
    const { config, warnings } = parse(MUDDPYTHIA_2P8B);
    expect(warnings).toEqual([]);
    expect(config).toMatchObject({
      family: 'muddpythia',
      dim: 2560,
      headDim: 80,
      intermediateSize: 10240,
      useDcmha: false,
      windowSize: null,
      expandLast: true,
      round64: true,
      useParallelResidual: true,
      useLinearBias: true,
    });
    expect(rotaryDims(config)).toBe(20);
  });

  it("derives the official per-layer sizes (golden.json 'derived')", () => {
    for (const name of ['case_m1_muddformer', 'case_m2_muddpythia']) {
      const g = muddGolden(name);
      const { config } = parse(readConfig(name));
      expect(ffnWidths(config)).toEqual(g.derived.ffn_hidden_per_layer);
      const sizes = muddSizes(config);
      expect(sizes.map((s) => s.C)).toEqual(g.derived.mudd_C_per_layer);
      expect(sizes.map((s) => s.hidden)).toEqual(g.derived.mudd_hidden_per_layer);
      expect(sizes.map((s) => s.C * s.L)).toEqual(g.derived.mudd_out_per_layer);
      expect(rotaryDims(config)).toBe(g.derived.rotary_ndims);
    }
  });

  it('fills the official class defaults', () => {
    const { config, warnings } = parse(MIN_MUDDFORMER);
    expect(warnings).toEqual([]);
    expect(config).toMatchObject({ normEps: 1e-6, intermediateSize: 256, expandLast: false, round64: false });
    expect(parse({ ...MIN_MUDDFORMER, model_type: 'muddpythia' }).config).toMatchObject({
      normEps: 1e-5,
      intermediateSize: 256,
      rotaryPct: 0.25,
      useParallelResidual: true,
      useLinearBias: true,
    });
  });

  it('refuses the switch sets the official code cannot run, naming the key', () => {
    const refused: [Record<string, unknown>, string][] = [
      [{ dense: false }, 'dense'],
      [{ dynamic_dense: false }, 'dynamic_dense'],
      [{ dense_type: 'l' }, 'dense_type'],
      [{ sepln: false }, 'sepln'],
      [{ stack_hidden: true }, 'stack_hidden'],
      [{ n_layer: 1 }, 'n_layer'],
      [{ n_local_heads: 2 }, 'n_local_heads'],
      [{ intermediate_size: 64 }, 'intermediate_size'],
      [{ mgate: true }, 'mgate'],
      [{ rotary_pct: 0.5 }, 'rotary_pct'],
      [{ expand_last: 'yes' }, 'expand_last'],
      [{ dense_type: JSON.parse(`${'['.repeat(20000)}${']'.repeat(20000)}`) }, 'dense_type'],
    ];
    for (const [patch, key] of refused) {
      let err: unknown;
      try {
        parseConfig({ ...MIN_MUDDFORMER, ...patch }, { onWarning: () => {} });
      } catch (e) {
        err = e;
      }
      expect(err, key).toBeInstanceOf(ConfigError);
      expect((err as Error).message).toContain(`'${key}'`);
      expect((err as Error).message).not.toContain('\n');
    }
    expect(() =>
      resolveConfig({ family: 'dcformer', dim: 64, nHead: 4, nLayer: 2, vocabSize: 8, blockSize: 8, round64: true }),
    ).toThrow(/MUDD-only/);
  });

  it('round-trips through configToJson, extensions included', () => {
    for (const json of [
      MUDDPYTHIA_2P8B,
      MIN_MUDDFORMER,
      { ...MIN_MUDDFORMER, use_dcmha: true, window_size: 16, query_wise: true, expand_last: true },
    ]) {
      const { config } = parse(json);
      expect(parse(configToJson(config))).toEqual({ config, warnings: [] });
    }
  });

  it('names the weights as the official state_dict', () => {
    const names = weightSpecs(parse(MUDDPYTHIA_2P8B).config).map((s) => s.official);
    expect(names).toContain('layers.0.attention_norm.bias');
    expect(names).toContain('layers.31.attention_norms.2.weight');
    expect(names).toContain('layers.3.attention.q_norm.weight');
    expect(names).toContain('dense_bs.31');
    expect(names).toContain('dynamic_dense.31.w2.weight');
    expect(names).not.toContain('layers.1.attention_norm.weight');
  });
});

function readConfig(name: string): Record<string, unknown> {
  // the fixture's own config.json, as the loader reads it
  return JSON.parse(
    readFileSync(new URL(`../../../fixtures/oracle-mudd/${name}/config.json`, import.meta.url), 'utf8'),
  );
}

describe('tiny-mudd', () => {
  it('is the MUDD counterpart of tiny, the model --compare mudd trains', () => {
    expect(presetConfig('tiny-mudd')).toEqual(
      resolveConfig(muddCounterpart(presetConfig('tiny')) as Partial<ModelConfig>),
    );
    expect(ffnWidths(presetConfig('tiny-mudd'))).toEqual([256, 384, 640, 768]);
  });
});

describe('MUDD init', () => {
  it('starts as the JAX trainer inits MUDD: dense_bs one-hot on the newest layer, w2 zero, w1 N(0, 1/D)', async () => {
    await import('@tensorflow/tfjs-backend-cpu');
    const { initModel } = await import('../src/init.js');
    const { modelWeights } = await import('../src/checkpoint.js');
    const config = resolveConfig({ family: 'muddformer', dim: 128, nHead: 4, nLayer: 3, vocabSize: 64, blockSize: 16 });
    const model = initModel(config, 2);
    const w = modelWeights(model);
    model.dispose();
    expect([...w.get('dense_bs.0')!.data]).toEqual([0, 1, 0, 1, 0, 1, 0, 1]);
    expect([...w.get('dense_bs.2')!.data]).toEqual([0, 0, 0, 1]);
    expect(w.get('dynamic_dense.1.w2.weight')!.data.every((v) => v === 0)).toBe(true);
    const w1 = w.get('dynamic_dense.1.w1.weight')!.data;
    const sd = Math.sqrt(w1.reduce((s, v) => s + v * v, 0) / w1.length);
    expect(Math.abs(sd - 1 / Math.sqrt(128)) / (1 / Math.sqrt(128))).toBeLessThan(0.06);
  });
});
