/**
 * Training checkpoints on disk (Node only). One directory per step, `<root>/step-000600/`:
 *
 *   config.json, model.safetensors   the model, official keys and names (what `dcformer generate` loads)
 *   tokenizer files                  copied in, so the directory is a complete model directory
 *   optimizer.safetensors            AdamW moments, `exp_avg.<name>` / `exp_avg_sq.<name>` (F32)
 *   trainer_state.json               step, RNG, data cursor, hyper-parameters: what --resume needs
 *
 * A checkpoint is written into a hidden temporary directory and renamed into place only when every
 * file is on disk, so a crash (even SIGKILL) mid-write leaves the previous checkpoints untouched and
 * no half-written `step-*` directory. trainer_state.json is the last file written.
 */
import { randomBytes } from 'node:crypto';
import { copyFile, mkdir, open, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { CheckpointError, InputError } from '@dcformer/kernels';
import { serializeSafetensors, type DcformerModel, type TensorToWrite } from '@dcformer/model';
import {
  ensureDirectory,
  loadModel,
  readRegularFile,
  readSafetensorsFile,
  saveModel,
  writeFileAtomic,
} from '@dcformer/model/node';
import type { AdamWState } from './adamw.js';

export const TRAINER_STATE_FILE = 'trainer_state.json';
export const OPTIMIZER_FILE = 'optimizer.safetensors';
const STEP_DIR = /^step-(\d+)$/;

export interface CheckpointInfo {
  step: number;
  dir: string;
}

/** Stages reported while writing, in order (tests use them to interrupt a write). */
export type CheckpointStage = 'model' | 'tokenizer' | 'optimizer' | 'state' | 'rename';

export interface ExtraFile {
  source: string;
  /** File name inside the checkpoint directory. */
  name: string;
  /**
   * The file's bytes, read once by `snapshotExtraFiles`. Saves then write these instead of copying
   * `source`, which may be gone by then: a run resumed from `step-N` takes its tokenizer from there,
   * and `keep` deletes `step-N` once newer checkpoints exist.
   */
  bytes?: Uint8Array;
}

/** Reads every extra file now (regular files only, at most 1 GiB each), so later saves need no source. */
export async function snapshotExtraFiles(files: readonly ExtraFile[]): Promise<ExtraFile[]> {
  const out: ExtraFile[] = [];
  for (const f of files) {
    const bytes =
      f.bytes ?? (await readRegularFile(f.source, 1 << 30, (m) => new InputError(`checkpoint file ${f.name}: ${m}`)));
    out.push({ ...f, bytes });
  }
  return out;
}

export interface SaveCheckpointOptions {
  /** Files copied into the checkpoint (the tokenizer's), each under the name a loader looks for. */
  extraFiles?: readonly ExtraFile[];
  /** Keep only the newest `keep` checkpoints (older ones are deleted after the new one is in place). */
  keep?: number;
  /** Called before each stage; may be async (awaited). */
  onStage?: (stage: CheckpointStage) => void | Promise<void>;
}

export function stepDirName(step: number): string {
  return `step-${String(step).padStart(6, '0')}`;
}

/** Checkpoints under `root` that are complete (have trainer_state.json), oldest first. */
export async function listCheckpoints(root: string): Promise<CheckpointInfo[]> {
  let names: string[];
  try {
    names = await readdir(root);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return []; // no run there (yet); writability is checked elsewhere
    throw e;
  }
  const out: CheckpointInfo[] = [];
  for (const name of names) {
    const m = STEP_DIR.exec(name);
    if (!m) continue;
    const dir = join(root, name);
    try {
      await stat(join(dir, TRAINER_STATE_FILE));
      out.push({ step: Number(m[1]), dir });
    } catch {
      // not a complete checkpoint (cannot happen through saveCheckpoint; a hand-made directory)
    }
  }
  return out.sort((a, b) => a.step - b.step);
}

export async function latestCheckpoint(root: string): Promise<CheckpointInfo | null> {
  const all = await listCheckpoints(root);
  return all.length === 0 ? null : all[all.length - 1];
}

/** Removes temporary directories left by interrupted writes. Only call when no other writer uses `root`. */
export async function removeStaleTemporaries(root: string): Promise<void> {
  let names: string[] = [];
  try {
    names = await readdir(root);
  } catch {
    return;
  }
  await Promise.all(
    names.filter((n) => n.startsWith('.tmp-')).map((n) => rm(join(root, n), { recursive: true, force: true })),
  );
}

/** True when every weight is finite: a checkpoint must never hold NaN or Infinity. Synchronous: cpu/wasm only. */
export function weightsFinite(model: DcformerModel): boolean {
  const ok = tf.tidy(() => tf.all(tf.stack([...model.variables.values()].map((v) => tf.all(tf.isFinite(v))))));
  const value = ok.dataSync()[0];
  ok.dispose();
  return value === 1;
}

/**
 * Reads every weight to the host with `await data()` and says whether all are finite. saveModel
 * (@dcformer/model/node) reads weights with dataSync(), which a GPU backend refuses for data that
 * lives only on the device (tfjs-backend-webgpu in Node throws); after an asynchronous read tfjs
 * keeps the values on the host until the next update replaces the variable's data, so that
 * synchronous read then succeeds on every backend. On cpu the values are already there.
 */
async function weightsToHost(model: DcformerModel): Promise<boolean> {
  let finite = true;
  for (const v of model.variables.values()) {
    const data = (await v.data()) as Float32Array;
    for (let i = 0; finite && i < data.length; i++) finite = Number.isFinite(data[i]);
  }
  return finite;
}

async function syncDir(dir: string): Promise<void> {
  const handle = await open(dir, 'r').catch(() => undefined);
  await handle?.sync().catch(() => undefined);
  await handle?.close().catch(() => undefined);
}

/** Writes a checkpoint for `step` under `root` (atomically) and returns its directory. */
export async function saveCheckpoint(
  root: string,
  step: number,
  content: { model: DcformerModel; optimizer: AdamWState; state: Record<string, unknown> },
  options: SaveCheckpointOptions = {},
): Promise<string> {
  if (!(await weightsToHost(content.model))) {
    throw new CheckpointError(`refusing to write checkpoint ${stepDirName(step)}: the model has non-finite weights`);
  }
  await ensureDirectory(root);
  const final = join(root, stepDirName(step));
  const temp = join(root, `.tmp-${stepDirName(step)}-${process.pid}-${randomBytes(4).toString('hex')}`);
  await mkdir(temp);
  try {
    await options.onStage?.('model');
    await saveModel(content.model, temp);
    await options.onStage?.('tokenizer');
    for (const file of options.extraFiles ?? []) {
      if (file.bytes !== undefined) await writeFile(join(temp, file.name), file.bytes);
      else await copyFile(file.source, join(temp, file.name));
    }
    await options.onStage?.('optimizer');
    const tensors = new Map<string, TensorToWrite>();
    for (const [name, v] of content.model.variables) {
      const shape = v.shape as number[];
      tensors.set(`exp_avg.${name}`, { shape, data: content.optimizer.expAvg.get(name) as Float32Array });
      tensors.set(`exp_avg_sq.${name}`, { shape, data: content.optimizer.expAvgSq.get(name) as Float32Array });
    }
    await writeFileAtomic(
      join(temp, OPTIMIZER_FILE),
      serializeSafetensors(tensors, { step: String(content.optimizer.step) }),
    );
    await options.onStage?.('state');
    await writeFileAtomic(join(temp, TRAINER_STATE_FILE), `${JSON.stringify(content.state, null, 2)}\n`);
    await options.onStage?.('rename');
    // A checkpoint of the same step (a rerun after resuming from an earlier one) is replaced.
    await rm(final, { recursive: true, force: true });
    await rename(temp, final);
    await syncDir(root);
  } catch (e) {
    await rm(temp, { recursive: true, force: true }).catch(() => undefined);
    throw e;
  }
  if (options.keep !== undefined && options.keep > 0) {
    const all = await listCheckpoints(root);
    for (const old of all.slice(0, Math.max(0, all.length - options.keep)))
      await rm(old.dir, { recursive: true, force: true });
  }
  return final;
}

export interface LoadedCheckpoint {
  dir: string;
  model: DcformerModel;
  optimizer: AdamWState;
  state: Record<string, unknown>;
}

/** Reads a checkpoint directory written by saveCheckpoint. Errors name the file. */
export async function loadCheckpoint(dir: string): Promise<LoadedCheckpoint> {
  const statePath = join(dir, TRAINER_STATE_FILE);
  let state: Record<string, unknown>;
  try {
    state = JSON.parse(await readFile(statePath, 'utf8'));
  } catch (e) {
    throw new CheckpointError(`${statePath}: cannot read the trainer state (${(e as Error).message})`, {
      file: statePath,
    });
  }
  const optPath = join(dir, OPTIMIZER_FILE);
  // Read in bounded slices: the moments of a 2.8B model are 2 × 11 GB, far past readFile's 2 GiB.
  let parsed: Awaited<ReturnType<typeof readSafetensorsFile>>;
  try {
    parsed = await readSafetensorsFile(optPath);
  } catch (e) {
    if (CheckpointError.isInstance(e)) throw e;
    throw new CheckpointError(`${optPath}: cannot read the optimizer state (${(e as Error).message})`, {
      file: optPath,
    });
  }
  const expAvg = new Map<string, Float32Array>();
  const expAvgSq = new Map<string, Float32Array>();
  for (const [key, { data }] of parsed.tensors) {
    if (key.startsWith('exp_avg_sq.')) expAvgSq.set(key.slice('exp_avg_sq.'.length), data);
    else if (key.startsWith('exp_avg.')) expAvg.set(key.slice('exp_avg.'.length), data);
    else throw new CheckpointError(`${optPath}: unexpected tensor '${key}'`, { file: optPath, tensorName: key });
  }
  const step = Number(parsed.metadata?.step);
  if (!Number.isInteger(step) || step < 0)
    throw new CheckpointError(`${optPath}: metadata 'step' must be an integer >= 0`, { file: optPath });
  const model = await loadModel(dir, { onWarning: () => {} });
  return { dir, model, optimizer: { step, expAvg, expAvgSq }, state };
}
