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
  type RawTensorSpec,
  type SafetensorsDtype,
  type TensorSink,
  SINK_SLICE_BYTES,
  parseJsonBounded,
  readRawTensors,
  readRegularTextFile,
  writeFileAtomic,
  writeRawSafetensorsStreaming,
} from '@dcformer/checkpoint/node';
import { configToJson, type ModelConfig } from './config.js';
import {
  type CompactSpec,
  INT4_LAYOUT,
  INT8_LAYOUT,
  type QuantizationBlock,
  compactSpecs,
  compactWeightsOf,
  installCompact,
  intoPair,
  packSpec,
  pairStorage,
  parseQuantization,
  prefixOf,
} from './compact.js';

export { INT4_LAYOUT, INT8_LAYOUT, type QuantizationBlock, parseQuantization, prefixOf };
import type { DcformerModel } from './model.js';
import { type WeightSpec, weightSpecs } from './weights.js';

/** The `quantization` block of `dir/config.json`, validated against the config; null when absent. */
export async function readQuantization(dir: string, config: ModelConfig): Promise<QuantizationBlock | null> {
  const path = join(dir, 'config.json');
  const text = await readRegularTextFile(path, 1 << 20, (m) => new ConfigError(`cannot read the model config: ${m}`));
  const json = parseJsonBounded(text, (m) => {
    throw new ConfigError(`${path} ${m}`);
  });
  return parseQuantization(json, config, path);
}

/**
 * A `sink` for readCheckpointWeights that packs every compact weight of `config` into `dtype` slice
 * by slice as it is read (rows are packed independently, so packing slices of whole rows and
 * concatenating them is packing the whole matrix): no float32 buffer of a whole weight ever exists,
 * only the reader's one reused slice. The map keeps an empty float32 placeholder; `packed` collects
 * the packed weights.
 */
export function packingSink(
  config: ModelConfig,
  dtype: Exclude<WeightDtype, 'f32'>,
  groupSize: number | undefined,
): {
  sink: (name: string, shape: readonly number[], stored: SafetensorsDtype, file: string) => TensorSink | undefined;
  packed: Map<string, PackedWeight>;
} {
  const list = compactSpecs(config, true, true);
  const specs = new Map(list.map((s) => [s.official, s]));
  const pairs = pairStorage(list);
  const packed = new Map<string, PackedWeight>();
  const sink = (
    name: string,
    shape: readonly number[],
    stored: SafetensorsDtype,
    file: string,
  ): TensorSink | undefined => {
    const spec = specs.get(name);
    if (spec === undefined) return undefined;
    if (spec.transposed) return transposedSink(spec, shape, stored, file, dtype, groupSize, packed, pairs);
    const [N, K] = spec.shape;
    let data: Int32Array | null = null;
    let scales: Float32Array | null = null;
    let groupSizeUsed = 0;
    return {
      write(offset: number, slice: Float32Array): void {
        const rows = slice.length / K;
        const part = packSpec({ ...spec, shape: [rows, K] }, slice, dtype, groupSize);
        if (data === null) {
          // sized from the first slice's packing, which has checked K and the group size; a fused
          // pair's half (w1, w3) is packed straight into its range of the pair's storage
          const words = part.data.length / rows;
          const perRow = (part.scales?.length ?? 0) / rows;
          const slot = pairs.slot(spec, dtype, part.groupSize, words, perRow);
          data = slot?.data ?? new Int32Array(N * words);
          scales = slot !== null ? slot.scales : part.scales === null ? null : new Float32Array(N * perRow);
          groupSizeUsed = part.groupSize;
        }
        const n0 = offset / K;
        data.set(part.data, n0 * (part.data.length / rows));
        if (scales !== null && part.scales !== null) scales.set(part.scales, n0 * (part.scales.length / rows));
      },
      finish(): LoadedTensor {
        packed.set(
          name,
          data === null
            ? packSpec(spec, new Float32Array(N * K), dtype, groupSize) // no rows were read (N·K = 0)
            : { format: dtype, N, K, groupSize: groupSizeUsed, data, scales },
        );
        return { shape: [...shape], data: new Float32Array(0), dtype: stored, file };
      },
    };
  };
  return { sink, packed };
}

/**
 * The sink of an input-major weight (dw1, dd: rows of the file are columns of the packed matrix):
 * the whole float32 tensor is gathered (one layer's dw1 is D·4K floats, 5 MB at the 2.8B shape),
 * then transposed and packed.
 */
