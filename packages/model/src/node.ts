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
}

/** Bytes of the float32 parameters of `config` (weights are computed in float32 whatever the file holds). */
export function float32WeightBytes(config: ModelConfig): number {
  return weightSpecs(config).reduce((n, s) => n + 4 * s.shape.reduce((a, b) => a * b, 1), 0);
}

const GB = 1e9;

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
  // Refuse before reading: a model that cannot fit would otherwise swap the machine to death.
  const need = float32WeightBytes(config);
  const limit = options.memoryLimitBytes ?? 0.85 * totalmem();
  if (need > limit) {
    throw new CheckpointError(
      `${dir}: this model needs ${(need / GB).toFixed(1)} GB for its float32 weights, more than the ${(limit / GB).toFixed(1)} GB available here (85% of ${(totalmem() / GB).toFixed(1)} GB); half-precision weight storage is not supported yet`,
    );
  }
  // Names and shapes are checked against the config before any tensor is allocated or read.
  // Extras the model ignores (dyn_w_proj.* of a use_dcmha: false checkpoint) may have any shape.
  const expected = new Map<string, number[] | null>([
    ...weightSpecs(config).map((s): [string, number[]] => [s.official, s.shape]),
    ...extraSpecs(config).map((e): [string, number[] | null] => [e.official, e.kind === 'ignored' ? null : e.shape]),
  ]);
  const expect = (name: string, shape: readonly number[], file: string): void => {
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
  const weights = await readCheckpointWeights(dir, { expect, maxBytes: limit });
  if (weights.size === 0) throw new CheckpointError(`${dir}: the checkpoint holds no tensors`);
  return modelFromWeights(config, weights, { onWarning: options.onWarning, source: dir });
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
