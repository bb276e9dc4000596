import type { WebGPUProgram } from '@tensorflow/tfjs-backend-webgpu';
import type { ComposeAttrs } from '@dcformer/kernels';
import { flatDispatch } from '../program-util.js';

/**
 * Compose forward, one invocation per (b,t,s): it reads the N scores x[b,:,t,s] once, forms the I
 * hidden values of each side (h_i = Σ_n x[n]·w1[i,n]) and writes all N outputs
 *
 *   out[m] = x[m]·(1 + qdd[t,m] + kdd[s,m]) + Σ_i hq_i·qw2[t,i,m] + Σ_i hk_i·kw2[s,i,m]
 *
 * so the work is O(B·T·S·N·I) as in the reference's factored matMuls, in one pass over x instead of
 * eight ops and four transposes. N and I size private arrays and unroll loops, so they are compiled
 * in (and in the shader key); B, T and S come from the x-shape uniform, so one pipeline serves every
 * sequence length (decode grows S by one per step).
 *
 * The same program computes the input gradient: dx = dy·Mᵀ, and Mᵀ is M with w1 and w2 exchanged
 * (M = I + w1ᵀw2 + diag), so the backward kernel runs it on (dy, qw2, qw1, qdd, kw2, kw1, kdd).
 */
export class ComposeProgram implements WebGPUProgram {
  variableNames: string[];
  outputShape: number[];
  shaderKey: string;
  dispatchLayout: { x: number[] };
  dispatch: [number, number, number];
  workgroupSize: [number, number, number] = [64, 1, 1];
  private readonly heads: number;
  private readonly rank: number;
  private readonly attrs: ComposeAttrs;

  /** xShape [B,N,T,S]; rank I of the factored weights (ignored when both sides are off). */
  constructor(xShape: number[], rank: number, attrs: ComposeAttrs) {
    const [B, N, T, S] = xShape;
    this.heads = N;
    this.rank = attrs.queryWise || attrs.keyWise ? rank : 0;
    this.attrs = { queryWise: attrs.queryWise, keyWise: attrs.keyWise };
    this.outputShape = xShape;
    this.variableNames = [
      'x',
      ...(attrs.queryWise ? ['qw1', 'qw2', 'qdd'] : []),
      ...(attrs.keyWise ? ['kw1', 'kw2', 'kdd'] : []),
    ];
    this.dispatchLayout = { x: [0] };
    this.dispatch = flatDispatch(B * T * S, this.workgroupSize);
    this.shaderKey = `dcmhaCompose_N${N}_I${this.rank}_q${+attrs.queryWise}_k${+attrs.keyWise}`;
  }

  getUserCode(): string {
    const N = this.heads;
    const I = this.rank;
    // One side's contribution; `row` indexes its [B,·,I,N] weights and [B,·,N] gate.
    const side = (p: 'q' | 'k', row: string) => `
      {
        let wBase = ${row} * ${I * N};
        for (var i = 0; i < ${I}; i++) {
          var h = 0.0;
          for (var n = 0; n < ${N}; n++) { h += xv[n] * ${p}w1[wBase + i * ${N} + n]; }
          for (var m = 0; m < ${N}; m++) { acc[m] += h * ${p}w2[wBase + i * ${N} + m]; }
        }
        for (var m = 0; m < ${N}; m++) { acc[m] += xv[m] * ${p}dd[${row} * ${N} + m]; }
      }`;
    return `
      fn main(index : i32) {
        let T = uniforms.xShape[2];
        let S = uniforms.xShape[3];
        if (index >= uniforms.xShape[0] * T * S) { return; }
        let s = index % S;
        let t = (index / S) % T;
        let b = index / (S * T);
        let plane = T * S;
        let base = b * ${N} * plane + t * S + s;
        var xv : array<f32, ${N}>;
        var acc : array<f32, ${N}>;
        for (var n = 0; n < ${N}; n++) {
          xv[n] = x[base + n * plane];
          acc[n] = xv[n];
        }
        ${this.attrs.queryWise ? side('q', '(b * T + t)') : ''}
        ${this.attrs.keyWise ? side('k', '(b * S + s)') : ''}
        for (var m = 0; m < ${N}; m++) { result[base + m * plane] = acc[m]; }
      }
    `;
  }
}

/** Which side's weights a gradient program reduces for: the query side sums over s, the key side over t. */
export type ComposeSide = 'query' | 'key';

/** Index of x[b,n,(r,j)] where r is the weight's own position and j the summed one. */
function scoreIndex(side: ComposeSide, N: number, head: string): string {
  return side === 'query'
    ? `((b * ${N} + ${head}) * T + r) * S + j` // r = t, j = s
    : `((b * ${N} + ${head}) * T + j) * S + r`; // r = s, j = t
}

