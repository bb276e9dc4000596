/**
 * The steps `logits` and `grads` share: check every path and the ids, start the backend, load the
 * model, check the ids against it. Ordered cheapest first, so a typo never waits for tfjs or a
 * multi-GB checkpoint, and nothing is printed before all checks pass: a failing run writes exactly
 * one stderr line.
 */
import type { DcformerModel } from '@dcformer/model';
import {
  oneLine,
  required,
  resolveBackend,
  resolveModelDir,
  startBackend,
  stderrProgress,
  type BackendName,
  type Io,
} from '@dcformer/cli-utils';
import { checkIdsFit, checkOutPath, readIdsFile, weightFileBytes } from '../inputs.js';

/** The flags `logits` and `grads` share, as parsed: --out, --model and --input are required. */
export interface SessionFlags {
  model?: string;
  input?: string;
  out?: string;
  backend?: string;
}

export interface Session {
  model: DcformerModel;
  /** --out, checked writable. */
  out: string;
  ids: number[][];
  backend: BackendName;
}

/** Opens the model and ids. The caller owns `session.model` and must dispose it. */
export async function openSession(
  flags: SessionFlags,
  prefix: string,
  io: Io,
  minLength = 1,
  checkIds?: (ids: number[][]) => void,
): Promise<Session> {
  const out = required(flags.out, 'out');
  const modelDir = required(flags.model, 'model');
  const input = required(flags.input, 'input');
  const request = resolveBackend(flags.backend);
  const ids = await readIdsFile(input);
  checkIds?.(ids);
  const { dir, note } = await resolveModelDir(modelDir, '--model', stderrProgress(io, prefix));
  await checkOutPath(out);
  const backend = await startBackend(request, { weightBytes: await weightFileBytes(dir) });
  // Imported here, after the backend is chosen: the model package pulls in tfjs-core.
  const { loadModel } = await import('@dcformer/model/node');
  const model = await loadModel(dir, {
    onWarning: (message) => io.stderr.write(`${prefix}: warning: ${oneLine(message)}\n`),
  });
  try {
    checkIdsFit(ids, model.config, input, minLength);
  } catch (e) {
    model.dispose();
    throw e;
  }
  // Named once, after every check has passed (see the file comment).
  io.stderr.write(`dcformer: backend ${backend.label}\n`);
  if (note !== null) io.stderr.write(`${prefix}: ${note}\n`);
  return { model, out, ids, backend: backend.name };
}

export function seconds(since: number): number {
  return Math.round((performance.now() - since) / 10) / 100;
}
