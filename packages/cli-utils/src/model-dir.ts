/**
 * What `--model PATH` (and dcformer-train's `--init-from PATH`) may name besides a checkpoint folder:
 * a training run folder (dcformer-train's --out), whose latest checkpoint is meant. Resolved here,
 * once, so every command accepts the same paths.
 */
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { HubNotFoundError, parseHubId, resolveHubModel, type HubOptions } from './hub.js';
import { CliError } from './report.js';

/** dcformer-train's layout: DIR/checkpoints/step-NNNNNN/, each a complete model folder. */
const CHECKPOINTS = 'checkpoints';
const STEP_DIR = /^step-(\d+)$/;

export interface ResolvedModelDir {
  /** The folder to load: `path` itself, or the run's latest checkpoint. */
  dir: string;
  /** One line for stderr when the path was not used as given (a run folder); null otherwise. */
  note: string | null;
}

async function isDirectory(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isDirectory();
  } catch {
    return false;
  }
}

async function isFile(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isFile();
  } catch {
    return false;
  }
}

/** The highest step-NNNNNN folder under `root` that holds a config.json (a finished write), or null. */
async function latestStep(root: string): Promise<string | null> {
  let names: string[];
  try {
    names = await readdir(root);
  } catch {
    return null;
  }
  const steps = names
    .map((name) => ({ name, step: STEP_DIR.exec(name) }))
    .filter((e): e is { name: string; step: RegExpExecArray } => e.step !== null)
    .sort((a, b) => Number(b.step[1]) - Number(a.step[1]));
  for (const { name } of steps) if (await isFile(join(root, name, 'config.json'))) return join(root, name);
  return null;
}

/**
 * Resolves a local model path given with `flag` (e.g. '--model'): a folder with config.json is used
 * as it is; a run folder (DIR/checkpoints/step-N/) gives its latest complete checkpoint; a
 * `--compare-mha` run (DIR/dcformer, DIR/transformer) is an error asking for one of them. Anything
 * else is returned unchanged for the loader to explain. A path that does not exist but reads as
 * `org/name[@revision]` is a Hugging Face model (hub.ts: the cache, downloading what is missing);
 * any other missing path or a file is a CliError.
 *
 * @example await resolveModelDir('runs/tiny', '--model') // -> { dir: 'runs/tiny/checkpoints/step-000120', note: '…' }
 */
export async function resolveModelDir(path: string, flag: string, hub: HubOptions = {}): Promise<ResolvedModelDir> {
  let isDir: boolean;
  try {
    isDir = (await stat(path)).isDirectory();
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    // Not here: `org/name[@revision]` is a Hugging Face model (a local path always wins).
    const id = code === 'ENOENT' ? parseHubId(path) : null;
    if (id !== null) {
      const snapshot = await resolveHubModel(id, hub).catch((err: unknown) => {
        // most likely a mistyped local path: say that first
        if (err instanceof HubNotFoundError)
          throw new CliError(`cannot read ${flag} ${path}: no such directory, nor a model on the Hub (${err.message})`);
        throw err;
      });
      return {
        dir: snapshot.dir,
        note: `${flag} ${path}: the Hugging Face model at commit ${snapshot.commit.slice(0, 10)}, ${snapshot.dir}`,
      };
    }
    const reason =
      code === 'ENOENT'
        ? 'no such directory'
        : code === 'EACCES' || code === 'EPERM'
          ? 'permission denied'
          : (e as Error).message;
    throw new CliError(`cannot read ${flag} ${path}: ${reason}`);
  }
  if (!isDir)
    throw new CliError(`${flag} ${path} is not a directory (expected config.json + weights, or a training run folder)`);
  if (await isFile(join(path, 'config.json'))) return { dir: path, note: null };
  if (await isDirectory(join(path, CHECKPOINTS))) {
    const latest = await latestStep(join(path, CHECKPOINTS));
    if (latest === null)
      throw new CliError(
        `${flag} ${path} is a training run folder with no complete checkpoint yet (${join(path, CHECKPOINTS)} holds no step-N/config.json)`,
      );
    return { dir: latest, note: `${flag} ${path} is a training run folder: using its latest checkpoint, ${latest}` };
  }
  const runs = [];
  for (const name of ['dcformer', 'transformer'])
    if (await isDirectory(join(path, name, CHECKPOINTS))) runs.push(join(path, name));
  if (runs.length > 0)
    throw new CliError(
      `${flag} ${path} holds a comparison of ${runs.length} runs; give one of them: ${runs.join(', ')}`,
    );
  return { dir: path, note: null };
}
