/**
 * Loading a model with compact weights (Node): the float tensors of any checkpoint packed one at a
 * time as the reader produces them (each float32 buffer is dropped before the next tensor is read),
 * and quantised checkpoints (`dcformer quantize`: I8/U8 `P.qweight` + F32 `P.scales`, described by
 * config.json's `quantization` block) read back through the bounded readers of @dcformer/checkpoint.
 */
import { join } from 'node:path';
import {
  CheckpointError,
  ConfigError,
  type PackedWeight,
  type WeightDtype,
  checkGroup,
  compactWeight,
  isQuantized,
} from '@dcformer/kernels';
import type { Tensor, Variable } from '@tensorflow/tfjs-core';
import {
  type LoadedTensor,
  type RawTensorToWrite,
  parseJsonBounded,
  readRawTensors,
  readRegularTextFile,
  writeFileAtomic,
  writeRawSafetensors,
} from '@dcformer/checkpoint/node';
import { configToJson, type ModelConfig } from './config.js';
import { compactSpecs, compactWeightsOf, installCompact, packSpec } from './compact.js';
import type { DcformerModel } from './model.js';
import { type WeightSpec, weightSpecs } from './weights.js';

/** config.json's `quantization` block as `dcformer quantize` writes it. */
export interface QuantizationBlock {
  /** 'int8' | 'int4'. */
  format: 'int8' | 'int4';
  group_size: number;
  /** Official names of the weights stored as `<prefix>.qweight` + `<prefix>.scales` (prefix = name less `.weight`). */
  modules: string[];
  scales_dtype: 'F32';
  /** One line naming the byte layout (documentation for readers of the file). */
  layout: string;
}

export const INT4_LAYOUT =
  'int4: U8 [N, K/2], blocks of 32 weights in 16 bytes, weight j < 16 = low nibble of byte j, weight 16+j = high nibble; w = (nibble - 8) * scale[n, k / group_size]';
export const INT8_LAYOUT = 'int8: I8 [N, K]; w = q * scale[n, k / group_size]';

/** `P.weight` → `P` (the stored tensors are `P.qweight`, `P.scales`). */
export function prefixOf(official: string): string {
  return official.endsWith('.weight') ? official.slice(0, -'.weight'.length) : official;
}

/** The `quantization` block of `dir/config.json`, validated against the config; null when absent. */
export async function readQuantization(dir: string, config: ModelConfig): Promise<QuantizationBlock | null> {
  const path = join(dir, 'config.json');
  const text = await readRegularTextFile(path, 1 << 20, (m) => new ConfigError(`cannot read the model config: ${m}`));
  const json = parseJsonBounded(text, (m) => {
    throw new ConfigError(`${path} ${m}`);
  }) as Record<string, unknown>;
  const q = json.quantization;
  if (q === undefined) return null;
  const who = `${path}: quantization`;
  if (typeof q !== 'object' || q === null)
    throw new ConfigError(`${who} must be an object; got ${JSON.stringify(q)}`, 'quantization');
  const b = q as Record<string, unknown>;
  if (b.format !== 'int8' && b.format !== 'int4')
    throw new ConfigError(`${who}.format: unknown dtype '${String(b.format)}'; expected int8 or int4`, 'quantization');
  if (b.scales_dtype !== 'F32')
    throw new ConfigError(`${who}.scales_dtype must be 'F32'; got ${JSON.stringify(b.scales_dtype)}`, 'quantization');
  const allowed = new Set(compactSpecs(config, true).map((s) => s.official));
  if (!Array.isArray(b.modules) || b.modules.some((m) => typeof m !== 'string' || !allowed.has(m)))
    throw new ConfigError(
      `${who}.modules must list weight matrices of this model; got ${JSON.stringify(b.modules)?.slice(0, 120)}`,
      'quantization',
    );
  const G = b.group_size;
  if (typeof G !== 'number')
    throw new ConfigError(`${who}.group_size must be a number; got ${JSON.stringify(G)}`, 'quantization');
  for (const spec of weightSpecs(config))
    if ((b.modules as string[]).includes(spec.official))
      checkGroup(`${who} (${spec.official})`, b.format, spec.shape[1], G);
  return {
    ...b,
    format: b.format,
    group_size: G,
    modules: b.modules as string[],
    scales_dtype: b.scales_dtype,
    layout: b.layout as string,
  };
}

/**
 * A `transform` for readCheckpointWeights that packs every compact weight of `config` into `dtype`
 * the moment it is read and keeps only an empty float32 in the map; `packed` collects the results.
 */
export function packingTransform(
  config: ModelConfig,
  dtype: Exclude<WeightDtype, 'f32'>,
  groupSize: number | undefined,
): { transform: (name: string, t: LoadedTensor) => LoadedTensor; packed: Map<string, PackedWeight> } {
  const specs = new Map(compactSpecs(config, true).map((s) => [s.official, s]));
  const packed = new Map<string, PackedWeight>();
  const transform = (name: string, t: LoadedTensor): LoadedTensor => {
    const spec = specs.get(name);
    if (spec === undefined) return t;
    packed.set(name, packSpec(spec, t.data, dtype, groupSize));
    return { ...t, data: new Float32Array(0) };
  };
  return { transform, packed };
}

