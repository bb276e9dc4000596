// Our GEMM through tf.matMul on every path this host runs (DCFORMER_GEMM's names, switched with
// setGemmPath), against float64 loops written here: odd sizes, every transpose, broadcast batches,
// K = 1, empty tensors. Then what makes a run reproducible: the paths agree bit for bit, the thread
// count changes nothing, and the addon links no BLAS. Under CI a missing addon fails this file.
import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { skipUnlessCI } from '../../../tools/test-env.mjs';
import { fastPathInfo, loadNative, registerCpuKernels } from '../src/index.js';

process.env.DCFORMER_QUIET = '1';
await tf.setBackend('cpu');
registerCpuKernels('cpu');
const addon = loadNative().addon;
const skip = skipUnlessCI(
  'the native GEMM tests',
  addon ? null : `the native addon is missing (${fastPathInfo()?.detail})`,
);
const addonFile = fileURLToPath(new URL('../build/dcformer_cpu.node', import.meta.url));
const paths = addon ? addon.gemmPaths().filter((p) => p !== 'openblas') : [];

/** Deterministic values in [-1, 1) (a 32-bit LCG), so subprocesses can rebuild the same inputs. */
function values(n: number, seed: number): Float32Array {
  const out = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s / 2 ** 31 - 1;
  }
  return out;
}

/** op(a)·op(b) in float64 for [batch?, rows, cols] operands; a batch of 1 broadcasts. */
function reference(
  a: Float32Array,
  sa: number[],
  b: Float32Array,
  sb: number[],
  ta: boolean,
  tb: boolean,
): Float64Array {
  const [ba, ra, ca] = sa.length === 3 ? sa : [1, ...sa];
  const [bb, rb, cb] = sb.length === 3 ? sb : [1, ...sb];
  const [M, K] = ta ? [ca, ra] : [ra, ca];
  const N = tb ? rb : cb;
  const batch = Math.max(ba, bb);
  const out = new Float64Array(batch * M * N);
  for (let i = 0; i < batch; i++) {
    const oa = ba === 1 ? 0 : i * ra * ca;
    const ob = bb === 1 ? 0 : i * rb * cb;
    for (let m = 0; m < M; m++)
      for (let n = 0; n < N; n++) {
        let s = 0;
        for (let k = 0; k < K; k++) s += a[oa + (ta ? k * M + m : m * K + k)] * b[ob + (tb ? n * K + k : k * N + n)];
        out[(i * M + m) * N + n] = s;
      }
  }
  return out;
}

interface Case {
  a: number[];
  b: number[];
  ta: boolean;
  tb: boolean;
}
const shapes: [number[], number[]][] = [
  [
    [1, 1],
    [1, 1],
  ],
  [
    [7, 129],
    [129, 17],
  ],
  [
    [129, 17],
    [17, 7],
  ],
  [
    [17, 7],
    [7, 1000],
  ],
  [
    [1000, 1],
    [1, 17],
  ], // K = 1
  [
    [33, 1000],
    [1000, 65],
  ],
  [
    [3, 300],
    [300, 1000],
  ], // a few rows against a wide matrix: the skinny (decode) path when b is transposed
  [
    [5, 37, 24],
    [5, 24, 45],
  ],
  [
    [1, 37, 24],
    [5, 24, 45],
  ], // a broadcast over the batch
  [
    [5, 37, 24],
    [24, 45],
  ], // b broadcast
  [
    [2, 0, 4],
    [2, 4, 3],
  ], // empty
  [
    [2, 4, 0],
    [2, 0, 3],
  ], // K = 0: zeros
];
const cases: Case[] = shapes.flatMap(([a, b]) =>
  [
    [false, false],
    [true, false],
    [false, true],
    [true, true],
  ].map(([ta, tb]) => {
    const swap = (s: number[], t: boolean) => (t ? [...s.slice(0, -2), s[s.length - 1], s[s.length - 2]] : s);
    return { a: swap(a, ta), b: swap(b, tb), ta, tb };
  }),
);
const label = (c: Case) => `${JSON.stringify(c.a)}${c.ta ? 'ᵀ' : ''} × ${JSON.stringify(c.b)}${c.tb ? 'ᵀ' : ''}`;

function product(c: Case, seed: number): { got: Float32Array; want: Float64Array; shape: number[]; K: number } {
  const n = (s: number[]) => s.reduce((p, q) => p * q, 1);
  const a = values(n(c.a), seed);
  const b = values(n(c.b), seed + 1);
  const out = tf.tidy(() => tf.matMul(tf.tensor(a, c.a), tf.tensor(b, c.b), c.ta, c.tb));
  const got = out.dataSync() as Float32Array;
  const shape = out.shape;
  out.dispose();
  const K = c.ta ? c.a[c.a.length - 2] : c.a[c.a.length - 1];
  return { got, want: reference(a, c.a, b, c.b, c.ta, c.tb), shape, K };
}

