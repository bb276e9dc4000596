/**
 * GEMM GFLOP/s per path and shape: the model's own matmul shapes (projections, FFN, vocabulary head,
 * attention heads) plus a square reference, every transpose combination the gradients use.
 * Reports the stock tfjs cpu kernel and the OpenBLAS path side by side in one process.
 */
import * as tf from '@tensorflow/tfjs';
import { readTidy, record, stats, timeRuns, useBackend, type Suite } from './common.js';

interface Shape { name: string; a: number[]; b: number[]; ta: boolean; tb: boolean }

function shapes(smoke: boolean): Shape[] {
  if (smoke) return [{ name: '64x64x64', a: [64, 64], b: [64, 64], ta: false, tb: false }];
  return [
    { name: '512x512x512', a: [512, 512], b: [512, 512], ta: false, tb: false },
    { name: 'qkv 2048x256 · 768x256ᵀ', a: [2048, 256], b: [768, 256], ta: false, tb: true },
    { name: 'ffn-grad 2048x768ᵀ · 2048x256', a: [2048, 768], b: [2048, 256], ta: true, tb: false },
    { name: 'vocab 2048x256 · 50304x256ᵀ', a: [2048, 256], b: [50304, 256], ta: false, tb: true },
    { name: 'heads 64×(128x32 · 192x32ᵀ)', a: [8, 8, 128, 32], b: [8, 8, 192, 32], ta: false, tb: true },
  ];
}

export const gemmSuite: Suite = async (o) => {
  for (const backend of o.smoke ? [o.backend] : (['cpu', 'cpu-native'] as const)) {
    const name = await useBackend(backend);
    for (const s of shapes(o.smoke)) {
      const M = s.ta ? s.a[s.a.length - 1] : s.a[s.a.length - 2];
      const K = s.ta ? s.a[s.a.length - 2] : s.a[s.a.length - 1];
      const N = s.tb ? s.b[s.b.length - 2] : s.b[s.b.length - 1];
      const batch = s.a.slice(0, -2).reduce((p, q) => p * q, 1);
      const flop = 2 * batch * M * N * K;
      if (name === 'cpu' && flop > 1e10) continue; // the stock kernel (~0.3–1 GFLOP/s) would need minutes here
      const a = tf.randomUniform(s.a);
      const b = tf.randomUniform(s.b);
      const runs = o.runs;
      const ms = timeRuns(() => readTidy(() => tf.matMul(a, b, s.ta, s.tb)), name === 'cpu' ? 0 : o.warmup, runs);
      const gflops = stats(ms.map((t) => flop / (t * 1e6)));
      o.emit(record({ bench: 'gemm', backend: name, config: s.name, metric: 'gflops', unit: 'GFLOP/s' }, gflops));
      tf.dispose([a, b]);
    }
  }
};
