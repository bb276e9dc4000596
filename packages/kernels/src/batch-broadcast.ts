/**
 * numpy's broadcasting of two operands' batch (leading) dimensions, as host kernels that run one matrix
 * product per output batch entry need it (kernels-cpu's GEMM, the wasm BatchMatMul wrapper of cli-utils).
 */

export interface BatchBroadcast {
  /** The output's batch dimensions. */
  outer: number[];
  /** Output batch entry i (row-major over `outer`) → the batch entries of a and of b it multiplies. */
  entries(i: number): [number, number];
}

/** The broadcast of batch shapes `aOuter` and `bOuter`, or null when they do not broadcast. */
export function batchBroadcast(aOuter: readonly number[], bOuter: readonly number[]): BatchBroadcast | null {
  const rank = Math.max(aOuter.length, bOuter.length);
  const pad = (s: readonly number[]) => [...new Array<number>(rank - s.length).fill(1), ...s];
  const [as, bs] = [pad(aOuter), pad(bOuter)];
  if (as.some((d, i) => d !== bs[i] && d !== 1 && bs[i] !== 1)) return null;
  const outer = as.map((d, i) => Math.max(d, bs[i]));
  return {
    outer,
    entries(i: number): [number, number] {
      let [ea, eb, sa, sb] = [0, 0, 1, 1];
      for (let d = rank - 1; d >= 0; d--) {
        const index = i % outer[d];
        i = Math.floor(i / outer[d]);
        if (as[d] !== 1) ea += index * sa;
        if (bs[d] !== 1) eb += index * sb;
        sa *= as[d];
        sb *= bs[d];
      }
      return [ea, eb];
    },
  };
}
