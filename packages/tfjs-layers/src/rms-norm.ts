/**
 * RMSNorm as a tfjs-layers Layer: DCFormer's pre-norm (tfjs-layers has LayerNormalization only, which
 * also subtracts the mean and adds a bias).
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Tensor, serialization } from '@tensorflow/tfjs-core';
import { initializers, layers, type LayerVariable, type Shape } from '@tensorflow/tfjs-layers';
import { ValueError, formatLayerShape, layerLabel } from './errors.js';
import { rmsNorm } from './ops.js';
import type { LayerArgs } from './options.js';

export interface RMSNormArgs extends LayerArgs {
  /** Added to the mean square before the square root. Default 1e-6. */
  epsilon?: number | null;
}

/** y = x·rsqrt(mean(x²) + ε)·scale over the last axis; `scale` starts at ones. Keeps any input mask. */
export class RMSNorm extends layers.Layer {
  static className = 'DCFormerRMSNorm';

  readonly epsilon: number;
  private scale: LayerVariable | null = null;

  constructor(args: RMSNormArgs = {}) {
    super(args);
    const epsilon = args.epsilon ?? 1e-6;
    if (typeof epsilon !== 'number' || !(epsilon > 0) || !Number.isFinite(epsilon)) {
      this.fail(`epsilon must be a positive number, but got ${JSON.stringify(epsilon)}.`, 'config');
    }
    this.epsilon = epsilon;
    this.supportsMasking = true;
  }

  private fail(message: string, code: 'shape' | 'config'): never {
    throw new ValueError(this.name, `${layerLabel(RMSNorm.className, this.name)}: ${message}`, code);
  }

  private featureAxis(shape: Shape): number {
    const D = shape[shape.length - 1];
    if (shape.length < 2 || D === null) {
      this.fail(
        `expected an input of rank >= 2 with a known last axis, but got shape ${formatLayerShape(shape)}.`,
        'shape',
      );
    }
    if (this.scale !== null && D !== this.scale.shape[0]) {
      this.fail(
        `Input 0 is incompatible: expected axis -1 of input shape to have value ${this.scale.shape[0]}, but got shape ${formatLayerShape(shape)}.`,
        'shape',
      );
    }
    return D;
  }

  build(inputShape: Shape | Shape[]): void {
    const shape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as Shape;
    this.scale = this.addWeight('scale', [this.featureAxis(shape)], 'float32', initializers.ones());
    this.built = true;
  }

  computeOutputShape(inputShape: Shape | Shape[]): Shape {
    const shape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as Shape;
    this.featureAxis(shape);
    return shape.slice();
  }

  call(inputs: Tensor | Tensor[], kwargs: { [key: string]: unknown }): Tensor {
    return tf.tidy(() => {
      this.invokeCallHook(inputs, kwargs);
      const x = Array.isArray(inputs) ? inputs[0] : inputs;
      this.featureAxis(x.shape);
      return rmsNorm(x, (this.scale as LayerVariable).read(), this.epsilon);
    });
  }

  getConfig(): serialization.ConfigDict {
    return { epsilon: this.epsilon, ...super.getConfig() };
  }
}
