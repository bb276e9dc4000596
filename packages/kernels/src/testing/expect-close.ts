/**
 * Closeness checks in the style of llm.c: |a − b| ≤ atol + rtol·|b| element-wise, non-finite reference
 * values skipped, the first mismatches reported with their coordinates.
 */

export interface CloseOptions {
  atol?: number;
  rtol?: number;
  /** Printed in the message: what is being compared. */
  label?: string;
}

export interface CloseReport {
  ok: boolean;
  maxAbs: number;
  mismatches: number;
  message: string;
}

function coords(index: number, shape: readonly number[]): string {
  const out: number[] = [];
  for (let d = shape.length - 1; d >= 0; d--) {
    out.unshift(index % shape[d]);
    index = Math.floor(index / shape[d]);
  }
  return `[${out.join(',')}]`;
}

export function compareClose(
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  shape: readonly number[],
  { atol = 1e-5, rtol = 0, label = 'tensor' }: CloseOptions = {},
): CloseReport {
  if (actual.length !== expected.length) {
    return {
      ok: false,
      maxAbs: Infinity,
      mismatches: -1,
      message: `${label}: length ${actual.length} != expected ${expected.length}`,
    };
  }
  let maxAbs = 0;
  let mismatches = 0;
  const lines: string[] = [];
  for (let i = 0; i < expected.length; i++) {
    const e = expected[i];
    const a = actual[i];
    if (!Number.isFinite(e)) continue;
    const diff = Math.abs(a - e);
    if (!(diff <= maxAbs)) maxAbs = Number.isNaN(diff) ? Infinity : Math.max(maxAbs, diff);
    if (!(diff <= atol + rtol * Math.abs(e))) {
      mismatches++;
      if (lines.length < 5) lines.push(`  at ${coords(i, shape)}: got ${a}, expected ${e} (|diff| ${diff})`);
    }
  }
  const ok = mismatches === 0;
  const message = ok
    ? `${label}: max |diff| ${maxAbs.toExponential(3)}`
    : `${label}: ${mismatches} of ${expected.length} values differ by more than atol ${atol} + rtol ${rtol}; max |diff| ${maxAbs}\n${lines.join('\n')}`;
  return { ok, maxAbs, mismatches, message };
}

/** Throws with a coordinate-level report when the arrays are not close. */
export function assertClose(
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  shape: readonly number[],
  options: CloseOptions = {},
): number {
  const report = compareClose(actual, expected, shape, options);
  if (!report.ok) throw new Error(report.message);
  return report.maxAbs;
}

/** Max |value| of an array (the scale that gradient tolerances are relative to). */
export function maxAbsValue(values: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < values.length; i++) m = Math.max(m, Math.abs(values[i]));
  return m;
}

/** Flattens a nested JSON array of numbers and returns its shape. */
export function flattenNested(value: unknown): { data: Float32Array; shape: number[] } {
  const shape: number[] = [];
  let probe: unknown = value;
  while (Array.isArray(probe)) {
    shape.push(probe.length);
    probe = probe[0];
  }
  const data = new Float32Array(shape.reduce((a, b) => a * b, 1));
  let k = 0;
  const walk = (v: unknown) => {
    if (Array.isArray(v)) v.forEach(walk);
    else data[k++] = v as number;
  };
  walk(value);
  return { data, shape };
}
