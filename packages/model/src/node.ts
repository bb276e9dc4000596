/**
 * Node entry: model directories on disk (config.json + safetensors, single or sharded).
 * Writes are atomic: a failed save leaves the previous files untouched.
 */
import { readFile } from 'node:fs/promises';
import { totalmem } from 'node:os';
import { join } from 'node:path';
import { CheckpointError, ConfigError } from '@dcformer/kernels';
import { configToJson, parseConfig, type ParseConfigOptions } from './config.js';
import { modelFromWeights, modelWeightsAsync } from './checkpoint.js';
import type { DcformerModel } from './model.js';
import { readCheckpointWeights, writeFileAtomic, writeSafetensorsWeights } from './checkpoint/files.js';
import { weightSpecs } from './weights.js';
import type { ModelConfig } from './config.js';

export {
  readCheckpointWeights,
  readSafetensorsWeights,
  writeFileAtomic,
  writeSafetensorsWeights,
  SAFETENSORS_FILE,
  SAFETENSORS_INDEX_FILE,
  TORCH_FILE,
  TORCH_INDEX_FILE,
  type CheckpointWeights,
  type LoadedTensor,
  type SkippedTensor,
} from './checkpoint/files.js';
export { readTorchStateDict, openTorchCheckpoint } from './checkpoint/torch-bin.js';

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
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new ConfigError(`${path}: cannot read the model config (${code === 'ENOENT' ? 'no such file' : code ?? String(e)})`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new ConfigError(`${path}: not valid JSON (${(e as Error).message})`);
  }
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
  const weights = await readCheckpointWeights(dir);
  if (weights.size === 0) throw new CheckpointError(`${dir}: the checkpoint holds no tensors`);
  return modelFromWeights(config, weights, { onWarning: options.onWarning, source: dir });
}

/**
 * Writes config.json (official keys) and model.safetensors (official names, F32) into `dir`. Reads
 * the weights with `await data()`, so it works on every backend.
 */
export async function saveModel(model: DcformerModel, dir: string): Promise<void> {
  await writeSafetensorsWeights(dir, await modelWeightsAsync(model), { format: 'pt', producer: 'dcformer-ts' });
  await writeFileAtomic(join(dir, 'config.json'), `${JSON.stringify(configToJson(model.config), null, 2)}\n`);
}
