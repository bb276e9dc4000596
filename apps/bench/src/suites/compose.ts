/**
 * The Compose op alone, forward and backward: the reference (tfjs ops) against the fused kernel, on
 * one bench-small attention chunk (B 8, N 8, T 128 queries, S 192 keys, I 2).
 */
import * as tf from '@tensorflow/tfjs';
import {
  composeInputNames,
  composeInputsFromList,
  composeReferenceGrad,
  dcmhaCompose,
  dcmhaComposeBackward,
} from '@dcformer/kernels';
import { readTidy, record, stats, timeRuns, useBackend, type Suite } from './common.js';

export const composeSuite: Suite = async (o) => {
  const [B, N, T, S, I] = o.smoke ? [1, 4, 8, 12, 2] : [8, 8, 128, 192, 2];
  const config = `B${B} N${N} T${T} S${S} I${I}`;
  const attrs = { queryWise: true, keyWise: true };
  const shape: Record<string, number[]> = {
    x: [B, N, T, S],
    qw1: [B, T, I, N],
    qw2: [B, T, I, N],
    qdd: [B, T, N],
    kw1: [B, S, I, N],
    kw2: [B, S, I, N],
    kdd: [B, S, N],
  };
  const ci = composeInputsFromList(
    composeInputNames(attrs).map((n) => tf.randomUniform(shape[n], -1, 1)),
    attrs,
  );
  const dy = tf.randomUniform(shape.x, -1, 1);
  for (const backend of o.smoke ? [o.backend] : (['cpu', 'cpu-native'] as const)) {
    const name = await useBackend(backend);
    const kind = name === 'cpu-native' ? 'fused' : 'reference'; // cpu-js and wasm run the reference too
    const fwd = timeRuns(() => readTidy(() => dcmhaCompose(ci, attrs)), o.warmup, o.runs);
    o.emit(
      record(
        { bench: 'compose', backend: name, config: `${config} ${kind}`, metric: 'forward_ms', unit: 'ms' },
        stats(fwd),
      ),
    );
    const bwd = timeRuns(
      () =>
        readTidy(() => {
          const g = name === 'cpu' ? composeReferenceGrad(ci, dy, attrs) : dcmhaComposeBackward(ci, dy, attrs);
          return g.x;
        }),
      o.warmup,
      o.runs,
    );
    o.emit(
      record(
        { bench: 'compose', backend: name, config: `${config} ${kind}`, metric: 'backward_ms', unit: 'ms' },
        stats(bwd),
      ),
    );
  }
  tf.dispose([...Object.values(ci), dy]);
};
