/**
 * Shared pieces of the bench suites: the record format of DESIGN.md
 * ({"bench","backend","config","metric","value","unit"} + spread), timing with warm-up and medians,
 * and backend selection (stock tfjs kernels vs @dcformer/kernels-cpu).
 */
import * as tf from '@tensorflow/tfjs';
import { fastPathInfo, registerCpuKernels, unregisterCpuKernels } from '@dcformer/kernels-cpu';
import { startBackend } from '@dcformer/cli-utils';

export interface BenchRecord {
  bench: string;
  backend: string;
  config: string;
  metric: string;
  value: number;
  unit: string;
  /** Spread of the runs behind `value` (the median): min and max, and how many runs. */
  min?: number;
  max?: number;
  runs?: number;
}

export interface SuiteOptions {
  /**
   * 'cpu' = stock tfjs-backend-cpu kernels; 'cpu-native' = with @dcformer/kernels-cpu registered;
   * 'wasm' = tfjs-backend-wasm (the default where the native addon is not built).
   */
  backend: 'cpu' | 'cpu-native' | 'wasm';
  smoke: boolean;
  runs: number;
  warmup: number;
  emit: (r: BenchRecord) => void;
}

export type Suite = (o: SuiteOptions) => Promise<void>;

/** Puts the process on the requested kernel set; returns the name to report. */
export async function useBackend(backend: SuiteOptions['backend']): Promise<string> {
  if (backend === 'wasm') {
    await startBackend('wasm');
    return 'wasm';
  }
  await tf.setBackend('cpu');
  if (process.env.PROD !== '0') tf.enableProdMode();
  if (backend === 'cpu-native') {
    const info = registerCpuKernels('cpu');
    return info.path === 'native' ? 'cpu-native' : 'cpu-js'; // cpu-js: addon missing, only the TS kernels
  }
  unregisterCpuKernels('cpu');
  return 'cpu';
}

export function describePath(): string {
  if (tf.getBackend() === 'wasm')
    return 'tfjs-backend-wasm (SIMD, one thread) with the @dcformer/kernels reference kernels';
  return fastPathInfo()?.detail ?? 'stock tfjs-backend-cpu kernels';
}

export interface Stats {
  median: number;
  min: number;
  max: number;
  runs: number;
}

export function stats(values: number[]): Stats {
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  const median = s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
  return { median, min: s[0], max: s[s.length - 1], runs: s.length };
}

/**
 * Runs `f` in a tidy and reads its result: never return the read values from tf.tidy — tidy walks
 * every element of a returned TypedArray looking for tensors (seconds for a million elements).
 */
export function readTidy(f: () => tf.Tensor): void {
  const t = tf.tidy(f);
  t.dataSync();
  t.dispose();
}

/** Runs `f` warmup + runs times; returns the wall-clock ms of the measured runs. */
export function timeRuns(f: () => void, warmup: number, runs: number): number[] {
  for (let i = 0; i < warmup; i++) f();
  const out: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    f();
    out.push(performance.now() - t0);
  }
  return out;
}

export function record(base: Omit<BenchRecord, 'value' | 'min' | 'max' | 'runs'>, s: Stats): BenchRecord {
  const round = (v: number) => Number(v.toPrecision(4));
  const { bench, backend, config, metric, unit } = base; // key order of DESIGN.md
  return {
    bench,
    backend,
    config,
    metric,
    value: round(s.median),
    unit,
    min: round(s.min),
    max: round(s.max),
    runs: s.runs,
  };
}

/** Peak resident set size of this process so far, in MiB. */
export function peakRssMb(): number {
  return Math.round(process.resourceUsage().maxRSS / 1024);
}