function transposedSink(
  spec: CompactSpec,
  shape: readonly number[],
  stored: SafetensorsDtype,
  file: string,
  dtype: Exclude<WeightDtype, 'f32'>,
  groupSize: number | undefined,
  packed: Map<string, PackedWeight>,
  pairs: ReturnType<typeof pairStorage>,
): TensorSink {
  const [N, K] = spec.shape;
  const whole = new Float32Array(N * K);
  return {
    write(offset: number, slice: Float32Array): void {
      whole.set(slice, offset);
    },
    finish(): LoadedTensor {
      packed.set(spec.official, intoPair(pairs, spec, packSpec(spec, whole, dtype, groupSize)));
      return { shape: [...shape], data: new Float32Array(0), dtype: stored, file };
    },
  };
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
  const specs = new Map(compactSpecs(config, true, true).map((s) => [s.official, s]));
  const want = new Map<string, { dtype: 'I8' | 'U8'; shape: number[] }>();
  for (const m of q.modules) {
    const [N, K] = (specs.get(m) as { shape: number[] }).shape;
    want.set(
      `${prefixOf(m)}.qweight`,
      q.format === 'int8' ? { dtype: 'I8', shape: [N, K] } : { dtype: 'U8', shape: [N, K / 2] },
    );
  }
  // Each tensor's bytes land in the Int32Array the kernels read (no second copy; 4-byte aligned); a
  // fused pair's halves (w1 and w3, dw1 and dd) in their ranges of the pair's storage.
  const moduleOf = new Map(q.modules.map((m) => [`${prefixOf(m)}.qweight`, specs.get(m) as CompactSpec]));
  const pairs = pairStorage([...moduleOf.values()]);
  const slots = new Map<string, { data: Int32Array; scales: Float32Array | null }>();
  const words = new Map<string, Int32Array>();
  await readRawTensors(join(dir, 'model.safetensors'), want, (name, byteLength) => {
    const spec = moduleOf.get(name) as CompactSpec;
    const [N, K] = spec.shape;
    const slot =
      byteLength % (4 * N) === 0
        ? pairs.slot(spec, q.format, q.group_size, byteLength / (4 * N), K / q.group_size)
        : null;
    const w = slot?.data ?? new Int32Array(Math.ceil(byteLength / 4));
    if (slot !== null) slots.set(spec.official, slot);
    words.set(name, w);
    return new Uint8Array(w.buffer, w.byteOffset, byteLength);
  });
  const out = new Map<string, PackedWeight>();
  for (const m of q.modules) {
    const spec = specs.get(m) as CompactSpec;
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
    const data = words.get(`${p}.qweight`) as Int32Array;
    words.delete(`${p}.qweight`);
    const slot = slots.get(m)?.scales;
    if (slot !== undefined && slot !== null) slot.set(scales.data); // checked above: N·K/G values
    out.set(m, { format: q.format, N, K, groupSize: G, data, scales: slot ?? scales.data });
    floats.set(m, { shape: spec.officialShape, data: new Float32Array(0), dtype: 'F32', file: scales.file });
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
 * rest, and config.json with the official keys plus the `quantization` block. Files are atomic; the
 * safetensors file is written tensor by tensor (never held whole in memory: a 6.9B model's would be 7 GB).
 */
export async function saveQuantized(model: DcformerModel, dir: string): Promise<QuantizationBlock> {
  const compact = compactWeightsOf(model);
  const first = [...compact.values()][0];
  if (first === undefined || !isQuantized(first.format))
    throw new ConfigError(
      'saveQuantized: the model holds no int8/int4 weights; quantise it first (compactModel)',
      'dtype',
    );
  const specs = new Map<string, RawTensorSpec>();
  const bytesOf = new Map<string, () => Promise<Uint8Array>>();
  const view = (a: Int32Array | Float32Array) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
  for (const spec of model.specs) {
    const w = compact.get(spec.official);
    if (w === undefined) {
      const v = model.variables.get(spec.official) as Variable;
      specs.set(spec.official, { dtype: 'F32', shape: spec.shape });
      bytesOf.set(spec.official, async () => view((await v.data()) as Float32Array));
      continue;
    }
    if (w.format !== first.format || w.groupSize !== first.groupSize)
      throw new ConfigError(
        `saveQuantized: '${spec.official}' is ${w.format} G${w.groupSize}; every weight must be ${first.format} G${first.groupSize}`,
        'dtype',
      );
    const p = prefixOf(spec.official);
    specs.set(`${p}.qweight`, {
      dtype: w.format === 'int8' ? 'I8' : 'U8',
      shape: w.format === 'int8' ? [w.N, w.K] : [w.N, w.K / 2],
    });
    bytesOf.set(`${p}.qweight`, async () => view((await w.data.data()) as Int32Array));
    specs.set(`${p}.scales`, { dtype: 'F32', shape: [w.N, w.K / w.groupSize] });
    bytesOf.set(`${p}.scales`, async () => view((await (w.scales as Tensor).data()) as Float32Array));
  }
  const block: QuantizationBlock = {
    format: first.format as 'int8' | 'int4',
    group_size: first.groupSize,
    modules: [...compact.keys()],
    scales_dtype: 'F32',
    layout: first.format === 'int8' ? INT8_LAYOUT : INT4_LAYOUT,
  };
  await writeRawSafetensorsStreaming(
    dir,
    specs,
    async function* (name) {
      yield await (bytesOf.get(name) as () => Promise<Uint8Array>)();
    },
    { producer: 'dcformer-ts quantize' },
  );
  const config = { ...configToJson(model.config), torch_dtype: 'float32', quantization: block };
  await writeFileAtomic(join(dir, 'config.json'), `${JSON.stringify(config, null, 2)}\n`);
  return block;
}

/**
 * Rows [n0, n1) of the official tensor `name` as float32, row-major, the tensor seen as
 * [shape[0], product of the rest] (a 1-D tensor is one row): the source of writeQuantizedFrom.
 */
export type RowSource = (name: string, shape: readonly number[], n0: number, n1: number) => Float32Array;

/** [rows, row length] of a tensor as RowSource sees it. */
export function rowsOf(shape: readonly number[]): [number, number] {
  if (shape.length <= 1) return [1, shape[0] ?? 1];
  return [shape[0], shape.slice(1).reduce((a, b) => a * b, 1)];
}

/**
 * Writes a quantised checkpoint of `config` in `dir` (the files `dcformer quantize` writes) from
 * float32 rows asked for on demand, quantising each slice of rows as it comes: no weight ever exists
 * whole in float32, and the file is written tensor by tensor. For models made up on the spot (the
 * 6.9B-shaped measurement of issue 18, tests); `dcformer quantize` converts a real checkpoint.
 */
export async function writeQuantizedFrom(
  dir: string,
  config: ModelConfig,
  format: 'int8' | 'int4',
  rows: RowSource,
  groupSize = 64,
): Promise<QuantizationBlock> {
  const modules = new Map(compactSpecs(config, true, true).map((s) => [s.official, s]));
  for (const s of modules.values()) checkGroup(`writeQuantizedFrom (${s.official})`, format, s.shape[1], groupSize);
  const specs = new Map<string, RawTensorSpec>();
  const sources = new Map<string, () => Iterable<Uint8Array>>();
  const pendingScales = new Map<string, Float32Array>();
  const bytes = (a: Int32Array | Float32Array) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
  const rowsPerSlice = (K: number) => Math.max(1, Math.floor(SINK_SLICE_BYTES / 4 / K));
  for (const spec of weightSpecs(config)) {
    const module = modules.get(spec.official);
    const [N, K] = rowsOf(spec.shape);
    if (module === undefined) {
      specs.set(spec.official, { dtype: 'F32', shape: spec.shape });
      sources.set(spec.official, function* () {
        for (let n0 = 0; n0 < N; n0 += rowsPerSlice(K))
          yield bytes(rows(spec.official, spec.shape, n0, Math.min(N, n0 + rowsPerSlice(K))));
      });
      continue;
    }
    const p = prefixOf(spec.official);
    const [Np, Kp] = module.shape; // packed rows (a transposed weight: its file rows are packed columns)
    specs.set(`${p}.qweight`, {
      dtype: format === 'int8' ? 'I8' : 'U8',
      shape: format === 'int8' ? [Np, Kp] : [Np, Kp / 2],
    });
    specs.set(`${p}.scales`, { dtype: 'F32', shape: [Np, Kp / groupSize] });
    // P.qweight sorts before P.scales, so the scales gathered while packing are ready when asked for
    sources.set(
      `${p}.qweight`,
      module.transposed
        ? function* () {
            // an input-major weight (dw1, dd) is packed whole (one layer's: a few MB)
            const part = packSpec(module, rows(spec.official, spec.shape, 0, N), format, groupSize);
            pendingScales.set(p, part.scales as Float32Array);
            yield bytes(part.data);
          }
        : function* () {
            const scales = new Float32Array((N * K) / groupSize);
            for (let n0 = 0; n0 < N; n0 += rowsPerSlice(K)) {
              const n1 = Math.min(N, n0 + rowsPerSlice(K));
              const part = packSpec(
                { ...spec, shape: [n1 - n0, K] },
                rows(spec.official, spec.shape, n0, n1),
                format,
                groupSize,
              );
              scales.set(part.scales as Float32Array, (n0 * K) / groupSize);
              yield bytes(part.data);
            }
            pendingScales.set(p, scales);
          },
    );
    sources.set(`${p}.scales`, function* () {
      const scales = pendingScales.get(p);
      if (scales === undefined)
        throw new Error(`writeQuantizedFrom: internal: '${p}.scales' asked before '${p}.qweight'`);
      pendingScales.delete(p);
      yield bytes(scales);
    });
  }
  const block: QuantizationBlock = {
    format,
    group_size: groupSize,
    modules: [...modules.keys()],
    scales_dtype: 'F32',
    layout: format === 'int8' ? INT8_LAYOUT : INT4_LAYOUT,
  };
  await writeRawSafetensorsStreaming(dir, specs, (name) => (sources.get(name) as () => Iterable<Uint8Array>)(), {
    producer: 'dcformer-ts writeQuantizedFrom',
  });
  const json = { ...configToJson(config), torch_dtype: 'float32', quantization: block };
  await writeFileAtomic(join(dir, 'config.json'), `${JSON.stringify(json, null, 2)}\n`);
  return block;
}
