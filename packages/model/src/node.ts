/**
 * Node entry: model directories on disk (config.json + safetensors, single or sharded).
 * Writes are atomic: a failed save leaves the previous files untouched.
 */
import { totalmem } from 'node:os';
import { join } from 'node:path';
import { CheckpointError, ConfigError, formatShape } from '@dcformer/kernels';
import { configToJson, parseConfig, type ParseConfigOptions } from './config.js';
import { modelFromWeights, modelWeightsAsync } from './checkpoint.js';
import type { DcformerModel } from './model.js';
import {
  checkpointEntry,
  parseJsonBounded,
  readCheckpointWeights,
  readRegularTextFile,
  writeFileAtomic,
  writeSafetensorsWeights,
  type WriteDtype,
} from '@dcformer/checkpoint/node';
import { extraSpecs, weightSpecs } from './weights.js';
import { type WeightDtype, WEIGHT_DTYPES } from '@dcformer/kernels';
import { weightBytesOf } from './compact.js';
import { installPacked, packingSink, readQuantization, readQuantizedWeights, scaleNames } from './compact-load.js';
import type { ModelConfig } from './config.js';

// The file formats live in @dcformer/checkpoint (no tfjs); re-exported here for the users of
// @dcformer/model/node from before the move.
export {
  readCheckpointWeights,
  readSafetensorsWeights,
  readSafetensorsFile,
  writeFileAtomic,
  writeSafetensorsWeights,
  SAFETENSORS_FILE,
  SAFETENSORS_INDEX_FILE,
  TORCH_FILE,
  TORCH_INDEX_FILE,
  type CheckpointWeights,
  type LoadedTensor,
  type SkippedTensor,
  readTorchStateDict,
  openTorchCheckpoint,
  MAX_READ_SLICE,
  checkpointEntry,
  ensureDirectory,
  nonRegularReason,
  openRegularFile,
  readRegularFile,
  readRegularTextFile,
  type MakeError,
  MAX_JSON_DEPTH,
  parseJsonBounded,
  AllocationBudget,
  FILE_EXPANSION,
} from '@dcformer/checkpoint/node';

/** A config.json is a few hundred bytes; this bounds what a hostile one can make us read. */
export const MAX_CONFIG_BYTES = 1 << 20;

export interface LoadModelOptions extends ParseConfigOptions {
  /** Bytes the float32 weights may take; default: 85% of this machine's memory. */
  memoryLimitBytes?: number;
  /**
   * Weight format in memory: f32 (default), or bf16 / f16 / int8 / int4 for the linear weights and the
   * embedding (compact.ts), packed tensor by tensor while reading. A quantised checkpoint loads in its
   * own format.
   */
  dtype?: WeightDtype;
  /** int8 / int4 group size (default 64). */
  groupSize?: number;
}

/** Bytes of the float32 parameters of `config` (weights are computed in float32 whatever the file holds). */
export function float32WeightBytes(config: ModelConfig): number {
  return weightSpecs(config).reduce((n, s) => n + 4 * s.shape.reduce((a, b) => a * b, 1), 0);
}

const GB = 1e9;
const size = (bytes: number) =>
  bytes >= 0.1 * GB ? `${(bytes / GB).toFixed(1)} GB` : `${(bytes / 1e6).toFixed(1)} MB`;

/** Reads and validates `DIR/config.json`. */
export async function readConfig(dir: string, options: ParseConfigOptions = {}) {
  const path = join(dir, 'config.json');
  const configError = (message: string) => new ConfigError(`cannot read the model config: ${message}`);
  // A link is followed only inside the folder (or its Hugging Face cache blobs), like the weights.
  await checkpointEntry(dir, 'config.json', configError);
  const text = await readRegularTextFile(path, MAX_CONFIG_BYTES, configError);
  const json = parseJsonBounded(text, (message) => {
    throw new ConfigError(`${path} ${message}`);
  });
  return parseConfig(json, options);
}

