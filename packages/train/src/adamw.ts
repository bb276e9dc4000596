/**
 * AdamW with the semantics of torch.optim.AdamW (the reference trainer's optimizer, DESIGN.md
 * "Presets and data conventions"): decoupled weight decay applied to the parameter before the Adam
 * update, bias-corrected moments, ε added outside the square root. The update, per parameter p with
 * gradient g at step t (1-based count of *applied* updates):
 *
 *   p ← p · (1 − lr·wd)                      (only where `decays(name, shape)`; default rank ≥ 2)
 *   m ← m + (1 − β1)·(g − m)                 (torch: exp_avg.lerp_(grad, 1 − β1))
 *   v ← β2·v + (1 − β2)·g²                   (exp_avg_sq.mul_(β2).addcmul_(g, g, 1 − β2))
 *   p ← p − lr/(1 − β1^t) · m / (√v / √(1 − β2^t) + ε)
 *
 * The moments are tfjs variables (float32 on whatever backend holds the model), so the update never
 * leaves the device. Each parameter's step is one `DcAdamWUpdate` kernel (@dcformer/kernels): fused
 * where a backend package registers it, the same arithmetic in tfjs ops elsewhere.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Tensor, Variable } from '@tensorflow/tfjs-core';
import { CheckpointError, InputError, adamWUpdate } from '@dcformer/kernels';

export interface AdamWOptions {
  beta1?: number;
  beta2?: number;
  eps?: number;
  weightDecay?: number;
  /** Which parameters decay. Default: tensors of rank ≥ 2 (matrices, embeddings, dynamic projections), not norms or gates' vectors. */
  decays?: (name: string, shape: readonly number[]) => boolean;
}

export interface ResolvedAdamW {
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
}

export const ADAMW_DEFAULTS: ResolvedAdamW = { beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0.1 };

export function decaysMatrices(_name: string, shape: readonly number[]): boolean {
  return shape.length >= 2;
}

/** Optimizer state as plain arrays: what a checkpoint stores (torch's state names exp_avg / exp_avg_sq). */
export interface AdamWState {
  step: number;
  expAvg: Map<string, Float32Array>;
  expAvgSq: Map<string, Float32Array>;
}

export class AdamW {
  readonly options: ResolvedAdamW;
  /** Number of updates applied so far (torch's state['step']); skipped steps do not count. */
  step = 0;
  private readonly params: Map<string, Variable>;
  private readonly decayed: Set<string>;
  private readonly m = new Map<string, Variable>();
  private readonly v = new Map<string, Variable>();

  constructor(params: Map<string, Variable>, options: AdamWOptions = {}) {
    const o = { ...ADAMW_DEFAULTS, ...options };
    const bad = (key: string, allowed: string, got: number) =>
      new InputError(`AdamW: '${key}' must be ${allowed}; got ${got}`);
    if (!(o.beta1 >= 0 && o.beta1 < 1)) throw bad('beta1', 'in [0, 1)', o.beta1);
    if (!(o.beta2 >= 0 && o.beta2 < 1)) throw bad('beta2', 'in [0, 1)', o.beta2);
    if (!(o.eps > 0)) throw bad('eps', 'positive', o.eps);
    if (!(o.weightDecay >= 0)) throw bad('weightDecay', '>= 0', o.weightDecay);
    this.options = { beta1: o.beta1, beta2: o.beta2, eps: o.eps, weightDecay: o.weightDecay };
    this.params = params;
    const decays = options.decays ?? decaysMatrices;
    this.decayed = new Set([...params].filter(([name, p]) => decays(name, p.shape)).map(([name]) => name));
    // tidy: a variable keeps the data of its initial value, not the tensor itself, which would leak.
    tf.tidy(() => {
      for (const [name, p] of params) {
        this.m.set(name, tf.variable(tf.zerosLike(p), false));
        this.v.set(name, tf.variable(tf.zerosLike(p), false));
      }
    });
  }

  /** Names of the parameters that receive weight decay. */
  get decayedNames(): string[] {
    return [...this.params.keys()].filter((n) => this.decayed.has(n));
  }

  /**
   * One update with learning rate `lr`. `gradScale` multiplies every gradient first (the clipping
   * coefficient, applied as torch's clip_grad_norm_ does: in place, before the optimizer).
   * Does not dispose `grads`.
   */
  apply(grads: Map<string, Tensor>, lr: number, gradScale = 1): void {
    const { beta1, beta2, eps, weightDecay } = this.options;
    this.step += 1;
    const t = this.step;
    // Scalars in float64 here, rounded to float32 where they meet tensors, as torch's CPU kernels do.
    const stepSize = lr / (1 - beta1 ** t);
    const bc2Sqrt = Math.sqrt(1 - beta2 ** t);
    for (const [name, p] of this.params) {
      const grad = grads.get(name);
      if (grad === undefined) throw new InputError(`AdamW.apply: no gradient for '${name}'`);
      const m = this.m.get(name) as Variable;
      const v = this.v.get(name) as Variable;
      const decay = this.decayed.has(name) && weightDecay > 0 ? 1 - lr * weightDecay : 1;
      const [p1, m1, v1] = adamWUpdate(p, grad, m, v, { gradScale, decay, beta1, beta2, eps, stepSize, bc2Sqrt });
      p.assign(p1);
      m.assign(m1);
      v.assign(v1);
      tf.dispose([p1, m1, v1]);
    }
  }

  /** Copies the state to the host (for a checkpoint). */
  async exportState(): Promise<AdamWState> {
    const expAvg = new Map<string, Float32Array>();
    const expAvgSq = new Map<string, Float32Array>();
    for (const name of this.params.keys()) {
      // slice(): some backends hand out their backing store, which a later update may reuse
      expAvg.set(name, ((await (this.m.get(name) as Variable).data()) as Float32Array).slice());
      expAvgSq.set(name, ((await (this.v.get(name) as Variable).data()) as Float32Array).slice());
    }
    return { step: this.step, expAvg, expAvgSq };
  }

  /** Restores a state written by exportState; every parameter must be present with its size. */
  importState(state: AdamWState): void {
    for (const [name, p] of this.params) {
      for (const [kind, arrays, target] of [
        ['exp_avg', state.expAvg, this.m],
        ['exp_avg_sq', state.expAvgSq, this.v],
      ] as const) {
        const data = arrays.get(name);
        if (data === undefined)
          throw new CheckpointError(`optimizer state: missing ${kind} for '${name}'`, { tensorName: name });
        if (data.length !== p.size) {
          throw new CheckpointError(
            `optimizer state: ${kind} of '${name}' has ${data.length} values; the parameter has ${p.size}`,
            { tensorName: name },
          );
        }
        tf.tidy(() => (target.get(name) as Variable).assign(tf.tensor(data, p.shape, 'float32')));
      }
    }
    this.step = state.step;
  }

  dispose(): void {
    for (const t of [...this.m.values(), ...this.v.values()]) t.dispose();
    this.m.clear();
    this.v.clear();
  }
}
