/**
 * `dcformer logits`: one full forward over the ids, logits to JSON. This is the parity probe with
 * the PyTorch reference: the same IDS.json through both, compare the two OUT.json files.
 */
import { cachedLogits, idsTensor } from '@dcformer/model';
import { writeFileAtomic } from '@dcformer/model/node';
import { EXIT_OK, UsageError, type Io } from '@dcformer/cli-utils';
import { logitsJson } from '../float-json.js';
import { commandFlags } from '../usage.js';
import { openSession, seconds } from './session.js';

const FLAGS = {
  model: 'string',
  input: 'string',
  out: 'string',
  prefill: 'integer',
  backend: 'string',
  json: 'boolean',
  help: 'boolean',
} as const;

const PREFIX = 'dcformer logits';

export async function runLogits(argv: readonly string[], io: Io): Promise<number> {
  const flags = commandFlags('logits', argv, FLAGS, io);
  if (flags === null) return EXIT_OK;
  const session = await openSession(flags, PREFIX, io, 1, (ids) => {
    const T = ids[0].length;
    if (flags.prefill !== undefined && (flags.prefill < 1 || flags.prefill > T)) {
      throw new UsageError(`--prefill must be in [1, T] = [1, ${T}]; got ${flags.prefill}`);
    }
  });
  const { out } = session;
  const started = performance.now();
  const B = session.ids.length;
  const T = session.ids[0].length;
  const P = flags.prefill;
  let data: Float32Array;
  let V: number;
  try {
    V = session.model.config.vocabSize;
    if (P !== undefined) {
      data = await cachedLogits(session.model, session.ids, P);
    } else {
      const ids_BT = idsTensor(session.ids, PREFIX);
      try {
        const logits_BTV = session.model.forward(ids_BT);
        // data(), not dataSync(): a GPU backend can download without blocking the event loop.
        data = (await logits_BTV.data()) as Float32Array;
        logits_BTV.dispose();
      } finally {
        ids_BT.dispose();
      }
    }
  } finally {
    session.model.dispose();
  }
  // Formatted fully in memory before the atomic write: an error here leaves no partial file.
  await writeFileAtomic(out, logitsJson(data, B, T, V));
  const elapsed = seconds(started);
  io.stderr.write(`${PREFIX}: wrote ${out} (logits [${B},${T},${V}]) in ${elapsed} s\n`);
  if (flags.json) io.stdout.write(`${JSON.stringify({ out, shape: [B, T, V], seconds: elapsed })}\n`);
  return EXIT_OK;
}
