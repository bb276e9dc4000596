/**
 * A DCFormer-style decoder block wired from standard tfjs layers plus ours, for the functional API
 * (`tf.model`): pre-norm RMSNorm → DCMultiHeadAttention → residual add, then pre-norm RMSNorm → SwiGLU
 * `w2(silu(w1 x) · w3 x)` → residual add. No biases, as DCFormer.
 */
import { initializers, layers, type SymbolicTensor } from '@tensorflow/tfjs-layers';
import { ValueError } from './errors.js';
import { DCMultiHeadAttention } from './dc-multi-head-attention.js';
import type { DCMultiHeadAttentionArgs, LayerArgs } from './options.js';
import { RMSNorm } from './rms-norm.js';

export interface DcformerBlockOptions extends Omit<DCMultiHeadAttentionArgs, keyof LayerArgs> {
  /**
   * F: SwiGLU width. Default 8·D/3 rounded up to a multiple of 8 (the parameter count of a 4·D MLP; the
   * official models round to 256, too coarse for small widths).
   */
  hiddenDim?: number;
  /** RMSNorm epsilon of both pre-norms. Default 1e-6. */
  normEpsilon?: number;
  /** [batch, time] padding mask (non-zero = real token), passed to the attention as its second input. */
  paddingMask?: SymbolicTensor;
  /** Prefix of the block's layer names (unique within a model). Default: tfjs's automatic names. */
  name?: string;
}

/** The block applied to x [batch, time, D]; returns its output [batch, time, D]. */
export function dcformerBlock(x: SymbolicTensor, options: DcformerBlockOptions): SymbolicTensor {
  const { hiddenDim, normEpsilon, paddingMask, name, ...attention } = options;
  const label = `dcformerBlock${name === undefined ? '' : ` '${name}'`}`;
  const D = x.shape[x.shape.length - 1];
  if (x.shape.length !== 3 || D === null) {
    throw new ValueError(
      name ?? 'dcformerBlock',
      `${label}: x must be [batch, time, features] with known features; got shape [${x.shape.map((d) => d ?? 'null').join(',')}].`,
      'shape',
    );
  }
  const F = hiddenDim ?? Math.ceil((8 * D) / 3 / 8) * 8;
  if (!Number.isInteger(F) || F < 1) {
    throw new ValueError(
      name ?? 'dcformerBlock',
      `${label}: hiddenDim must be a positive integer, but got ${JSON.stringify(hiddenDim)}.`,
    );
  }
  const named = (suffix: string) => (name === undefined ? {} : { name: `${name}_${suffix}` });
  const seed = attention.seed ?? null;
  const kernel = (offset: number) => initializers.glorotUniform(seed === null ? {} : { seed: seed + 100 + offset });
  const dense = (units: number, suffix: string, offset: number, activation?: 'swish') =>
    layers.dense({ units, useBias: false, activation, kernelInitializer: kernel(offset), ...named(suffix) });

  const attnIn = new RMSNorm({ epsilon: normEpsilon, ...named('attention_norm') }).apply(x) as SymbolicTensor;
  const attnLayer = new DCMultiHeadAttention({ ...attention, ...named('attention') });
  const attnOut = attnLayer.apply(paddingMask === undefined ? attnIn : [attnIn, paddingMask]) as SymbolicTensor;
  const h = layers.add(named('attention_residual')).apply([x, attnOut]) as SymbolicTensor;

  const ffnIn = new RMSNorm({ epsilon: normEpsilon, ...named('ffn_norm') }).apply(h) as SymbolicTensor;
  // swish with its default slope is x·sigmoid(x), i.e. SiLU
  const gate = dense(F, 'w1', 0, 'swish').apply(ffnIn) as SymbolicTensor;
  const up = dense(F, 'w3', 1).apply(ffnIn) as SymbolicTensor;
  const act = layers.multiply(named('swiglu')).apply([gate, up]) as SymbolicTensor;
  const down = dense(D, 'w2', 2).apply(act) as SymbolicTensor;
  return layers.add(named('ffn_residual')).apply([h, down]) as SymbolicTensor;
}
