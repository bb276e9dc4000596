/** Test helpers: the official MUDDFormer / MUDDPythia golden data in <repo>/fixtures/oracle-mudd. */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import { compareClose, flattenNested } from '@dcformer/kernels/testing';
import type { DcformerModel } from '../src/model.js';
import { cachedLogits } from '../src/generate.js';
import { parseSafetensors, toFloat32 } from '../src/index.js';

export const MUDD_ORACLE_DIR = fileURLToPath(new URL('../../../fixtures/oracle-mudd/', import.meta.url));
export const MUDD_CASES = ['case_m1_muddformer', 'case_m2_muddpythia'] as const;
/** The tolerances (fixtures/oracle-mudd/ORACLE_README.md). */
export const MUDD_TOL = { logits: 1e-4, loss: 1e-5, grad: 1e-3 };

export function muddCaseDir(name: string): string {
  return `${MUDD_ORACLE_DIR}${name}`;
}

export function muddGolden(name: string) {
  return JSON.parse(readFileSync(`${muddCaseDir(name)}/golden.json`, 'utf8'));
}

export interface MuddGradRef {
  shape: number[];
  data: Float32Array;
  /** max |value| of the stored gradient: the tolerance scale. */
  scale: number;
}

/** d(loss)/d(param) of the official training forward, by official name. */
export function muddOracleGrads(name: string): Map<string, MuddGradRef> {
  const file = parseSafetensors(new Uint8Array(readFileSync(`${muddCaseDir(name)}/grads.safetensors`)));
  const out = new Map<string, MuddGradRef>();
  for (const [key, raw] of file.tensors) {
    const data = toFloat32(raw, key);
    let scale = 0;
    for (const v of data) scale = Math.max(scale, Math.abs(v));
    out.set(key, { shape: raw.shape, data, scale });
  }
  return out;
}

/** Mismatches of the full-sequence logits (1e-4) and the loss (1e-5) against the official training path. */
export function muddLogitsLossFailures(model: DcformerModel, name: string): string[] {
  const g = muddGolden(name);
  const expected = flattenNested(g.train.logits);
  const logits = tf.tidy(() => model.forward(g.input_ids).dataSync());
  const rep = compareClose(logits, expected.data, expected.shape, { atol: MUDD_TOL.logits, label: `${name} logits` });
  const loss = tf.tidy(() => model.loss(g.input_ids).dataSync()[0]);
  const lossOk = Math.abs(loss - g.train.loss) <= MUDD_TOL.loss;
  return [...(rep.ok ? [] : [rep.message]), ...(lossOk ? [] : [`${name} loss ${loss} vs ${g.train.loss}`])];
}

/** Mismatches of every parameter's gradient (1e-3 of each tensor's max |g|); the tensor count must stay flat. */
export function muddGradFailures(model: DcformerModel, name: string): string[] {
  const g = muddGolden(name);
  const refs = muddOracleGrads(name);
  const before = tf.memory().numTensors;
  const { loss, grads } = model.lossAndGrads(g.input_ids);
  const failures: string[] = [];
  if (Math.abs(loss - g.train.loss) > MUDD_TOL.loss) failures.push(`${name} loss ${loss} vs ${g.train.loss}`);
  const names = (m: Map<string, unknown>) => [...m.keys()].sort().join(',');
  if (names(grads) !== names(refs))
    failures.push(`${name}: gradients for ${names(grads)}; the oracle has ${names(refs)}`);
  for (const [param, grad] of grads) {
    const ref = refs.get(param);
    if (ref === undefined) continue;
    if (grad.shape.join() !== ref.shape.join()) failures.push(`${param}: shape [${grad.shape}] vs [${ref.shape}]`);
    const rep = compareClose(grad.dataSync(), ref.data, ref.shape, { atol: MUDD_TOL.grad * ref.scale, label: param });
    if (!rep.ok) failures.push(rep.message);
  }
  tf.dispose([...grads.values()]);
  if (tf.memory().numTensors !== before) failures.push(`tensor count ${before} → ${tf.memory().numTensors}`);
  return failures;
}

/** Cached prefill of infer.prefill_len tokens + teacher-forced decode vs the official cached path (1e-4). */
export async function muddCachedFailures(model: DcformerModel, name: string): Promise<string[]> {
  const g = muddGolden(name);
  const expected = flattenNested(g.infer.logits);
  const got = await cachedLogits(model, g.input_ids, g.infer.prefill_len);
  const rep = compareClose(got, expected.data, expected.shape, {
    atol: MUDD_TOL.logits,
    label: `${name} cached logits`,
  });
  return rep.ok ? [] : [rep.message];
}
