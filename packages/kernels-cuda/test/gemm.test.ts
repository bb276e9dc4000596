// The tiled GEMM of gemm.cu (the fallback when cuBLAS is absent) in the host build, against float64
// loops: every transpose combination, batch broadcasting through stride 0, and sizes that are not
// multiples of the 4×4 register tile.
import { describe, expect, it } from 'vitest';
import { compareClose } from '@dcformer/kernels/testing';
import { hostAddon } from './host-build.js';

const addon = hostAddon('the host-build GEMM tests');

function random(n: number, seed: number): Float32Array {
  let s = seed;
  return Float32Array.from({ length: n }, () => ((s = (s * 1103515245 + 12345) % 2 ** 31) / 2 ** 31) * 2 - 1);
}

describe.skipIf(addon === null)('gemm (tiled, host build)', () => {
  const shapes = [
    { batch: 1, M: 7, N: 5, K: 3 },
    { batch: 3, M: 17, N: 9, K: 33, broadcastB: true },
    { batch: 2, M: 1, N: 130, K: 64, broadcastA: true },
    { batch: 1, M: 64, N: 64, K: 1 },
  ];
  for (const { batch, M, N, K, broadcastA, broadcastB } of shapes) {
    for (const [ta, tb] of [
      [false, false],
      [true, false],
      [false, true],
      [true, true],
    ]) {
      it(`${batch}×[${M}×${K}]${ta ? 'ᵀ' : ''}·[${K}×${N}]${tb ? 'ᵀ' : ''}${broadcastA ? ' a broadcast' : ''}${broadcastB ? ' b broadcast' : ''}`, () => {
        const sa = broadcastA ? 0 : M * K,
          sb = broadcastB ? 0 : K * N;
        const a = random((broadcastA ? 1 : batch) * M * K, 1),
          b = random((broadcastB ? 1 : batch) * K * N, 2);
        const c = new Float32Array(batch * M * N);
        addon!.gemm(a, b, c, batch, M, N, K, ta, tb, sa, sb);
        const want = new Float64Array(batch * M * N);
        for (let i = 0; i < batch; i++)
          for (let m = 0; m < M; m++)
            for (let n = 0; n < N; n++) {
              let s = 0;
              for (let k = 0; k < K; k++)
                s += a[i * sa + (ta ? k * M + m : m * K + k)] * b[i * sb + (tb ? n * K + k : k * N + n)];
              want[(i * M + m) * N + n] = s;
            }
        const rep = compareClose(c, want, [batch, M, N], { atol: 1e-5, rtol: 1e-5 });
        expect(rep.ok, rep.message).toBe(true);
      });
    }
  }
});
