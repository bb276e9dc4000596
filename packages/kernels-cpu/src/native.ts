/**
 * Loads the optional native addon (build/dcformer_cpu.node, see scripts/build-native.mjs) once.
 * Missing or broken addon: null, with the reason kept for `fastPathInfo()`; callers fall back to the
 * tfjs kernels. DCFORMER_NATIVE=0 in the environment forces the fallback (benchmarks, tests).
 */
import { createRequire } from 'node:module';
import type { HostGemmAddon, HostKernelAddon } from '@dcformer/kernels';

// Compose, the element-wise kernels and the GEMM: @dcformer/kernels' HostKernelAddon and HostGemmAddon (the tfjs side is shared too).
export interface NativeAddon extends HostKernelAddon, HostGemmAddon {
  binary(
    op: number,
    a: Float32Array,
    b: Float32Array,
    out: Float32Array,
    shape: number[],
    stridesA: number[],
    stridesB: number[],
  ): void;
  transpose(x: Float32Array, out: Float32Array, shape: number[], perm: number[]): void;
  unary(op: number, x: Float32Array, out: Float32Array): void;
  softmax(x: Float32Array, out: Float32Array, rows: number, cols: number): void;
  reduce(op: number, x: Float32Array, out: Float32Array, outer: number, inner: number): void;
  /** The GEMM path in use: 'avx512' | 'avx2' | 'neon' | 'portable', or the benchmark peer 'openblas'. */
  gemmPath(): string;
  /** Every GEMM path this build and CPU can run, fastest first ('openblas' last, when libopenblas.so.0 loads). */
  gemmPaths(): string[];
  /** Switches the GEMM path (tests, benchmarks); throws naming the paths that can run here. */
  setGemmPath(name: string): void;
}

let loaded: { addon: NativeAddon | null; reason: string } | undefined;

function env(name: string): string | undefined {
  return typeof process !== 'undefined' ? process.env?.[name] : undefined;
}

export function loadNative(): { addon: NativeAddon | null; reason: string } {
  if (loaded) return loaded;
  if (env('DCFORMER_NATIVE') === '0') return (loaded = { addon: null, reason: 'disabled by DCFORMER_NATIVE=0' });
  // libgomp reads its wait policy when the addon loads: idle threads spinning between our parallel
  // loops would steal cores from V8 and the main thread.
  if (env('OMP_WAIT_POLICY') === undefined) process.env.OMP_WAIT_POLICY = 'passive';
  try {
    const require = createRequire(import.meta.url);
    const addon = require('../build/dcformer_cpu.node') as NativeAddon;
    return (loaded = { addon, reason: `own GEMM (${addon.gemmPath()})` });
  } catch (e) {
    const why = (e as Error).message.split('\n')[0];
    return (loaded = {
      addon: null,
      reason: `native addon unavailable (${why}); build it with \`npx dcformer-kernels-cpu\` (needs a C++ compiler: \`apt-get install -y g++\`)`,
    });
  }
}