describe.skipIf(skip)('own GEMM vs float64 loops, on every path this host runs', () => {
  it('lists the paths this CPU runs and picks the first', () => {
    expect(paths.length).toBeGreaterThan(0);
    expect(paths).toContain('portable');
    expect(addon?.gemmPath()).toBe(paths[0]);
  });
  for (const path of paths) {
    describe(path, () => {
      for (const c of cases) {
        it(label(c), () => {
          addon?.setGemmPath(path);
          try {
            const { got, want, shape, K } = product(c, 7);
            expect(got.length).toBe(want.length);
            // each element is one float32 FMA chain over K terms of size ≤ 1
            const tol = 1e-6 * (K + 1);
            let worst = 0;
            for (let i = 0; i < got.length; i++) worst = Math.max(worst, Math.abs(got[i] - want[i]));
            expect(worst, `${path} ${label(c)} → ${JSON.stringify(shape)}`).toBeLessThanOrEqual(tol);
          } finally {
            addon?.setGemmPath(paths[0]);
          }
        });
      }
    });
  }
});

describe.skipIf(skip)('reproducible: the same bits on every path and every thread count', () => {
  const probe = cases.filter((c) => c.a.length === 2 || c.a[0] > 1).slice(0, 32);
  function digest(): string {
    const h = createHash('sha256');
    for (const c of probe) h.update(product(c, 3).got);
    return h.digest('hex');
  }
  it(`paths ${paths.join(', ')} agree bit for bit (one FMA chain per element, in k order)`, () => {
    const digests = paths.map((p) => {
      addon?.setGemmPath(p);
      return digest();
    });
    addon?.setGemmPath(paths[0]);
    expect(new Set(digests).size, paths.map((p, i) => `${p} ${digests[i].slice(0, 12)}`).join(', ')).toBe(1);
  });

  // A child process per thread count (libgomp reads OMP_NUM_THREADS once); each forces the path.
  const child = (threads: number, path: string) => {
    const script = `
      const { createRequire } = require('node:module');
      const addon = require(${JSON.stringify(addonFile)});
      addon.setGemmPath(${JSON.stringify(path)});
      const h = require('node:crypto').createHash('sha256');
      let s = 5;
      const vals = (n) => Float32Array.from({ length: n }, () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0), s / 2 ** 31 - 1));
      for (const [batch, M, N, K, ta, tb] of [[1, 600, 520, 300, false, true], [1, 140, 2100, 270, true, false], [16, 64, 96, 40, false, true], [1, 4, 3000, 200, false, true]]) {
        const a = vals(batch * M * K), b = vals(batch * K * N), c = new Float32Array(batch * M * N);
        addon.gemm(a, b, c, batch, M, N, K, ta, tb, M * K, K * N);
        h.update(c);
      }
      console.log(addon.gemmPath() + ' ' + h.digest('hex'));`;
    const r = spawnSync(process.execPath, ['-e', script], {
      encoding: 'utf8',
      env: { ...process.env, OMP_NUM_THREADS: String(threads) },
    });
    expect(r.status, r.stderr).toBe(0);
    return r.stdout.trim();
  };
  it('1, 2 and 3 threads give the same bits (own GEMM splits M and N, never K)', () => {
    const runs = [1, 2, 3].map((t) => child(t, paths[0]));
    expect(runs[0].startsWith(`${paths[0]} `)).toBe(true);
    expect(new Set(runs).size, runs.join('\n')).toBe(1);
  });
  it('DCFORMER_GEMM forces a path, and an unknown one refuses to load with the paths that run here', () => {
    const load = (value: string) =>
      spawnSync(process.execPath, ['-e', `console.log(require(${JSON.stringify(addonFile)}).gemmPath())`], {
        encoding: 'utf8',
        env: { ...process.env, DCFORMER_GEMM: value },
      });
    const portable = load('portable');
    expect(portable.stdout.trim()).toBe('portable');
    const bad = load('sse1');
    expect(bad.status).not.toBe(0);
    expect(bad.stderr).toContain(`DCFORMER_GEMM='sse1' cannot run here (available: ${paths.join(', ')}`);
  });
});

describe.skipIf(skip || process.platform !== 'linux')('no system BLAS', () => {
  it('the addon links no libblas / libopenblas (ldd)', () => {
    const r = spawnSync('ldd', [addonFile], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain('libc.so');
    expect(r.stdout).not.toMatch(/blas/i);
  });
});
