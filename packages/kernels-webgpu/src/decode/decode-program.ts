import type { WebGPUProgram } from '@tensorflow/tfjs-backend-webgpu';
import { MASKED_LOGIT, type ComposeAttrs } from '@dcformer/kernels';

/** Invocations per workgroup; one workgroup per batch row. */
export const DECODE_WORKGROUP = 64;

/** What masked logits become (@dcformer/kernels' MASKED_LOGIT, as WGSL "-1e+30"), so masked probabilities are exactly 0. */
const NEG_FILL = MASKED_LOGIT.toExponential();

/**
 * Attention of one query per batch row (decode) in one dispatch: scores q·kᵀ/√E, pre-Compose,
 * mask, softmax, post-Compose, ·v — what @dcformer/compose's dcmhaAttention computes for T = 1.
 *
 * Inputs (flattened by the kernel): q [B,N,E]; k, v [B,N,S,E]; qside [B,Q,N] and kside [B,S,Q,N]
 * with Q = 2·(2I+1) rows per position — pre qw1 (I rows), qw2 (I), qdd (1), then the same for post —
 * present only for the switched-on sides; visible [B,S] (1 or 0).
 *
 * Output [B,N,S+E]: columns 0..S−1 are scratch (logits, then post-Composed probabilities: a
 * workgroup cannot allocate N·S floats of its own memory for long caches), columns S.. the result.
 * One workgroup per row b walks four phases separated by barriers: (1) per key s, all N scores and
 * the pre-Compose; (2) per head, max and Σexp over s; (3) per key, softmax and post-Compose;
 * (4) per (head, e), Σ_s probs·v.
 */
export class DecodeAttentionProgram implements WebGPUProgram {
  variableNames: string[];
  outputShape: number[];
  shaderKey: string;
  dispatchLayout: { x: number[] };
  dispatch: [number, number, number];
  workgroupSize: [number, number, number] = [DECODE_WORKGROUP, 1, 1];
  uniforms = 'scale : f32,';
  private readonly heads: number;
  private readonly rank: number;
  private readonly sides: ComposeAttrs;

  /** attrs null: plain multi-head attention (no dynamic composition). */
  constructor(B: number, N: number, S: number, E: number, rank: number, attrs: ComposeAttrs | null) {
    this.heads = N;
    this.sides = attrs ?? { queryWise: false, keyWise: false };
    this.rank = this.sides.queryWise || this.sides.keyWise ? rank : 0;
    this.variableNames = [
      'q',
      'k',
      'v',
      ...(this.sides.queryWise ? ['qside'] : []),
      ...(this.sides.keyWise ? ['kside'] : []),
      'visible',
    ];
    this.outputShape = [B, N, S + E];
    this.dispatchLayout = { x: [0] };
    this.dispatch = [B, 1, 1];
    this.shaderKey = `dcmhaDecodeAttention_N${N}_I${this.rank}_q${+this.sides.queryWise}_k${+this.sides.keyWise}`;
  }

  getUserCode(): string {
    const N = this.heads;
    const I = this.rank;
    const Q = 2 * (2 * I + 1);
    // Adds one side's Compose of `src` to `acc`; `w` indexes the packed rows of that side at `base`.
    const side = (buf: string, base: string, slot: number) => `
      {
        let w0 = ${base} + ${slot * (2 * I + 1)} * ${N};
        for (var i = 0; i < ${I}; i++) {
          var h = 0.0;
          for (var n = 0; n < ${N}; n++) { h += src[n] * ${buf}[w0 + i * ${N} + n]; }
          for (var m = 0; m < ${N}; m++) { acc[m] += h * ${buf}[w0 + (${I} + i) * ${N} + m]; }
        }
        for (var m = 0; m < ${N}; m++) { acc[m] += src[m] * ${buf}[w0 + ${2 * I} * ${N} + m]; }
      }`;
    const compose = (slot: number) => `
        for (var m = 0; m < ${N}; m++) { acc[m] = src[m]; }
        ${this.sides.queryWise ? side('qside', `b * ${Q * N}`, slot) : ''}
        ${this.sides.keyWise ? side('kside', `(b * S + s) * ${Q * N}`, slot) : ''}`;
    return `
      var<workgroup> rowMax : array<f32, ${N}>;
      var<workgroup> rowSum : array<f32, ${N}>;

      fn main(index : i32) {
        let b = index / ${DECODE_WORKGROUP};
        let tid = index % ${DECODE_WORKGROUP};
        let S = uniforms.kShape[2];
        let E = uniforms.kShape[3];
        let W = S + E; // output row length
        var src : array<f32, ${N}>;
        var acc : array<f32, ${N}>;

        // (1) scores and pre-Compose, masked
        for (var s = tid; s < S; s += ${DECODE_WORKGROUP}) {
          for (var n = 0; n < ${N}; n++) {
            var qk = 0.0;
            let qBase = (b * ${N} + n) * E;
            let kBase = ((b * ${N} + n) * S + s) * E;
            for (var e = 0; e < E; e++) { qk += q[qBase + e] * k[kBase + e]; }
            src[n] = qk * uniforms.scale;
          }
          ${compose(0)}
          let seen = visible[b * S + s] > 0.5;
          for (var m = 0; m < ${N}; m++) { result[(b * ${N} + m) * W + s] = select(${NEG_FILL}, acc[m], seen); }
        }
        storageBarrier();
        workgroupBarrier();

        // (2) softmax statistics per head
        for (var m = tid; m < ${N}; m += ${DECODE_WORKGROUP}) {
          let row = (b * ${N} + m) * W;
          var mx = ${NEG_FILL};
          for (var s = 0; s < S; s++) { mx = max(mx, result[row + s]); }
          var sum = 0.0;
          for (var s = 0; s < S; s++) { sum += exp(result[row + s] - mx); }
          rowMax[m] = mx;
          rowSum[m] = sum;
        }
        storageBarrier();
        workgroupBarrier();

        // (3) probabilities and post-Compose, in place
        for (var s = tid; s < S; s += ${DECODE_WORKGROUP}) {
          for (var n = 0; n < ${N}; n++) {
            src[n] = exp(result[(b * ${N} + n) * W + s] - rowMax[n]) / rowSum[n];
          }
          ${compose(1)}
          for (var m = 0; m < ${N}; m++) { result[(b * ${N} + m) * W + s] = acc[m]; }
        }
        storageBarrier();
        workgroupBarrier();

        // (4) mixed probabilities times v
        for (var j = tid; j < ${N} * E; j += ${DECODE_WORKGROUP}) {
          let m = j / E;
          let e = j % E;
          let row = (b * ${N} + m) * W;
          let vBase = (b * ${N} + m) * S * E + e;
          var total = 0.0;
          for (var s = 0; s < S; s++) { total += result[row + s] * v[vBase + s * E]; }
          result[row + S + e] = total;
        }
      }
    `;
  }
}
