/**
 * Reading and checking what the user points the CLI at, before anything slow happens: the ids
 * file, the model directory, the output path. Each problem is a CliError worded for the user,
 * naming the flag and the file.
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { CliError, fsReason } from '@dcformer/cli-utils';

/**
 * Reads `{"input_ids": [[int, ...], ...]}` and checks it is a non-empty rectangle of integers.
 * Range checks need the model's config and happen in `checkIdsFit`.
 */
export async function readIdsFile(path: string, options: { ragged?: boolean } = {}): Promise<number[][]> {
  const { nonRegularReason, parseJsonBounded } = await import('@dcformer/model/node');
  // A FIFO would block the read forever, /dev/zero would never end: only regular files.
  const notFile = await nonRegularReason(path);
  if (notFile !== null) throw new CliError(`cannot read --input ${path}: ${notFile}`);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    throw new CliError(`cannot read --input ${path}: ${fsReason(e)}`);
  }
  const json = parseJsonBounded(text, (message) => {
    throw new CliError(`--input ${path} ${message}`);
  });
  const rows = (json as { input_ids?: unknown } | null)?.input_ids;
  const shapeHint = 'expected {"input_ids": [[int, ...], ...]}';
  if (!Array.isArray(rows) || rows.length === 0) {
    throw new CliError(`--input ${path}: input_ids must be a non-empty array of rows; ${shapeHint}`);
  }
  const T = Array.isArray(rows[0]) ? rows[0].length : -1;
  rows.forEach((row: unknown, b) => {
    if (!Array.isArray(row)) throw new CliError(`--input ${path}: input_ids[${b}] is not an array; ${shapeHint}`);
    if (row.length !== T && !options.ragged) {
      throw new CliError(
        `--input ${path}: input_ids is ragged: row 0 has ${T} tokens, row ${b} has ${row.length}; ` +
          'rows must have equal length (run rows of different lengths separately)',
      );
    }
    row.forEach((id: unknown, t) => {
      if (typeof id !== 'number' || !Number.isInteger(id)) {
        throw new CliError(`--input ${path}: input_ids[${b}][${t}] = ${JSON.stringify(id)} is not an integer`);
      }
    });
  });
  if (rows.some((row: unknown[]) => row.length === 0)) throw new CliError(`--input ${path}: input_ids rows are empty`);
  return rows as number[][];
}

/**
 * Checks ids against the model: 0 <= id < vocab_size and T <= block_size (and T >= minLength).
 * The model validates too; checking here first names the file and keeps stderr to one line.
 */
export function checkIdsFit(
  ids: number[][],
  config: { vocabSize: number; blockSize: number },
  path: string,
  minLength = 1,
): void {
  const T = ids[0].length;
  if (T > config.blockSize) {
    throw new CliError(`--input ${path}: ${T} tokens per row exceed the model's block_size ${config.blockSize}`);
  }
  if (T < minLength) {
    throw new CliError(`--input ${path}: ${T} token(s) per row; this command needs at least ${minLength}`);
  }
  ids.forEach((row, b) =>
    row.forEach((id, t) => {
      if (id < 0 || id >= config.vocabSize) {
        throw new CliError(
          `--input ${path}: input_ids[${b}][${t}] = ${id} is outside the vocabulary [0, ${config.vocabSize})`,
        );
      }
    }),
  );
}

/** --model must be an existing directory (loadModel would otherwise report a missing config.json). */
export async function checkModelDir(path: string): Promise<void> {
  let isDir: boolean;
  try {
    isDir = (await stat(path)).isDirectory();
  } catch (e) {
    const reason = fsReason(e);
    throw new CliError(`cannot read --model ${path}: ${reason === 'no such file' ? 'no such directory' : reason}`);
  }
  if (!isDir) throw new CliError(`--model ${path} is not a directory (expected config.json + weights)`);
}

/**
 * Bytes of the weight files in a model directory (safetensors, torch .bin), for the backend choice:
 * the default does not put a model on wasm that its 4 GiB heap cannot hold. undefined when the
 * directory cannot be listed (loading will then say why).
 */
export async function weightFileBytes(dir: string): Promise<number | undefined> {
  try {
    let total = 0;
    for (const name of await readdir(dir)) {
      if (/\.(safetensors|bin|pt|pth)$/.test(name)) total += (await stat(join(dir, name))).size;
    }
    return total;
  } catch {
    return undefined;
  }
}

/** --out must be writable where it is: its folder exists and it is not itself a folder. */
export async function checkOutPath(path: string): Promise<void> {
  const folder = dirname(resolve(path));
  try {
    if (!(await stat(folder)).isDirectory()) throw new CliError(`--out ${path}: ${folder} is not a directory`);
  } catch (e) {
    if (e instanceof CliError) throw e;
    throw new CliError(`--out ${path}: its folder ${folder} does not exist`);
  }
  const existing = await stat(path).catch(() => undefined);
  if (existing?.isDirectory()) throw new CliError(`--out ${path} is a directory; expected a file path`);
}
