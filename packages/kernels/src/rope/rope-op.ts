import * as tf from '@tensorflow/tfjs-core';
import type { GradConfig, KernelConfig, Tensor } from '@tensorflow/tfjs-core';
import { ShapeError, formatShape } from '../errors.js';
import { referenceRegistry } from '../reference-registry.js';

/**
 * DcRope: rotary embedding in "half" layout over the first R = 2·H dims of each head (docs/dcmha.md
 * "RoPE"); dims past R pass through. With x1 = x[..., :H], x2 = x[..., H:2H]:
 *
 *   y[..., :H] = x1·cos − x2·sin,   y[..., H:2H] = x2·cos + x1·sin
 *
 * Inputs `x` [B,T,N,E], `cos` and `sin` [B|1,T,1,H] (per row when rows start at different
 * positions). Output like x. The gradient is the same rotation by −θ: a DcRope of dy with −sin.
 */
export const DcRope = 'DcRope';

function validate(x: Tensor, cos: Tensor, sin: Tensor): void {
  if (x.rank !== 4) throw new ShapeError(`rope: 'x' must be [B,T,N,E]; got ${formatShape(x.shape)}`);
  const [B, T, , E] = x.shape;
  for (const [name, t] of [
    ['cos', cos],
    ['sin', sin],
  ] as const) {
    const [b, t1, one, H] = t.shape;
    if (t.rank !== 4 || (b !== 1 && b !== B) || t1 !== T || one !== 1 || 2 * H > E || H < 1) {
      throw new ShapeError(
        `rope: '${name}' must be [1 or B,T,1,H] with B = ${B}, T = ${T}, 2H ≤ E = ${E}; got ${formatShape(t.shape)}`,
      );
    }
  }
  if (cos.shape.some((d, i) => d !== sin.shape[i]))
    throw new ShapeError(
      `rope: 'cos' ${formatShape(cos.shape)} and 'sin' ${formatShape(sin.shape)} must have one shape`,
    );
  for (const [name, t] of [
    ['x', x],
    ['cos', cos],
    ['sin', sin],
  ] as const) {
    if (t.dtype !== 'float32') throw new ShapeError(`rope: '${name}' must be float32; got ${t.dtype}`);
  }
}

/** The rotation from tfjs ops: the fallback on any backend. */
export function ropeReference(x: Tensor, cos: Tensor, sin: Tensor): Tensor {
  return tf.tidy(() => {
    const E = x.shape[3] as number;
    const H = cos.shape[3] as number;
    const parts = tf.split(x, 2 * H === E ? [H, H] : [H, H, E - 2 * H], 3);
    const [x1, x2] = parts;
    const rotated = [tf.sub(tf.mul(x1, cos), tf.mul(x2, sin)), tf.add(tf.mul(x2, cos), tf.mul(x1, sin))];
    return tf.concat(2 * H === E ? rotated : [...rotated, parts[2]], 3);
  });
}

export const ropeGradConfig: GradConfig = {
  kernelName: DcRope,
  inputsToSave: ['cos', 'sin'],
  gradFunc: (dy, saved) => {
    const [cos, sin] = saved;
    return {
      x: () => tf.tidy(() => runRope(dy as Tensor, cos, tf.neg(sin))),
      cos: () => tf.zerosLike(cos),
      sin: () => tf.zerosLike(sin),
    };
  },
};

export function referenceRopeKernel(backendName: string): KernelConfig {
  return {
    kernelName: DcRope,
    backendName,
    kernelFunc: ({ inputs }) => ropeReference(inputs.x as Tensor, inputs.cos as Tensor, inputs.sin as Tensor),
  };
}

const ropeRegistry = referenceRegistry(DcRope, (backendName) => referenceRopeKernel(backendName), ropeGradConfig);

function runRope(x: Tensor, cos: Tensor, sin: Tensor): Tensor {
  ropeRegistry.ensure();
  return tf.engine().runKernel(DcRope, { x, cos, sin }) as Tensor;
}

/**
 * Rotary embedding through the active backend's `DcRope` kernel (fused where a backend package
 * registered one, the reference ops otherwise). Differentiable in `x`; cos/sin are constants.
 */
export function rope(x: Tensor, cos: Tensor, sin: Tensor): Tensor {
  validate(x, cos, sin);
  return runRope(x, cos, sin);
}
