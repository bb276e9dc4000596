import * as tf from '@tensorflow/tfjs-core';
import type { GradConfig, KernelConfig, NamedAttrMap, Tensor } from '@tensorflow/tfjs-core';
import { ShapeError, formatShape } from '../errors.js';
import { referenceRegistry } from '../reference-registry.js';

/**
 * DcRmsNorm: RMSNorm over the last axis, as modeling_dcformer.py's RMSnorm (and its QK-norm):
 *
 *   y = (x · rsqrt(mean(x², −1) + eps)) · weight
 *
 * Inputs `x` [..., D] and `weight` [D], float32; attr `eps`. Output like x. The tfjs form is six
 * ops forward and about a dozen backward per call; the model calls it 4× per layer.
 */
export const DcRmsNorm = 'DcRmsNorm';

/**
 * DcRmsNormBackward: inputs `x`, `weight`, `dy`; attr `eps`; outputs [dx, dweight] with
 * r = rsqrt(mean(x²) + eps), g = dy·weight:  dx = r·g − x·r³·mean(g·x),  dweight = Σ_rows dy·x·r.
 */
export const DcRmsNormBackward = 'DcRmsNormBackward';

function validate(who: string, x: Tensor, weight: Tensor, eps: number): void {
  const D = x.shape[x.rank - 1];
  if (x.rank < 1) throw new ShapeError(`${who}: 'x' must have rank ≥ 1; got a scalar`);
  if (weight.rank !== 1 || weight.shape[0] !== D) {
    throw new ShapeError(
      `${who}: 'weight' must be [D] = [${D}] (D from x ${formatShape(x.shape)}); got ${formatShape(weight.shape)}`,
    );
  }
  if (x.dtype !== 'float32' || weight.dtype !== 'float32')
    throw new ShapeError(`${who}: 'x' and 'weight' must be float32; got ${x.dtype} and ${weight.dtype}`);
  if (!(eps >= 0)) throw new ShapeError(`${who}: 'eps' must be ≥ 0; got ${eps}`);
}

/** Forward from tfjs ops (the fallback on any backend). */
export function rmsNormReference(x: Tensor, weight: Tensor, eps: number): Tensor {
  return tf.tidy(() => tf.mul(tf.mul(x, tf.rsqrt(tf.add(tf.mean(tf.square(x), -1, true), eps))), weight));
}

/** Backward from tfjs ops: [dx, dweight]. */
export function rmsNormReferenceGrad(x: Tensor, weight: Tensor, dy: Tensor, eps: number): [Tensor, Tensor] {
  return tf.tidy(() => {
    const r = tf.rsqrt(tf.add(tf.mean(tf.square(x), -1, true), eps));
    const g = tf.mul(dy, weight);
    const gx = tf.mean(tf.mul(g, x), -1, true);
    const dx = tf.sub(tf.mul(g, r), tf.mul(x, tf.mul(tf.pow(r, 3), gx)));
    const D = x.shape[x.rank - 1];
    const dweight = tf.sum(tf.reshape(tf.mul(dy, tf.mul(x, r)), [-1, D]), 0);
    return [dx, dweight];
  });
}

/** d(Σ y·dy)/d(x, weight) without a tape: the backward kernel where registered, else the reference. */
export function rmsNormBackward(x: Tensor, weight: Tensor, dy: Tensor, eps: number): [Tensor, Tensor] {
  if (tf.getKernel(DcRmsNormBackward, tf.getBackend()) === undefined) return rmsNormReferenceGrad(x, weight, dy, eps);
  return tf.engine().runKernel(DcRmsNormBackward, { x, weight, dy }, { eps }) as [Tensor, Tensor];
}

export const rmsNormGradConfig: GradConfig = {
  kernelName: DcRmsNorm,
  inputsToSave: ['x', 'weight'],
  gradFunc: (dy, saved, attrs) => {
    const [x, weight] = saved;
    const eps = (attrs as NamedAttrMap).eps as number;
    // One backward call gives both; it runs here, not in the closures: tfjs calls each closure in its
    // own tidy, which would dispose the other gradient.
    const [dx, dweight] = rmsNormBackward(x, weight, dy as Tensor, eps);
    return { x: () => dx, weight: () => dweight };
  },
};

export function referenceRmsNormKernel(backendName: string): KernelConfig {
  return {
    kernelName: DcRmsNorm,
    backendName,
    kernelFunc: ({ inputs, attrs }) =>
      rmsNormReference(inputs.x as Tensor, inputs.weight as Tensor, (attrs as NamedAttrMap).eps as number),
  };
}

const registry = referenceRegistry(DcRmsNorm, referenceRmsNormKernel, rmsNormGradConfig);

/** True when `backendName` runs the reference RMSNorm (no fused kernel registered). */
export function isReferenceRmsNorm(backendName: string): boolean {
  return registry.isReference(backendName);
}

/**
 * RMSNorm over the last axis through the active backend's `DcRmsNorm` kernel (fused where a backend
 * package registered one, the reference ops otherwise). Differentiable in `x` and `weight`.
 */
export function rmsNorm(x: Tensor, weight: Tensor, eps: number): Tensor {
  validate('rmsNorm', x, weight, eps);
  registry.ensure();
  return tf.engine().runKernel(DcRmsNorm, { x, weight }, { eps }) as Tensor;
}