/**
 * Gradient of one factored weight of one side, one invocation per output element [b,r,i,n]:
 *
 *   out[b,r,i,n] = Σ_j (Σ_m a[b,m,(r,j)]·w[b,r,i,m]) · c[b,n,(r,j)]
 *
 * With (a, w, c) = (dy, w2, x) this is d(w1); with (x, w1, dy) it is d(w2) (compose-reference.ts).
 * The inner Σ_m is recomputed by the N invocations that share (b,r,i): O(N) redundancy, in exchange
 * for no workgroup memory or barriers, which keeps the program correct for any N and sequence length.
 */
export class ComposeWeightGradProgram implements WebGPUProgram {
  variableNames = ['a', 'w', 'c'];
  outputShape: number[];
  shaderKey: string;
  dispatchLayout: { x: number[] };
  dispatch: [number, number, number];
  workgroupSize: [number, number, number] = [64, 1, 1];
  private readonly side: ComposeSide;
  private readonly heads: number;
  private readonly rank: number;

  /** xShape [B,N,T,S]; the output is [B,T,I,N] (query side) or [B,S,I,N] (key side). */
  constructor(xShape: number[], rank: number, side: ComposeSide) {
    const [B, N, T, S] = xShape;
    this.side = side;
    this.heads = N;
    this.rank = rank;
    this.outputShape = [B, side === 'query' ? T : S, rank, N];
    this.dispatchLayout = { x: [0] };
    this.dispatch = flatDispatch(
      this.outputShape.reduce((p, q) => p * q, 1),
      this.workgroupSize,
    );
    this.shaderKey = `dcmhaComposeWeightGrad_${side}_N${N}_I${rank}`;
  }

  getUserCode(): string {
    const N = this.heads;
    const I = this.rank;
    const reduced = this.side === 'query' ? 'S' : 'T';
    return `
      fn main(index : i32) {
        let T = uniforms.aShape[2];
        let S = uniforms.aShape[3];
        let R = uniforms.outShape[1];
        if (index >= uniforms.outShape[0] * R * ${I * N}) { return; }
        let n = index % ${N};
        let i = (index / ${N}) % ${I};
        let r = (index / ${I * N}) % R;
        let b = index / (${I * N} * R);
        var wv : array<f32, ${N}>;
        let wBase = ((b * R + r) * ${I} + i) * ${N};
        for (var m = 0; m < ${N}; m++) { wv[m] = w[wBase + m]; }
        var acc = 0.0;
        for (var j = 0; j < ${reduced}; j++) {
          var g = 0.0;
          for (var m = 0; m < ${N}; m++) {
            g += a[${scoreIndex(this.side, N, 'm')}] * wv[m];
          }
          acc += g * c[${scoreIndex(this.side, N, 'n')}];
        }
        result[index] = acc;
      }
    `;
  }
}

/**
 * Gradient of one side's gate: out[b,r,n] = Σ_j x[b,n,(r,j)]·dy[b,n,(r,j)], one invocation per
 * output element, summing over s (query side) or t (key side).
 */
export class ComposeGateGradProgram implements WebGPUProgram {
  variableNames = ['x', 'dy'];
  outputShape: number[];
  shaderKey: string;
  dispatchLayout: { x: number[] };
  dispatch: [number, number, number];
  workgroupSize: [number, number, number] = [64, 1, 1];
  private readonly side: ComposeSide;
  private readonly heads: number;

  constructor(xShape: number[], side: ComposeSide) {
    const [B, N, T, S] = xShape;
    this.side = side;
    this.heads = N;
    this.outputShape = [B, side === 'query' ? T : S, N];
    this.dispatchLayout = { x: [0] };
    this.dispatch = flatDispatch(
      this.outputShape.reduce((p, q) => p * q, 1),
      this.workgroupSize,
    );
    this.shaderKey = `dcmhaComposeGateGrad_${side}_N${N}`;
  }

  getUserCode(): string {
    const N = this.heads;
    const reduced = this.side === 'query' ? 'S' : 'T';
    return `
      fn main(index : i32) {
        let T = uniforms.xShape[2];
        let S = uniforms.xShape[3];
        let R = uniforms.outShape[1];
        if (index >= uniforms.outShape[0] * R * ${N}) { return; }
        let n = index % ${N};
        let r = (index / ${N}) % R;
        let b = index / (${N} * R);
        var acc = 0.0;
        for (var j = 0; j < ${reduced}; j++) {
          let idx = ${scoreIndex(this.side, N, 'n')};
          acc += x[idx] * dy[idx];
        }
        result[index] = acc;
      }
    `;
  }
}
