// The wasm kernels of wasm-kernels.ts against float64 loops: BatchMatMul in every transpose
// combination and batch layout it routes differently (one product for a shared b, one per entry,
// a shared a, crosswise broadcast, wasm's own loop for small entries, K = 1, empty), and
// UnsortedSegmentSum with an out-of-range id.
import { describe, expect, it } from 'vitest';
import { startBackend } from '../src/backend.js';

const tf = await import('@tensorflow/tfjs');
await startBackend('wasm');

function values(shape: number[], seed: number): Float32Array {
  const out = new Float32Array(shape.reduce((p, d) => p * d, 1));
  for (let i = 0; i < out.length; i++) out[i] = Math.sin(seed * 7.1 + i * 0.37);
  return out;
}

/** op(a)·op(b) with numpy broadcasting of the leading dims, in float64. */
function reference(
  a: Float32Array,
  aShape: number[],
  b: Float32Array,
  bShape: number[],
  ta: boolean,
  tb: boolean,
): { data: Float64Array; shape: number[] } {
  const r = Math.max(aShape.length, bShape.length);
  const pad = (s: number[]) => [...new Array(r - s.length).fill(1), ...s];
  const [as, bs] = [pad(aShape), pad(bShape)];
  const outer = as.slice(0, -2).map((d, i) => Math.max(d, bs[i]));
  const [aR, aC] = as.slice(-2);
  const [bR, bC] = bs.slice(-2);
  const M = ta ? aC : aR;
  const K = ta ? aR : aC;
  const N = tb ? bR : bC;
  const batch = outer.reduce((p, d) => p * d, 1);
  const data = new Float64Array(batch * M * N);
  for (let e = 0; e < batch; e++) {
    let rest = e;
    let ea = 0;
    let eb = 0;
    let sa = 1;
    let sb = 1;
    for (let d = outer.length - 1; d >= 0; d--) {
      const idx = rest % outer[d];
      rest = Math.floor(rest / outer[d]);
      ea += (as[d] === 1 ? 0 : idx) * sa;
      eb += (bs[d] === 1 ? 0 : idx) * sb;
      sa *= as[d];
      sb *= bs[d];
    }
    for (let m = 0; m < M; m++) {
      for (let n = 0; n < N; n++) {
        let s = 0;
        for (let k = 0; k < K; k++) {
          const av = a[ea * aR * aC + (ta ? k * aC + m : m * aC + k)];
          const bv = b[eb * bR * bC + (tb ? n * bC + k : k * bC + n)];
          s += av * bv;
        }
        data[(e * M + m) * N + n] = s;
      }
    }
  }
  return { data, shape: [...outer, M, N] };
}

const CASES: [string, number[], number[]][] = [
  ['rank 2, odd sizes', [7, 17], [17, 5]],
  ['a batched against one b', [3, 2, 33, 40], [40, 50]],
  ['aligned batches', [4, 64, 48], [4, 48, 40]],
  ['one a against batched b', [1, 64, 48], [3, 48, 40]],
  ['crosswise broadcast', [2, 1, 40, 36], [1, 3, 36, 40]],
  ['small batched (wasm loop)', [5, 3, 4], [5, 4, 2]],
  ['K = 1', [6, 70, 1], [6, 1, 80]],
  ['empty', [2, 0, 8], [2, 8, 3]],
];

describe('wasm BatchMatMul', () => {
  it('is the wrapper', () => {
    expect(tf.getBackend()).toBe('wasm');
  });
  for (const [name, aBase, bBase] of CASES) {
    for (const [ta, tb] of [
      [false, false],
      [false, true],
      [true, false],
      [true, true],
    ] as const) {
      it(`${name}, transposeA ${ta}, transposeB ${tb}`, () => {
        const swap = (s: number[], t: boolean) => (t ? [...s.slice(0, -2), s[s.length - 1], s[s.length - 2]] : s);
        const [aShape, bShape] = [swap(aBase, ta), swap(bBase, tb)];
        const [av, bv] = [values(aShape, 1), values(bShape, 2)];
        const want = reference(av, aShape, bv, bShape, ta, tb);
        const got = tf.tidy(() => tf.matMul(tf.tensor(av, aShape), tf.tensor(bv, bShape), ta, tb));
        expect(got.shape).toEqual(want.shape);
        const g = got.dataSync();
        let worst = 0;
        for (let i = 0; i < g.length; i++) worst = Math.max(worst, Math.abs(g[i] - want.data[i]));
        expect(worst).toBeLessThan(1e-4);
        got.dispose();
      });
    }
  }

  it('leaves no tensor behind', () => {
    const before = tf.memory().numTensors;
    const bytes = tf.memory().numBytes;
    tf.tidy(() => tf.matMul(tf.ones([4, 64, 48]), tf.ones([4, 40, 48]), false, true).dataSync());
    expect(tf.memory().numTensors).toBe(before);
    expect(tf.memory().numBytes).toBe(bytes);
  });
});

describe('wasm UnsortedSegmentSum', () => {
  it('adds rows into their segments and drops out-of-range ids', () => {
    const x = tf.tensor2d([
      [1, 2],
      [3, 4],
      [5, 6],
      [7, 8],
    ]);
    const ids = tf.tensor1d([2, 0, 2, 5], 'int32');
    const y = tf.unsortedSegmentSum(x, ids, 3);
    expect(Array.from(y.dataSync())).toEqual([3, 4, 0, 0, 6, 8]);
    tf.dispose([x, ids, y]);
  });
});
