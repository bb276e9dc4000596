/**
 * `dcformer grads`: gradients of the mean next-token cross-entropy with respect to every trainable
 * parameter, as F32 safetensors under the official names. The parity probe for the backward pass:
 * compare with the reference's autograd on the same ids.
 */
import type * as tf from '@tensorflow/tfjs-core';
import { idsTensor, serializeSafetensors } from '@dcformer/model';
import { writeFileAtomic } from '@dcformer/model/node';
import { CliError, EXIT_OK, type Io } from '@dcformer/cli-utils';
import { commandFlags } from '../usage.js';
import { openSession, seconds } from './session.js';

const FLAGS = {
  model: 'string',
  input: 'string',
  out: 'string',
  backend: 'string',
  json: 'boolean',
  help: 'boolean',
} as const;

const PREFIX = 'dcformer grads';

interface HostTensor {
  shape: number[];
  data: Float32Array;
}

/** Downloads and disposes every gradient (all of them, even after a failure, so nothing leaks). */
async function download(grads: Map<string, tf.Tensor>): Promise<Map<string, HostTensor>> {
  const host = new Map<string, HostTensor>();
  try {
    for (const [name, t] of grads) {
      if (t.dtype !== 'float32') throw new Error(`gradient '${name}' has dtype ${t.dtype}; expected float32`);
      host.set(name, { shape: [...t.shape], data: (await t.data()) as Float32Array });
    }
  } finally {
    for (const t of grads.values()) t.dispose();
  }
  return host;
}

export async function runGrads(argv: readonly string[], io: Io): Promise<number> {
  const flags = commandFlags('grads', argv, FLAGS, io);
  if (flags === null) return EXIT_OK;
  // T >= 2: the loss averages over the B*(T-1) next-token predictions, so one token predicts nothing.
  const session = await openSession(flags, PREFIX, io, 2);
  const { out } = session;
  const started = performance.now();
  let loss: number;
  let host: Map<string, HostTensor>;
  try {
    const ids_BT = idsTensor(session.ids, PREFIX);
    try {
      const result = await session.model.lossAndGradsAsync(ids_BT);
      loss = result.loss;
      host = await download(result.grads);
    } finally {
      ids_BT.dispose();
    }
  } finally {
    session.model.dispose();
  }
  if (host.size === 0) throw new CliError('the model reported no trainable parameters');
  // format: "pt" so that safetensors' torch loader and transformers accept the file as it is.
  const bytes = serializeSafetensors(host, { format: 'pt', loss: String(loss) });
  await writeFileAtomic(out, bytes);
  const elapsed = seconds(started);
  io.stderr.write(`${PREFIX}: loss ${loss.toFixed(6)}, ${host.size} tensors -> ${out} in ${elapsed} s\n`);
  if (flags.json) io.stdout.write(`${JSON.stringify({ loss, tensors: host.size, out })}\n`);
  return EXIT_OK;
}