/** Loads a model directory: config.json with the official keys + model.safetensors (or a sharded index). */
export async function loadModel(dir: string, options: LoadModelOptions = {}): Promise<DcformerModel> {
  const config = await readConfig(dir, options);
  const quantization = await readQuantization(dir, config);
  if (quantization !== null && options.dtype !== undefined && options.dtype !== quantization.format)
    throw new ConfigError(
      `${dir}: this checkpoint is quantised to ${quantization.format}; load it without --dtype (or with --dtype ${quantization.format})`,
      'dtype',
    );
  const dtype: WeightDtype = quantization?.format ?? options.dtype ?? 'f32';
  const groupSize = quantization?.group_size ?? options.groupSize;
  // Refuse before reading: a model that cannot fit would otherwise swap the machine to death.
  const need = weightBytesOf(config, dtype, groupSize);
  const limit = options.memoryLimitBytes ?? 0.85 * totalmem();
  if (need > limit) {
    const fits = WEIGHT_DTYPES.filter((d) => weightBytesOf(config, d, groupSize) <= limit);
    throw new CheckpointError(
      `${dir}: this model needs ${size(need)} for its ${dtype === 'f32' ? 'float32' : dtype} weights, more than the ${size(limit)} available here (85% of ${size(totalmem())}); ${fits.length > 0 ? `formats that fit: ${fits.map((d) => `--dtype ${d} (${size(weightBytesOf(config, d, groupSize))})`).join(', ')}` : 'no weight format fits'}`,
    );
  }
  const scales = quantization === null ? new Set<string>() : scaleNames(quantization);
  const packing = quantization === null && dtype !== 'f32' ? packingSink(config, dtype, groupSize) : null;
  // Names and shapes are checked against the config before any tensor is allocated or read.
  // Extras the model ignores (dyn_w_proj.* of a use_dcmha: false checkpoint) may have any shape.
  const expected = new Map<string, number[] | null>([
    ...weightSpecs(config).map((s): [string, number[]] => [s.official, s.shape]),
    ...extraSpecs(config).map((e): [string, number[] | null] => [e.official, e.kind === 'ignored' ? null : e.shape]),
  ]);
  const expect = (name: string, shape: readonly number[], file: string): void => {
    if (scales.has(name)) return; // a quantised checkpoint's scales: checked in readQuantizedWeights
    const want = expected.get(name);
    if (want === undefined) {
      throw new CheckpointError(
        `${file}: unexpected tensor '${name}' for a ${config.family} model with ${config.nLayer} layers`,
        { file, tensorName: name },
      );
    }
    if (want !== null && (want.length !== shape.length || want.some((d, i) => d !== shape[i]))) {
      throw new CheckpointError(
        `${file}: tensor '${name}' must have shape ${formatShape(want)}; found ${formatShape(shape)}`,
        { file, tensorName: name },
      );
    }
  };
  // Compact loads charge no float32 ceiling: their weights never exist in float32 (the files' own bound holds).
  const compact = dtype !== 'f32';
  const weights = await readCheckpointWeights(dir, {
    expect,
    maxBytes: compact ? undefined : limit,
    sink: packing?.sink,
  });
  if (weights.size === 0) throw new CheckpointError(`${dir}: the checkpoint holds no tensors`);
  const packed =
    quantization !== null ? await readQuantizedWeights(dir, config, quantization, weights) : packing?.packed;
  const model = modelFromWeights(config, weights, {
    onWarning: options.onWarning,
    source: dir,
    placeholders: packed === undefined ? undefined : new Set(packed.keys()),
  });
  if (packed !== undefined) installPacked(model, packed);
  return model;
}

export interface SaveModelOptions {
  /** Storage type of the weights: F32 (default), or F16 / BF16 rounded to nearest even. */
  dtype?: WriteDtype;
}

const TORCH_DTYPE: Record<WriteDtype, string> = { F32: 'float32', F16: 'float16', BF16: 'bfloat16' };

/**
 * Writes config.json (official keys; `torch_dtype` names the storage type) and model.safetensors
 * (official names, F32 unless `options.dtype` says otherwise) into `dir`. Reads the weights with
 * `await data()`, so it works on every backend.
 */
export async function saveModel(model: DcformerModel, dir: string, options: SaveModelOptions = {}): Promise<void> {
  const dtype = options.dtype ?? 'F32';
  await writeSafetensorsWeights(
    dir,
    await modelWeightsAsync(model),
    { format: 'pt', producer: 'dcformer-ts' },
    { dtype },
  );
  const config = { ...configToJson(model.config), torch_dtype: TORCH_DTYPE[dtype] };
  await writeFileAtomic(join(dir, 'config.json'), `${JSON.stringify(config, null, 2)}\n`);
}
export {
  saveQuantized,
  readQuantization,
  writeQuantizedFrom,
  type QuantizationBlock,
  type RowSource,
} from './compact-load.js';
