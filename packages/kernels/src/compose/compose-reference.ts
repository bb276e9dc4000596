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
export function composeReference(inputs: ComposeInputs, attrs: ComposeAttrs): Tensor {
  return tf.tidy(() => {
    const { x } = inputs;
    const [B, N, T, S] = x.shape as number[];
    let gate_BNTS: Tensor | null = null;
    const terms: Tensor[] = [];
    if (attrs.queryWise) {
      const { qw1, qw2, qdd } = inputs as Required<ComposeWeights>;
      const I = (qw1.shape as number[])[2];
      const x_XSN = tf.reshape(tf.transpose(x, [0, 2, 3, 1]), [B * T, S, N]);
      const hidden_XSI = tf.matMul(x_XSN, tf.reshape(qw1, [B * T, I, N]), false, true); // ref: 'BNTS,BTIN->BTSI'
      const out_XSM = tf.matMul(hidden_XSI, tf.reshape(qw2, [B * T, I, N])); // ref: 'BTSI,BTIM->BTSM'
      terms.push(tf.transpose(tf.reshape(out_XSM, [B, T, S, N]), [0, 3, 1, 2]));
      gate_BNTS = tf.reshape(tf.transpose(qdd, [0, 2, 1]), [B, N, T, 1]);
    }
    if (attrs.keyWise) {
      const { kw1, kw2, kdd } = inputs as Required<ComposeWeights>;
      const I = (kw1.shape as number[])[2];
      const x_XTN = tf.reshape(tf.transpose(x, [0, 3, 2, 1]), [B * S, T, N]);
      const hidden_XTI = tf.matMul(x_XTN, tf.reshape(kw1, [B * S, I, N]), false, true); // ref: 'BNTS,BSIN->BSTI'
      const out_XTM = tf.matMul(hidden_XTI, tf.reshape(kw2, [B * S, I, N])); // ref: 'BSTI,BSIM->BSTM'
      terms.push(tf.transpose(tf.reshape(out_XTM, [B, S, T, N]), [0, 3, 2, 1]));
      const kgate_BNTS = tf.reshape(tf.transpose(kdd, [0, 2, 1]), [B, N, 1, S]);
      gate_BNTS = gate_BNTS === null ? kgate_BNTS : tf.add(gate_BNTS, kgate_BNTS);
    }
    // x + x·(qdd + kdd) = x·(1 + qdd + kdd)
    let out = gate_BNTS === null ? x : tf.mul(x, tf.add(gate_BNTS, 1));
    for (const term of terms) out = tf.add(out, term);
    return out === x ? tf.clone(x) : out;
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
    const [B, N, T, S] = x.shape as number[];
    const grads: Partial<ComposeGrads> = {};
    let gate_BNTS: Tensor | null = null;
    const dxTerms: Tensor[] = [];
    const xdy_BNTS = tf.mul(x, dy);
    if (attrs.queryWise) {
      const { qw1, qw2, qdd } = inputs as Required<ComposeWeights>;
      const I = (qw1.shape as number[])[2];
      const qw1_XIN = tf.reshape(qw1, [B * T, I, N]);
      const qw2_XIM = tf.reshape(qw2, [B * T, I, N]);
      const x_XSN = tf.reshape(tf.transpose(x, [0, 2, 3, 1]), [B * T, S, N]);
      const dy_XSM = tf.reshape(tf.transpose(dy, [0, 2, 3, 1]), [B * T, S, N]);
      const hidden_XSI = tf.matMul(x_XSN, qw1_XIN, false, true);
      const g_XSI = tf.matMul(dy_XSM, qw2_XIM, false, true);
      grads.qw1 = tf.reshape(tf.matMul(g_XSI, x_XSN, true, false), [B, T, I, N]);
      grads.qw2 = tf.reshape(tf.matMul(hidden_XSI, dy_XSM, true, false), [B, T, I, N]);
      grads.qdd = tf.transpose(tf.sum(xdy_BNTS, 3), [0, 2, 1]);
      const dx_XSN = tf.matMul(g_XSI, qw1_XIN);
      dxTerms.push(tf.transpose(tf.reshape(dx_XSN, [B, T, S, N]), [0, 3, 1, 2]));
      gate_BNTS = tf.reshape(tf.transpose(qdd, [0, 2, 1]), [B, N, T, 1]);
    }
    if (attrs.keyWise) {
      const { kw1, kw2, kdd } = inputs as Required<ComposeWeights>;
      const I = (kw1.shape as number[])[2];
      const kw1_XIN = tf.reshape(kw1, [B * S, I, N]);
      const kw2_XIM = tf.reshape(kw2, [B * S, I, N]);
      const x_XTN = tf.reshape(tf.transpose(x, [0, 3, 2, 1]), [B * S, T, N]);
      const dy_XTM = tf.reshape(tf.transpose(dy, [0, 3, 2, 1]), [B * S, T, N]);
      const hidden_XTI = tf.matMul(x_XTN, kw1_XIN, false, true);
      const g_XTI = tf.matMul(dy_XTM, kw2_XIM, false, true);
      grads.kw1 = tf.reshape(tf.matMul(g_XTI, x_XTN, true, false), [B, S, I, N]);
      grads.kw2 = tf.reshape(tf.matMul(hidden_XTI, dy_XTM, true, false), [B, S, I, N]);
      grads.kdd = tf.transpose(tf.sum(xdy_BNTS, 2), [0, 2, 1]);
      const dx_XTN = tf.matMul(g_XTI, kw1_XIN);
      dxTerms.push(tf.transpose(tf.reshape(dx_XTN, [B, S, T, N]), [0, 3, 2, 1]));
      const kgate_BNTS = tf.reshape(tf.transpose(kdd, [0, 2, 1]), [B, N, 1, S]);
      gate_BNTS = gate_BNTS === null ? kgate_BNTS : tf.add(gate_BNTS, kgate_BNTS);
    }
    let dx = gate_BNTS === null ? tf.clone(dy) : tf.mul(dy, tf.add(gate_BNTS, 1));
    for (const term of dxTerms) dx = tf.add(dx, term);
    grads.x = dx;
    return grads as ComposeGrads;
  });
}
