import * as tf from '@tensorflow/tfjs-core';
import type { KernelConfig, NamedAttrMap, Tensor } from '@tensorflow/tfjs-core';
import { ShapeError, formatShape } from '../errors.js';
import { referenceRegistry } from '../reference-registry.js';

/**
 * DcAdamWUpdate: one torch.optim.AdamW step for one parameter, element-wise, in float32 with the
 * scalars rounded to float32 (as torch's CPU kernels and the tfjs ops below do):
 *
 *   g  = grad · gradScale
 *   p0 = param · decay                               (decay = 1 − lr·wd, or 1 where no decay)
 *   m1 = m + (g − m)·(1 − β1)
 *   v1 = v·β2 + g·g·(1 − β2)
 *   p1 = p0 − m1 / (√v1 / bc2Sqrt + ε) · stepSize    (stepSize = lr/(1 − β1ᵗ), bc2Sqrt = √(1 − β2ᵗ))
 *
 * Inputs `param`, `grad`, `m`, `v` of one shape; outputs [p1, m1, v1]. The reference is ~12 tfjs
 * ops each allocating a parameter-sized tensor; a fused kernel reads four arrays and writes three.
 */
export const DcAdamWUpdate = 'DcAdamWUpdate';

export interface AdamWUpdateAttrs {
  gradScale: number;
  decay: number;
  beta1: number;
  beta2: number;
  eps: number;
  stepSize: number;
  bc2Sqrt: number;
}

const ATTR_NAMES: (keyof AdamWUpdateAttrs)[] = ['gradScale', 'decay', 'beta1', 'beta2', 'eps', 'stepSize', 'bc2Sqrt'];

export function adamWAttrsOf(map: NamedAttrMap): AdamWUpdateAttrs {
  const out = {} as AdamWUpdateAttrs;
  for (const k of ATTR_NAMES) out[k] = map[k] as number;
  return out;
}

/** The update from plain tfjs ops: the fallback on any backend. */
export function adamWReference(param: Tensor, grad: Tensor, m: Tensor, v: Tensor, a: AdamWUpdateAttrs): Tensor[] {
  return tf.tidy(() => {
    const g = a.gradScale === 1 ? grad : tf.mul(grad, a.gradScale);
    const p0 = a.decay === 1 ? param : tf.mul(param, a.decay);
    const m1 = tf.add(m, tf.mul(tf.sub(g, m), 1 - a.beta1));
    const v1 = tf.add(tf.mul(v, a.beta2), tf.mul(tf.mul(g, g), 1 - a.beta2));
    const denom = tf.add(tf.div(tf.sqrt(v1), a.bc2Sqrt), a.eps);
    return [tf.sub(p0, tf.mul(tf.div(m1, denom), a.stepSize)), m1, v1];
  });
}

export function referenceAdamWKernel(backendName: string): KernelConfig {
  return {
    kernelName: DcAdamWUpdate,
    backendName,
    kernelFunc: ({ inputs, attrs }) => {
      const { param, grad, m, v } = inputs as Record<string, Tensor>;
      return adamWReference(param, grad, m, v, adamWAttrsOf(attrs ?? {}));
    },
  };
}

const adamWRegistry = referenceRegistry(DcAdamWUpdate, referenceAdamWKernel);

/**
 * One AdamW step for one parameter through the active backend's `DcAdamWUpdate` kernel (fused where
 * a backend package registered one, the reference ops otherwise). Returns new [param, m, v] tensors;
 * the caller assigns them. Not differentiable (an optimizer step).
 */
export function adamWUpdate(
  param: Tensor,
  grad: Tensor,
  m: Tensor,
  v: Tensor,
  attrs: AdamWUpdateAttrs,
): [Tensor, Tensor, Tensor] {
  for (const [name, t] of [
    ['grad', grad],
    ['m', m],
    ['v', v],
  ] as const) {
    if (t.shape.length !== param.shape.length || t.shape.some((d, i) => d !== param.shape[i])) {
      throw new ShapeError(
        `adamWUpdate: '${name}' must have the parameter's shape ${formatShape(param.shape)}; got ${formatShape(t.shape)}`,
      );
    }
  }
  for (const [name, t] of [
    ['param', param],
    ['grad', grad],
    ['m', m],
    ['v', v],
  ] as const) {
    if (t.dtype !== 'float32') throw new ShapeError(`adamWUpdate: '${name}' must be float32; got ${t.dtype}`);
  }
  adamWRegistry.ensure();
  return tf.engine().runKernel(DcAdamWUpdate, { param, grad, m, v }, { ...attrs }) as [Tensor, Tensor, Tensor];
}
