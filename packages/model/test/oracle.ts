/** Test helpers: the official-code golden data in <repo>/fixtures/oracle. */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { flattenNested } from '@dcformer/kernels/testing';
import { parseSafetensors, toFloat32 } from '../src/checkpoint/safetensors.js';
import { splitDw } from '../src/weights.js';

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
