/** Test helpers: the official-code golden data in <repo>/fixtures/oracle. */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import { compareClose, flattenNested } from '@dcformer/kernels/testing';
import type { DcformerModel } from '../src/model.js';
import { parseSafetensors, toFloat32 } from '@dcformer/checkpoint';
import { splitDw } from '../src/weights.js';
import { cachedLogits } from '../src/generate.js';

export const ORACLE_DIR = fileURLToPath(new URL('../../../fixtures/oracle/', import.meta.url));
export const CASES = ['case1_dcformer_lgll', 'case2_dcformer_lg', 'case3_dcformer_mha', 'case4_dcpythia'] as const;

export function caseDir(name: string): string {
  return `${ORACLE_DIR}${name}`;
}

export function golden(name: string) {
  return JSON.parse(readFileSync(`${caseDir(name)}/golden.json`, 'utf8'));
}

export function goldenArray(value: unknown) {
  return flattenNested(value);
}

export interface GradRef {
  shape: number[];
  data: Float32Array;
  /** max |value| of the tensor as stored (dw_m/qkw_m for the dynamic weights): the tolerance scale. */
  scale: number;
}

/**
 * The train_as_infer gradients, with the merged dw_m/qkw_m split back into dw1/dd/qkw
 * (DESIGN.md: grad(dw1) = grad(dw_m)[:, :4K] as (D,1,4,K); grad(dd) = grad(dw_m)[:, 4K:] as (D,1,4N);
 * grad(qkw) = grad(qkw_m) as (1,4,K,2I,N)).
 */
export function oracleGrads(name: string, dim: number, nHead: number): Map<string, GradRef> {
  const file = parseSafetensors(new Uint8Array(readFileSync(`${caseDir(name)}/grads.safetensors`)));
  const out = new Map<string, GradRef>();
  const prefix = 'train_as_infer.';
  const N = nHead;
  const K = 4 * N;
  for (const [full, raw] of file.tensors) {
    if (!full.startsWith(prefix)) continue;
    const key = full.slice(prefix.length);
    const data = toFloat32(raw, full);
    let scale = 0;
    for (const v of data) scale = Math.max(scale, Math.abs(v));
    if (key.endsWith('.dw_m')) {
      const base = key.slice(0, -'.dw_m'.length);
      const { dw1, dd } = splitDw(data, dim, K, N);
      out.set(`${base}.dw1`, { shape: [dim, 1, 4, K], data: dw1, scale });
      out.set(`${base}.dd`, { shape: [dim, 1, 4 * N], data: dd, scale });
    } else if (key.endsWith('.qkw_m')) {
      const base = key.slice(0, -'.qkw_m'.length);
      const [C, KK, J] = raw.shape;
      out.set(`${base}.qkw`, { shape: [1, C, KK, J / N, N], data, scale });
    } else {
      out.set(key, { shape: raw.shape, data, scale });
    }
  }
  return out;
}

/** Mismatches of the full-sequence logits (atol 1e-4) and the loss (1e-5) against train_as_infer. */
export function logitsLossFailures(model: DcformerModel, name: string): string[] {
  const g = golden(name);
  const expected = goldenArray(g.train_as_infer.logits);
  const logits = tf.tidy(() => model.forward(g.input_ids).dataSync());
  const rep = compareClose(logits, expected.data, expected.shape, { atol: 1e-4, label: `${name} logits` });
  const loss = tf.tidy(() => model.loss(g.input_ids).dataSync()[0]);
  const lossOk = Math.abs(loss - g.train_as_infer.loss) <= 1e-5;
  return [...(rep.ok ? [] : [rep.message]), ...(lossOk ? [] : [`${name} loss ${loss} vs ${g.train_as_infer.loss}`])];
}

/**
 * Mismatches of the loss and of every parameter's gradient (atol 1e-3 of the stored max |value|,
 * DESIGN.md) against train_as_infer, and a tensor count that did not stay flat.
 */
export function gradFailures(model: DcformerModel, name: string): string[] {
  const g = golden(name);
  const refs = oracleGrads(name, model.config.dim, model.config.nHead);
  const before = tf.memory().numTensors;
  const { loss, grads } = model.lossAndGrads(g.input_ids);
  const failures: string[] = [];
  if (Math.abs(loss - g.train_as_infer.loss) > 1e-5) failures.push(`${name} loss ${loss} vs ${g.train_as_infer.loss}`);
  const names = (m: Map<string, unknown>) => [...m.keys()].sort().join(',');
  if (names(grads) !== names(refs))
    failures.push(`${name}: gradients for ${names(grads)}; the oracle has ${names(refs)}`);
  for (const [param, grad] of grads) {
    const ref = refs.get(param);
    if (ref === undefined) continue;
    if (grad.shape.join() !== ref.shape.join()) failures.push(`${param}: shape [${grad.shape}] vs [${ref.shape}]`);
    const rep = compareClose(grad.dataSync(), ref.data, ref.shape, { atol: 1e-3 * ref.scale, label: param });
    if (!rep.ok) failures.push(rep.message);
  }
  tf.dispose([...grads.values()]);
  if (tf.memory().numTensors !== before) failures.push(`tensor count ${before} → ${tf.memory().numTensors}`);
  return failures;
}

/**
 * Mismatches of the cached path — a prefill of infer.prefill_len tokens, then one teacher-forced
 * decode step per remaining token — against the official inference path's logits (infer.logits) at
 * every position (atol 1e-4). The oracle is the reference, not this project's full forward, so a
 * bug shared by both of our paths cannot hide.
 */
export async function cachedLogitsFailures(model: DcformerModel, name: string): Promise<string[]> {
  const g = golden(name);
  const expected = goldenArray(g.infer.logits);
  const got = await cachedLogits(model, g.input_ids, g.infer.prefill_len);
  const rep = compareClose(got, expected.data, expected.shape, { atol: 1e-4, label: `${name} cached logits` });
  return rep.ok ? [] : [rep.message];
}