/** Names of the float tensors a quantised checkpoint holds besides the parameters (the scales). */
export function scaleNames(q: QuantizationBlock): Set<string> {
  return new Set(q.modules.map((m) => `${prefixOf(m)}.scales`));
}

/**
 * The packed weights of a quantised checkpoint: `P.qweight` read raw from model.safetensors (dtype
 * and shape checked before reading), `P.scales` from the float tensors already read (then removed
 * from `floats`). Each module's `P.weight` entry becomes an empty placeholder of the spec's shape.
 */
export async function readQuantizedWeights(
  dir: string,
  config: ModelConfig,
  q: QuantizationBlock,
  floats: Map<string, LoadedTensor>,
): Promise<Map<string, PackedWeight>> {
  const specs = new Map(weightSpecs(config).map((s) => [s.official, s]));
  const want = new Map<string, { dtype: 'I8' | 'U8'; shape: number[] }>();
  for (const m of q.modules) {
    const [N, K] = (specs.get(m) as { shape: number[] }).shape;
    want.set(
      `${prefixOf(m)}.qweight`,
      q.format === 'int8' ? { dtype: 'I8', shape: [N, K] } : { dtype: 'U8', shape: [N, K / 2] },
    );
  }
  const raw = await readRawTensors(join(dir, 'model.safetensors'), want);
  const out = new Map<string, PackedWeight>();
  for (const m of q.modules) {
    const spec = specs.get(m) as { shape: number[] };
    const [N, K] = spec.shape;
    const p = prefixOf(m);
    const scales = floats.get(`${p}.scales`);
    const G = q.group_size;
    if (scales === undefined || scales.shape.length !== 2 || scales.shape[0] !== N || scales.shape[1] !== K / G)
      throw new CheckpointError(
        `${dir}: tensor '${p}.scales' must have shape [${N},${K / G}] (group size ${G}); found ${scales === undefined ? 'none' : `[${scales.shape}]`}`,
        { tensorName: `${p}.scales` },
      );
    floats.delete(`${p}.scales`);
    const bytes = raw.get(`${p}.qweight`) as Uint8Array;
    const data = new Int32Array(bytes.length / 4);
    new Uint8Array(data.buffer).set(bytes);
    out.set(m, { format: q.format, N, K, groupSize: G, data, scales: scales.data });
    floats.set(m, { shape: [N, K], data: new Float32Array(0), dtype: 'F32', file: scales.file });
  }
  return out;
}

/** Puts packed weights into a model built with placeholders for them. */
export function installPacked(model: DcformerModel, packed: Map<string, PackedWeight>): void {
  const specs = new Map(model.specs.map((s) => [s.official, s]));
  for (const [name, p] of packed) {
    installCompact(model, specs.get(name) as WeightSpec, compactWeight(p));
    packed.delete(name);
  }
}

/**
 * Writes a compact (int8 / int4) model as a quantised checkpoint in `dir`: model.safetensors with
 * `P.qweight` (I8 / U8) + `P.scales` (F32) for each compact weight and F32 official tensors for the
 * rest, and config.json with the official keys plus the `quantization` block. Files are atomic.
 */
export async function saveQuantized(model: DcformerModel, dir: string): Promise<QuantizationBlock> {
  const compact = compactWeightsOf(model);
  const first = [...compact.values()][0];
  if (first === undefined || !isQuantized(first.format))
    throw new ConfigError(
      'saveQuantized: the model holds no int8/int4 weights; quantise it first (compactModel)',
      'dtype',
    );
  const tensors = new Map<string, RawTensorToWrite>();
  for (const spec of model.specs) {
    const w = compact.get(spec.official);
    if (w === undefined) {
      const v = model.variables.get(spec.official) as Variable;
      const data = (await v.data()) as Float32Array;
      tensors.set(spec.official, {
        dtype: 'F32',
        shape: spec.shape,
        bytes: new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
      });
      continue;
    }
    if (w.format !== first.format || w.groupSize !== first.groupSize)
      throw new ConfigError(
        `saveQuantized: '${spec.official}' is ${w.format} G${w.groupSize}; every weight must be ${first.format} G${first.groupSize}`,
        'dtype',
      );
    const data = (await w.data.data()) as Int32Array;
    const scales = (await (w.scales as Tensor).data()) as Float32Array;
    const p = prefixOf(spec.official);
    tensors.set(`${p}.qweight`, {
      dtype: w.format === 'int8' ? 'I8' : 'U8',
      shape: w.format === 'int8' ? [w.N, w.K] : [w.N, w.K / 2],
      bytes: new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
    });
    tensors.set(`${p}.scales`, {
      dtype: 'F32',
      shape: [w.N, w.K / w.groupSize],
      bytes: new Uint8Array(scales.buffer, scales.byteOffset, scales.byteLength),
    });
  }
  const block: QuantizationBlock = {
    format: first.format as 'int8' | 'int4',
    group_size: first.groupSize,
    modules: [...compact.keys()],
    scales_dtype: 'F32',
    layout: first.format === 'int8' ? INT8_LAYOUT : INT4_LAYOUT,
  };
  await writeRawSafetensors(dir, tensors, { producer: 'dcformer-ts quantize' });
  const config = { ...configToJson(model.config), torch_dtype: 'float32', quantization: block };
  await writeFileAtomic(join(dir, 'config.json'), `${JSON.stringify(config, null, 2)}\n`);
  return block;
}
