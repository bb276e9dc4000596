/**
 * Node entry: reading a task's data from disk. `path` is the data file itself, or the folder laid out
 * like shared/data/eval (each task's `defaultFile` under it). Official PIQA's labels are read from
 * the file next to it (valid.jsonl → valid-labels.lst).
 */
import { readFile, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { EvalError } from './errors.js';
import type { Dataset, ParseExtras, TaskDefinition } from './tasks/types.js';

async function read(path: string, what: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const reason = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a directory' : (e as Error).message;
    throw new EvalError(`cannot read ${what} ${path}: ${reason}`);
  }
}

/** The data file for `task` at `path` (a file, or the eval-data folder). */
export async function resolveDataFile(task: TaskDefinition<unknown>, path: string): Promise<string> {
  const info = await stat(path).catch(() => null);
  if (info === null) throw new EvalError(`cannot read ${path}: no such file or directory`);
  if (!info.isDirectory()) return path;
  if (task.defaultFile === '') throw new EvalError(`task '${task.name}' has no default file; give --data FILE`);
  return join(path, task.defaultFile);
}

/**
 * Reads and parses the data of `task`.
 *
 * @example const data = await readTaskData(piqa, '../shared/data/eval'); // piqa/valid.jsonl + labels
 */
export async function readTaskData<Doc>(
  task: TaskDefinition<Doc>,
  path: string,
): Promise<Dataset<Doc> & { file: string }> {
  const file = await resolveDataFile(task as TaskDefinition<unknown>, path);
  const text = await read(file, `the ${task.name} data`);
  const extras: ParseExtras = {};
  if (task.name === 'piqa' && file.endsWith('.jsonl')) {
    const labelsFile = join(dirname(file), `${basename(file, '.jsonl')}-labels.lst`);
    const labels = await readFile(labelsFile, 'utf8').catch(() => null);
    if (labels !== null) extras.labels = { text: labels, source: labelsFile };
  }
  return { ...task.parse(text, file, extras), file };
}
