/**
 * Helpers shared by this app's tests (not part of the bin). The safetensors reader is deliberately
 * independent of @dcformer/model's, so the CLI's output is checked by code it does not share.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { main, type Io } from '../src/main.js';

export const ORACLE_DIR = fileURLToPath(new URL('../../../fixtures/oracle/', import.meta.url));
export const GOLDEN_CASES = ['case1_dcformer_lgll', 'case2_dcformer_lg', 'case3_dcformer_mha', 'case4_dcpythia'];

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
  /** stderr split into lines, without the trailing empty one. */
  errLines: string[];
}

/** Runs `main(argv)` in-process, capturing what it writes. */
export async function run(argv: string[]): Promise<RunResult> {
  let stdout = '';
  let stderr = '';
  const io: Io = {
    stdout: { write: (s: string) => (stdout += s) },
    stderr: { write: (s: string) => (stderr += s) },
  };
  const code = await main(argv, io);
  return { code, stdout, stderr, errLines: stderr.split('\n').filter((l) => l !== '') };
}

const scratch: string[] = [];

export async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'dcformer-infer-'));
  scratch.push(dir);
  return dir;
}

export async function removeTempDirs(): Promise<void> {
  await Promise.all(scratch.splice(0).map((d) => rm(d, { recursive: true, force: true })));
}

/** Writes `{"input_ids": ids}` (ids may be malformed on purpose) and returns the path. */
export async function writeIds(dir: string, ids: unknown, name = 'ids.json'): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, JSON.stringify({ input_ids: ids }));
  return path;
}

export interface Golden {
  input_ids: number[][];
  train_as_infer: { loss: number; logits: number[][][]; grad_names: string[] };
  infer: { prefill_len: number; logits: number[][][] };
  generate: { ids: number[][]; prompt_len: number; n_gen: number };
}

export async function readGolden(caseName: string): Promise<Golden> {
  return JSON.parse(await readFile(join(ORACLE_DIR, caseName, 'golden.json'), 'utf8')) as Golden;
}

export interface F32Tensor {
  shape: number[];
  data: Float32Array;
}

/** Minimal safetensors reader: F32 only, which is all the CLI and the oracle's grads files hold. */
export async function readF32Safetensors(path: string): Promise<Map<string, F32Tensor>> {
  const bytes = await readFile(path);
  const headerLength = Number(bytes.readBigUInt64LE(0));
  const header = JSON.parse(bytes.subarray(8, 8 + headerLength).toString('utf8')) as Record<
    string,
    { dtype: string; shape: number[]; data_offsets: [number, number] }
  >;
  const out = new Map<string, F32Tensor>();
  for (const [name, entry] of Object.entries(header)) {
    if (name === '__metadata__') continue;
    if (entry.dtype !== 'F32') throw new Error(`${path}: ${name} is ${entry.dtype}, expected F32`);
    const [begin, end] = entry.data_offsets;
    const start = 8 + headerLength + begin;
    // Copy: the file's buffer is not 4-byte aligned at arbitrary offsets.
    const data = new Float32Array(new Uint8Array(bytes.subarray(start, 8 + headerLength + end)).buffer);
    out.set(name, { shape: entry.shape, data });
  }
  return out;
}

export function maxAbs(a: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]));
  return m;
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} vs ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

export interface ExpectedGrad extends F32Tensor {
  /** The tolerance's scale: max |value| of the tensor as stored (dw_m / qkw_m for the split ones). */
  scale: number;
}

/**
 * The oracle's `train_as_infer.*` gradients under the names the CLI writes. The oracle stores dw1/dd
 * merged as dw_m [D, 4K+4N] and qkw as qkw_m [4, K, 2I*N] (DESIGN.md "Golden data"), with K = 4N:
 * grad(dw1) = dw_m[:, :4K] as (D,1,4,K); grad(dd) = dw_m[:, 4K:] as (D,1,4N); grad(qkw) = qkw_m as (1,4,K,2I,N).
 */
export function expectedGrads(stored: Map<string, F32Tensor>): Map<string, ExpectedGrad> {
  const prefix = 'train_as_infer.';
  const out = new Map<string, ExpectedGrad>();
  for (const [fullName, t] of stored) {
    if (!fullName.startsWith(prefix)) continue;
    const name = fullName.slice(prefix.length);
    const scale = maxAbs(t.data);
    if (name.endsWith('.dw_m')) {
      const [D, cols] = t.shape;
      const N = cols / 20; // 4K + 4N with K = 4N
      const K = 4 * N;
      const dw1 = new Float32Array(D * 4 * K);
      const dd = new Float32Array(D * 4 * N);
      for (let d = 0; d < D; d++) {
        dw1.set(t.data.subarray(d * cols, d * cols + 4 * K), d * 4 * K);
        dd.set(t.data.subarray(d * cols + 4 * K, (d + 1) * cols), d * 4 * N);
      }
      const base = name.slice(0, -'dw_m'.length);
      out.set(`${base}dw1`, { shape: [D, 1, 4, K], data: dw1, scale });
      out.set(`${base}dd`, { shape: [D, 1, 4 * N], data: dd, scale });
    } else if (name.endsWith('.qkw_m')) {
      const [C, K, rest] = t.shape;
      const N = K / 4;
      out.set(`${name.slice(0, -'qkw_m'.length)}qkw`, { shape: [1, C, K, rest / N, N], data: t.data, scale });
    } else {
      out.set(name, { ...t, scale });
    }
  }
  return out;
}

/**
 * Every way `ours` (a grads file the CLI wrote) misses the oracle's gradients: a name missing or
 * extra, a shape, or max |diff| above DESIGN.md's 1e-3 of the stored tensor's max |value|. Empty when all match.
 */
export function gradMismatches(ours: Map<string, F32Tensor>, expected: Map<string, ExpectedGrad>): string[] {
  const failures: string[] = [];
  for (const name of ours.keys()) if (!expected.has(name)) failures.push(`${name}: not in the oracle's gradients`);
  for (const [name, want] of expected) {
    const got = ours.get(name);
    if (got === undefined) {
      failures.push(`${name}: missing`);
    } else if (got.shape.join(',') !== want.shape.join(',')) {
      failures.push(`${name}: shape [${got.shape}] vs [${want.shape}]`);
    } else {
      const diff = maxAbsDiff(got.data, want.data);
      if (!(diff <= 1e-3 * want.scale)) failures.push(`${name}: max |diff| ${diff} > 1e-3 * ${want.scale}`);
    }
  }
  return failures;
}
