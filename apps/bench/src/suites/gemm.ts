/**
 * GEMM GFLOP/s per path and shape: the model's own matmul shapes (projections, FFN weight gradient
 * with a transposed operand, vocabulary head, the attention heads' products forward and backward)
 * plus a square reference. One process, runs interleaved: the stock tfjs cpu kernel, our GEMM
 * (`cpu-native`, on the path the CPU picked) and OpenBLAS as a peer (`openblas`: libopenblas.so.0
 * loaded at run time when present — it is never a dependency), then own/OpenBLAS per shape.
 */
import * as tf from '@tensorflow/tfjs';
import { cpus } from 'node:os';
import { loadNative } from '@dcformer/kernels-cpu';
import { readTidy, record, stats, useBackend, type Suite } from './common.js';

interface Shape {
  name: string;
  a: number[];
  b: number[];
  ta: boolean;
  tb: boolean;
}

function shapes(smoke: boolean): Shape[] {
  if (smoke) return [{ name: '64x64x64', a: [64, 64], b: [64, 64], ta: false, tb: false }];
  return [
    { name: '512x512x512', a: [512, 512], b: [512, 512], ta: false, tb: false },
    { name: 'qkv 2048x256 · 768x256ᵀ', a: [2048, 256], b: [768, 256], ta: false, tb: true },
    { name: 'ffn-grad 2048x768ᵀ · 2048x256', a: [2048, 768], b: [2048, 256], ta: true, tb: false },
    { name: 'vocab 2048x256 · 50304x256ᵀ', a: [2048, 256], b: [50304, 256], ta: false, tb: true },
    { name: 'heads 64×(128x32 · 192x32ᵀ)', a: [8, 8, 128, 32], b: [8, 8, 192, 32], ta: false, tb: true },
    { name: 'heads·v 64×(128x192 · 192x32)', a: [8, 8, 128, 192], b: [8, 8, 192, 32], ta: false, tb: false },
    { name: 'heads dV 64×(128x192ᵀ · 128x32)', a: [8, 8, 128, 192], b: [8, 8, 128, 32], ta: true, tb: false },
  ];
}

/** The CPU's model name and the vector ISAs that matter here, for the table's header. */
export function cpuDescription(): string {
  const model = cpus()[0]?.model ?? 'unknown CPU';
  const addon = loadNative().addon;
  return `${model} (${process.arch}; GEMM paths here: ${addon ? addon.gemmPaths().join(', ') : 'none, addon missing'})`;
}

export const gemmSuite: Suite = async (o) => {
  const addon = loadNative().addon;
  const peers: string[] = [];
  if (!o.smoke && addon) {
    if (addon.gemmPaths().includes('openblas')) peers.push('openblas');
    else
      console.error(
        'gemm: OpenBLAS peer not measured: libopenblas.so.0 not found (apt-get install libopenblas0 to compare)',
      );
  }
  console.error(`gemm: ${cpuDescription()}`);
  for (const backend of o.smoke ? [o.backend] : (['cpu', 'cpu-native'] as const)) {
    const name = await useBackend(backend);
    const own = name === 'cpu-native' && addon ? addon.gemmPath() : null;
    for (const s of shapes(o.smoke)) {
      const M = s.ta ? s.a[s.a.length - 1] : s.a[s.a.length - 2];
      const K = s.ta ? s.a[s.a.length - 2] : s.a[s.a.length - 1];
      const N = s.tb ? s.b[s.b.length - 2] : s.b[s.b.length - 1];
      const batch = s.a.slice(0, -2).reduce((p, q) => p * q, 1);
      const flop = 2 * batch * M * N * K;
      if (name === 'cpu' && flop > 1e10) continue; // the stock kernel (~0.3–1 GFLOP/s) would need minutes here
      const a = tf.randomUniform(s.a);
      const b = tf.randomUniform(s.b);
      // each path in turn within every run, so drift on a noisy machine hits them alike
      const paths = own ? [own, ...peers] : [null];
      const ms = new Map(paths.map((p) => [p, [] as number[]]));
      for (let i = 0; i < (name === 'cpu' ? 0 : o.warmup) + o.runs; i++) {
        for (const p of paths) {
          if (p) addon?.setGemmPath(p);
          const t0 = performance.now();
          readTidy(() => tf.matMul(a, b, s.ta, s.tb));
          if (i >= (name === 'cpu' ? 0 : o.warmup)) ms.get(p)?.push(performance.now() - t0);
        }
      }
      if (own) addon?.setGemmPath(own);
      const rates = new Map([...ms].map(([p, t]) => [p, stats(t.map((x) => flop / (x * 1e6)))]));
      for (const [p, r] of rates)
        o.emit(
          record(
            {
              bench: 'gemm',
              backend: p === 'openblas' ? 'openblas' : name,
              config: s.name,
              metric: 'gflops',
              unit: 'GFLOP/s',
            },
            r,
          ),
        );
      const peer = rates.get('openblas');
      const mine = own ? rates.get(own) : undefined;
      if (peer && mine)
        o.emit(
          record(
            { bench: 'gemm', backend: name, config: s.name, metric: 'own_vs_openblas', unit: 'x' },
            stats([mine.median / peer.median]),
          ),
        );
      tf.dispose([a, b]);
    }
  }
};
