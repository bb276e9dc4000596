/**
 * JSON text for float32 data. Each value is written as the shortest decimal that parses back to
 * the same float32 (e.g. 0.1f -> "0.1", not the double's "0.10000000149011612"), so a reader in any
 * language that parses to float64 and rounds to float32 recovers the exact bits, and files are
 * about half the size of the float64 form.
 */
import { CliError } from '@dcformer/cli-utils';

/** Shortest decimal string that round-trips `x` (a float32 value) through float32. */
export function float32ToJson(x: number): string {
  if (!Number.isFinite(x)) throw new RangeError(`cannot write ${x} as JSON`);
  const f = Math.fround(x);
  // JSON.stringify(-0) is "0"; "-0" is valid JSON and keeps the sign bit.
  if (Object.is(f, -0)) return '-0';
  const fits = (p: number) => Math.fround(Number(f.toPrecision(p))) === f;
  // Most float32 values need 7-9 significant digits: start at 7, walk down while it still fits,
  // else up. Nine digits always suffice for float32.
  let p = 7;
  if (fits(p)) {
    while (p > 1 && fits(p - 1)) p--;
  } else {
    while (p < 9 && !fits(p)) p++;
  }
  // Number() then JSON.stringify drops toPrecision's padding zeros and gives valid JSON (1e-7, not 1.0e-7).
  return JSON.stringify(Number(f.toPrecision(p)));
}

/**
 * `{"logits": [[[...V] x T] x B]}` from row-major [B,T,V] data, one line per position so large
 * files stay greppable. Throws on NaN/Infinity, which JSON cannot hold (the position is named).
 */
export function logitsJson(data: Float32Array, B: number, T: number, V: number): string {
  const batches: string[] = [];
  for (let b = 0; b < B; b++) {
    const positions: string[] = [];
    for (let t = 0; t < T; t++) {
      const base = (b * T + t) * V;
      const values = new Array<string>(V);
      for (let v = 0; v < V; v++) {
        const x = data[base + v];
        if (!Number.isFinite(x)) throw new CliError(`logit [${b},${t},${v}] is ${x}, which JSON cannot hold`);
        values[v] = float32ToJson(x);
      }
      positions.push(`[${values.join(',')}]`);
    }
    batches.push(`[\n${positions.join(',\n')}\n]`);
  }
  return `{"logits": [\n${batches.join(',\n')}\n]}\n`;
}
