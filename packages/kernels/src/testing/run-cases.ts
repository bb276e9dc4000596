import * as tf from '@tensorflow/tfjs-core';

/** One checked tensor of a conformance suite; callers assert `ok` and print `message` when not. */
export interface ConformanceResult {
  name: string;
  ok: boolean;
  message: string;
}

/**
 * How a conformance suite runs one case: make its inputs, run the backend (returning tensors to
 * read), compare what was read with the suite's own loops. Shared so that every suite has a
 * synchronous runner (cpu, wasm) and an asynchronous one (GPU backends cannot read synchronously).
 */
export interface ConformanceSuite<C, D> {
  data(c: C): D;
  outputs(c: C, d: D): tf.Tensor[];
  check(c: C, d: D, got: Float32Array[]): ConformanceResult[];
}

export function runSuite<C, D>(suite: ConformanceSuite<C, D>, cases: readonly C[]): ConformanceResult[] {
  return cases.flatMap((c) => {
    const d = suite.data(c);
    const ts = suite.outputs(c, d);
    try {
      return suite.check(
        c,
        d,
        ts.map((t) => t.dataSync() as Float32Array),
      );
    } finally {
      tf.dispose(ts);
    }
  });
}

export async function runSuiteAsync<C, D>(
  suite: ConformanceSuite<C, D>,
  cases: readonly C[],
): Promise<ConformanceResult[]> {
  const results: ConformanceResult[] = [];
  for (const c of cases) {
    const d = suite.data(c);
    const ts = suite.outputs(c, d);
    try {
      results.push(...suite.check(c, d, (await Promise.all(ts.map((t) => t.data()))) as Float32Array[]));
    } finally {
      tf.dispose(ts);
    }
  }
  return results;
}

/** xorshift32: the suites' deterministic inputs, uniform in [0, 1). */
export function xorshift(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 4294967296;
  };
}

/** Uniform in [−1, 1). */
export function signedXorshift(seed: number): () => number {
  const next = xorshift(seed);
  return () => next() * 2 - 1;
}
