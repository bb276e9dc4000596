import * as tf from '@tensorflow/tfjs-core';
import type { GradConfig, KernelConfig, Tensor } from '@tensorflow/tfjs-core';
import { ShapeError } from '../errors.js';
import { referenceRegistry } from '../reference-registry.js';

/**
 * DcGelu: the exact GELU of torch nn.GELU() (approximate = 'none'), element-wise on float32:
 *
 *   y = 0.5·x·(1 + erf(x/√2)),   dy/dx = 0.5·(1 + erf(x/√2)) + x·exp(−x²/2)/√(2π)
 *
 * The dynamic-weight projection (DCMHA) and DCPythia's MLP use it. The tfjs form is five ops
 * forward and about ten backward.
 */
export const DcGelu = 'DcGelu';

/** DcGelu's gradient as a kernel: inputs `x`, `dy`; output dy·gelu'(x). */
export const DcGeluBackward = 'DcGeluBackward';

export function geluReference(x: Tensor): Tensor {
  return tf.tidy(() => tf.mul(tf.mul(x, 0.5), tf.add(tf.erf(tf.mul(x, Math.SQRT1_2)), 1)));
}

export function geluReferenceGrad(x: Tensor, dy: Tensor): Tensor {
  return tf.tidy(() => {
    const cdf = tf.mul(tf.add(tf.erf(tf.mul(x, Math.SQRT1_2)), 1), 0.5);
    const pdf = tf.mul(tf.exp(tf.mul(tf.square(x), -0.5)), 1 / Math.sqrt(2 * Math.PI));
    return tf.mul(dy, tf.add(cdf, tf.mul(x, pdf)));
  });
}

export const geluGradConfig: GradConfig = {
  kernelName: DcGelu,
  inputsToSave: ['x'],
  gradFunc: (dy, saved) => {
    const [x] = saved;
    return {
      x: () =>
        tf.getKernel(DcGeluBackward, tf.getBackend()) === undefined
          ? geluReferenceGrad(x, dy as Tensor)
          : (tf.engine().runKernel(DcGeluBackward, { x, dy: dy as Tensor }) as Tensor),
    };
  },
};

export function referenceGeluKernel(backendName: string): KernelConfig {
  return { kernelName: DcGelu, backendName, kernelFunc: ({ inputs }) => geluReference(inputs.x as Tensor) };
}

const geluRegistry = referenceRegistry(DcGelu, referenceGeluKernel, geluGradConfig);

/** Exact GELU through the active backend's `DcGelu` kernel (fused where registered). Differentiable. */
export function gelu(x: Tensor): Tensor {
  if (x.dtype !== 'float32') throw new ShapeError(`gelu: 'x' must be float32; got ${x.dtype}`);
  geluRegistry.ensure();
  return tf.engine().runKernel(DcGelu, { x }) as Tensor;
}
