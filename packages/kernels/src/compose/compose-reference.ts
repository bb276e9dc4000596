import * as tf from '@tensorflow/tfjs-core';
import type { Tensor } from '@tensorflow/tfjs-core';
import type { ComposeAttrs, ComposeInputs, ComposeWeights } from './compose-spec.js';

/**
 * Reference Compose from plain tfjs ops (no einsum: it has no gradient and no wasm kernel).
 * Every contraction is a batched matMul over a layout where the summed head axis is last:
 *   query side: x as [B·T, S, N]   (batch over query positions)
 *   key side:   x as [B·S, T, N]   (batch over key positions)
 * The per-(t,s) N×N matrix is never built (cost O(T·S·N·I), not O(T·S·N²)).
 */

/** How one side (query or key) lays x out: the permutation of [B,N,T,S] and the resulting sizes. */
interface Side {
  query: boolean;
  w1: Tensor; // [B,P,I,N], P = T (query side) or S (key side)
  w2: Tensor;
  dd: Tensor; // [B,P,N]
  toRows: number[]; // [B,N,T,S] → [B,P,L,N]
  fromRows: number[]; // inverse permutation
  gateShape: (B: number, N: number, T: number, S: number) => number[];
}

function sides(inputs: ComposeInputs, attrs: ComposeAttrs): Side[] {
  const out: Side[] = [];
  const { qw1, qw2, qdd, kw1, kw2, kdd } = inputs as Required<ComposeWeights> & ComposeInputs;
  if (attrs.queryWise) {
    out.push({
      query: true,
      w1: qw1,
      w2: qw2,
      dd: qdd,
      toRows: [0, 2, 3, 1],
      fromRows: [0, 3, 1, 2],
      gateShape: (B, N, T) => [B, N, T, 1],
    });
  }
  if (attrs.keyWise) {
    out.push({
      query: false,
      w1: kw1,
      w2: kw2,
      dd: kdd,
      toRows: [0, 3, 2, 1],
      fromRows: [0, 3, 2, 1],
      gateShape: (B, N, _T, S) => [B, N, 1, S],
    });
  }
  return out;
}

/** [B,N,T,S] → [B·P, L, N] rows for a side, and back. */
function toRows(t: Tensor, side: Side): Tensor {
  const [B, P, L, N] = side.toRows.map((axis) => t.shape[axis] as number);
  return tf.reshape(tf.transpose(t, side.toRows), [B * P, L, N]);
}

function fromRows(rows: Tensor, side: Side, shape: number[]): Tensor {
  const [B, P, L, N] = side.toRows.map((axis) => shape[axis]);
  return tf.transpose(tf.reshape(rows, [B, P, L, N]), side.fromRows);
}

/** 1 + qdd + kdd as a [B,N,T|1,S|1] factor on x (the identity base and both gates). */
function gate(list: Side[], shape: number[]): Tensor | null {
  const [B, N, T, S] = shape;
  let g: Tensor | null = null;
  for (const side of list) {
    const dd = tf.reshape(tf.transpose(side.dd, [0, 2, 1]), side.gateShape(B, N, T, S));
    g = g === null ? dd : tf.add(g, dd);
  }
  return g === null ? null : tf.add(g, 1);
}

function weightRows(w: Tensor): Tensor {
  const [B, P, I, N] = w.shape as number[];
  return tf.reshape(w, [B * P, I, N]);
}

export function composeReference(inputs: ComposeInputs, attrs: ComposeAttrs): Tensor {
  return tf.tidy(() => {
    const { x } = inputs;
    const shape = x.shape as number[];
    const list = sides(inputs, attrs);
    const g = gate(list, shape);
    let out = g === null ? tf.clone(x) : tf.mul(x, g);
    for (const side of list) {
      // ref: 'BNTS,BTIN->BTSI' then 'BTSI,BTIM->BTSM' (query side; key side with t and s swapped)
      const hidden_XLI = tf.matMul(toRows(x, side), weightRows(side.w1), false, true);
      out = tf.add(out, fromRows(tf.matMul(hidden_XLI, weightRows(side.w2)), side, shape));
    }
    return out;
  });
}

export type ComposeGrads = ComposeWeights & { x: Tensor };

/**
 * Gradient of Compose with respect to every present input, given dy = d(loss)/d(out) [B,M,T,S].
 *
 *   dx[n,t,s]   = dy[n,t,s]·(1 + qdd[t,n] + kdd[s,n]) + Σ_i qw1[t,i,n]·gq[t,s,i] + Σ_i kw1[s,i,n]·gk[t,s,i]
 *   gq[t,s,i]   = Σ_m dy[m,t,s]·qw2[t,i,m]          hq[t,s,i] = Σ_n x[n,t,s]·qw1[t,i,n]
 *   dqw1[t,i,n] = Σ_s gq[t,s,i]·x[n,t,s]            dqw2[t,i,m] = Σ_s hq[t,s,i]·dy[m,t,s]
 *   dqdd[t,m]   = Σ_s x[m,t,s]·dy[m,t,s]            (key side: the same with t and s swapped)
 */
export function composeReferenceGrad(inputs: ComposeInputs, dy: Tensor, attrs: ComposeAttrs): ComposeGrads {
  return tf.tidy(() => {
    const { x } = inputs;
    const shape = x.shape as number[];
    const list = sides(inputs, attrs);
    const g = gate(list, shape);
    let dx = g === null ? tf.clone(dy) : tf.mul(dy, g);
    const xdy_BNTS = tf.mul(x, dy);
    const grads: Partial<ComposeGrads> = {};
    for (const side of list) {
      const w1_XIN = weightRows(side.w1);
      const x_XLN = toRows(x, side);
      const dy_XLM = toRows(dy, side);
      const hidden_XLI = tf.matMul(x_XLN, w1_XIN, false, true);
      const g_XLI = tf.matMul(dy_XLM, weightRows(side.w2), false, true);
      const { query } = side;
      grads[query ? 'qw1' : 'kw1'] = tf.reshape(tf.matMul(g_XLI, x_XLN, true, false), side.w1.shape);
      grads[query ? 'qw2' : 'kw2'] = tf.reshape(tf.matMul(hidden_XLI, dy_XLM, true, false), side.w2.shape);
      grads[query ? 'qdd' : 'kdd'] = tf.transpose(tf.sum(xdy_BNTS, query ? 3 : 2), [0, 2, 1]);
      dx = tf.add(dx, fromRows(tf.matMul(g_XLI, w1_XIN), side, shape));
    }
    grads.x = dx;
    return grads as ComposeGrads;
  });
}
