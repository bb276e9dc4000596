/** Test helpers: the official-code golden data in <repo>/fixtures/oracle (see fixtures/README.md). */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseSafetensors, splitDw, toFloat32 } from '@dcformer/model';

export const ORACLE_DIR = fileURLToPath(new URL('../../../fixtures/oracle/', import.meta.url));
export const CASES = ['case1_dcformer_lgll', 'case2_dcformer_lg', 'case3_dcformer_mha', 'case4_dcpythia'] as const;

export function caseDir(name: string): string {
  return `${ORACLE_DIR}${name}`;
}

export function inputIds(name: string): number[][] {
  return JSON.parse(readFileSync(`${caseDir(name)}/golden.json`, 'utf8')).input_ids;
}

/**
 * The reference's train_as_infer gradients by parameter name, with dw_m / qkw_m split back into
 * dw1 / dd / qkw (DESIGN.md "Golden data"); `scale` is the max |value| of the tensor as stored,
 * which sets the tolerance.
 */
export function oracleGrads(
  name: string,
  dim: number,
  nHead: number,
): Map<string, { data: Float32Array; scale: number }> {
  const file = parseSafetensors(new Uint8Array(readFileSync(`${caseDir(name)}/grads.safetensors`)));
  const out = new Map<string, { data: Float32Array; scale: number }>();
  const N = nHead;
  const K = 4 * N;
  for (const [full, raw] of file.tensors) {
    if (!full.startsWith('train_as_infer.')) continue;
    const key = full.slice('train_as_infer.'.length);
    const data = toFloat32(raw, full);
    const scale = data.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
    if (key.endsWith('.dw_m')) {
      const base = key.slice(0, -'.dw_m'.length);
      const { dw1, dd } = splitDw(data, dim, K, N);
      out.set(`${base}.dw1`, { data: dw1, scale });
      out.set(`${base}.dd`, { data: dd, scale });
    } else if (key.endsWith('.qkw_m')) {
      out.set(`${key.slice(0, -'.qkw_m'.length)}.qkw`, { data, scale });
    } else {
      out.set(key, { data, scale });
    }
  }
  return out;
}
