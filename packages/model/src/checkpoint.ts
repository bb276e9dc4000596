/**
 * Model ↔ named float32 arrays with the official names. Strict: every parameter must be present
 * with its exact shape; anything unexpected is an error naming the tensor. The extra tensors the
 * official module always writes (identity pre/post_proj.w, merged dw_m/qkw_m) are checked, not used.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Tensor } from '@tensorflow/tfjs-core';
import { CheckpointError, formatShape } from '@dcformer/kernels';
import type { ModelConfig } from './config.js';
import { DcformerModel } from './model.js';
import { dynamicSizes, extraSpecs, identityMatrix, mergeDw, weightSpecs } from './weights.js';
import { readAsync, readSync, type Reads } from './reads.js';

export interface NamedArray {
  shape: number[];
  data: Float32Array;
}

export interface FromWeightsOptions {
  /** Non-fatal findings (e.g. merged dw_m that disagrees with dw1/dd). Default: console.warn. */
  onWarning?: (message: string) => void;
  /** Label for messages, e.g. the checkpoint directory. */
  source?: string;
  /** Parameters held compactly elsewhere (their `data` is empty): the model gets placeholders (compact-load.ts). */
  placeholders?: ReadonlySet<string>;
}

const sameShape = (a: readonly number[], b: readonly number[]) =>
  a.length === b.length && a.every((d, i) => d === b[i]);

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

/** Builds a model from official-named weights; the arrays are copied into variables. */
export function modelFromWeights(
  config: ModelConfig,
  weights: Map<string, NamedArray>,
  options: FromWeightsOptions = {},
): DcformerModel {
  const warn = options.onWarning ?? ((m: string) => console.warn(m));
  const where = options.source ? ` in ${options.source}` : '';
  const specs = weightSpecs(config);
  const extras = new Map(extraSpecs(config).map((e) => [e.official, e]));
  const known = new Set(specs.map((s) => s.official));
  const unexpected = [...weights.keys()].filter((n) => !known.has(n) && !extras.has(n));
  if (unexpected.length > 0) {
    throw new CheckpointError(
      `checkpoint${where}: unexpected tensor${unexpected.length > 1 ? 's' : ''} ${unexpected
        .slice(0, 8)
        .map((n) => `'${n}'`)
        .join(
          ', ',
        )}${unexpected.length > 8 ? ` (+${unexpected.length - 8} more)` : ''} for a ${config.family} model with ${config.nLayer} layers (use_dcmha ${config.useDcmha}, use_qk_norm ${config.useQkNorm}, mgate ${config.mgate})`,
      { tensorName: unexpected[0] },
    );
  }
  const missing = specs.filter((s) => !weights.has(s.official)).map((s) => s.official);
  if (missing.length > 0) {
    throw new CheckpointError(
      `checkpoint${where}: missing tensor${missing.length > 1 ? 's' : ''} ${missing
        .slice(0, 8)
        .map((n) => `'${n}'`)
        .join(', ')}${missing.length > 8 ? ` (+${missing.length - 8} more)` : ''}`,
      { tensorName: missing[0] },
    );
  }
  for (const s of specs) {
    const w = weights.get(s.official) as NamedArray;
    if (!sameShape(w.shape, s.shape)) {
      throw new CheckpointError(
        `checkpoint${where}: tensor '${s.official}' must have shape ${formatShape(s.shape)}; found ${formatShape(w.shape)}`,
        { tensorName: s.official },
      );
    }
  }
  checkExtras(config, weights, where, warn);
  const tensors = new Map<string, Tensor>();
  for (const s of specs)
    tensors.set(
      s.official,
      options.placeholders?.has(s.official)
        ? tf.zeros([0])
        : tf.tensor((weights.get(s.official) as NamedArray).data, s.shape, 'float32'),
    );
  return new DcformerModel(config, tensors);
}

function checkExtras(
  config: ModelConfig,
  weights: Map<string, NamedArray>,
  where: string,
  warn: (m: string) => void,
): void {
  const { dim: D } = config;
  const { N, K } = dynamicSizes(config);
  for (const e of extraSpecs(config)) {
    const w = weights.get(e.official);
    if (w === undefined || e.kind === 'ignored') continue;
    if (!sameShape(w.shape, e.shape)) {
      throw new CheckpointError(
        `checkpoint${where}: tensor '${e.official}' must have shape ${formatShape(e.shape)}; found ${formatShape(w.shape)}`,
        { tensorName: e.official },
      );
    }
    const prefix = `layers.${e.layer}.attention.dyn_w_proj`;
    if (e.kind === 'identity' && maxAbsDiff(w.data, identityMatrix(N)) !== 0) {
      throw new CheckpointError(
        `checkpoint${where}: '${e.official}' is not the identity: a learned static composition matrix (use_sw) is not supported`,
        { tensorName: e.official },
      );
    }
    let diff = 0;
    if (e.kind === 'dw_m') {
      const dw1 = weights.get(`${prefix}.dw1`) as NamedArray;
      const dd = weights.get(`${prefix}.dd`) as NamedArray;
      // packed while reading (a compact load): their float32 values are gone, nothing to compare
      if (dw1.data.length === 0 || dd.data.length === 0) continue;
      diff = maxAbsDiff(w.data, mergeDw(dw1.data, dd.data, D, K, N));
    } else if (e.kind === 'qkw_m') {
      diff = maxAbsDiff(w.data, (weights.get(`${prefix}.qkw`) as NamedArray).data);
    }
    if (diff > 0) {
      warn(
        `checkpoint${where}: merged copy '${e.official}' differs from ${e.kind === 'dw_m' ? 'dw1/dd' : 'qkw'} by up to ${diff}; using dw1/qkw/dd`,
      );
    }
  }
}

/**
 * Every tensor an official checkpoint of this model holds: the parameters plus, for DCMHA models,
 * the identity pre/post_proj.w buffers and the merged dw_m/qkw_m copies (written for compatibility).
 */
export function modelWeights(model: DcformerModel): Map<string, NamedArray> {
  return readSync(weightReads(model));
}

/** `modelWeights` reading with `await data()`: GPU backends cannot read synchronously. */
export function modelWeightsAsync(model: DcformerModel): Promise<Map<string, NamedArray>> {
  return readAsync(weightReads(model));
}

/** modelWeights written once; the variables stay the model's (read, never disposed). */
function* weightReads(model: DcformerModel): Reads<Map<string, NamedArray>> {
  const out = new Map<string, NamedArray>();
  for (const [name, v] of model.variables)
    out.set(name, { shape: v.shape as number[], data: (yield v) as Float32Array });
  return withCompatibilityCopies(model.config, out);
}

function withCompatibilityCopies(config: ModelConfig, out: Map<string, NamedArray>): Map<string, NamedArray> {
  const { N, K } = dynamicSizes(config);
  for (const e of extraSpecs(config)) {
    const prefix = `layers.${e.layer}.attention.dyn_w_proj`;
    if (e.kind === 'identity') out.set(e.official, { shape: e.shape, data: identityMatrix(N) });
    if (e.kind === 'dw_m') {
      const dw1 = out.get(`${prefix}.dw1`) as NamedArray;
      const dd = out.get(`${prefix}.dd`) as NamedArray;
      out.set(e.official, { shape: e.shape, data: mergeDw(dw1.data, dd.data, config.dim, K, N) });
    }
    if (e.kind === 'qkw_m')
      out.set(e.official, { shape: e.shape, data: (out.get(`${prefix}.qkw`) as NamedArray).data });
  }
  return out;
}
