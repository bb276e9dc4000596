/**
 * Node entry: model directories on disk (config.json + safetensors, single or sharded).
 * Writes are atomic: a failed save leaves the previous files untouched.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CheckpointError, ConfigError } from '@dcformer/kernels';
import { configToJson, parseConfig, type ParseConfigOptions } from './config.js';
import { modelFromWeights, modelWeights } from './checkpoint.js';
import type { DcformerModel } from './model.js';
import { readSafetensorsWeights, writeFileAtomic, writeSafetensorsWeights } from './checkpoint/files.js';

export { readSafetensorsWeights, writeFileAtomic, writeSafetensorsWeights, SAFETENSORS_FILE, SAFETENSORS_INDEX_FILE, type LoadedTensor } from './checkpoint/files.js';

export interface LoadModelOptions extends ParseConfigOptions {}

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
  const weights = await readSafetensorsWeights(dir);
  if (weights.size === 0) throw new CheckpointError(`${dir}: the checkpoint holds no tensors`);
  return modelFromWeights(config, weights, { onWarning: options.onWarning, source: dir });
}

/** Writes config.json (official keys) and model.safetensors (official names, F32) into `dir`. */
export async function saveModel(model: DcformerModel, dir: string): Promise<void> {
  await writeSafetensorsWeights(dir, modelWeights(model), { format: 'pt', producer: 'dcformer-ts' });
  await writeFileAtomic(join(dir, 'config.json'), `${JSON.stringify(configToJson(model.config), null, 2)}\n`);
}
