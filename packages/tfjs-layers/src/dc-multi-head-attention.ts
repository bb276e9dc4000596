/**
 * DCMHA as a tfjs-layers Layer: self-attention over [batch, time, features] whose heads are
 * dynamically composed (docs/dcmha.md), a drop-in for a Layers API attention layer. The causal path runs
 * @dcformer/compose's chunked `dcmhaAttention` (custom gradient that recomputes per chunk); a padding
 * mask or non-causal attention takes the dense path (dense-attention.ts). Both are tfjs ops end to end,
 * so `model.fit` (optimizer.minimize → variableGrads) differentiates through them.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Tensor, serialization } from '@tensorflow/tfjs-core';
import { initializers, layers, type LayerVariable, type Shape } from '@tensorflow/tfjs-layers';
import { dcmhaAttention, dynamicWeights, type AttentionWeights } from '@dcformer/compose';
import { ValueError, formatLayerShape, layerLabel } from './errors.js';
import { defaultInitializers, serializeInitializer } from './initializers.js';
import { denseAttention, visibility } from './dense-attention.js';
import { rmsNorm, rope } from './ops.js';
import { dynamicRank, resolveOptions, type AttentionOptions, type DCMultiHeadAttentionArgs } from './options.js';

const QK_NORM_EPS = 1e-6; // official q_norm / k_norm

type Kwargs = { [key: string]: unknown };

/** Sizes fixed at build time from the input width D. */
interface Dims {
  D: number;
  N: number;
  E: number;
  R: number;
  K: number;
  I: number;
}

interface Weights {
  wqkv: LayerVariable; // [D, 3·N·E]: columns [q | k | v], each head-major (official wqkv.weightᵀ)
  wo: LayerVariable; // [N·E, D] (official wo.weightᵀ)
  wqkvBias?: LayerVariable;
  woBias?: LayerVariable;
  dw1?: LayerVariable; // [D,1,4,K], official shape
  qkw?: LayerVariable; // [1,4,K,2I,N]
  dd?: LayerVariable; // [D,1,4N]
  qNormScale?: LayerVariable; // [E]
  kNormScale?: LayerVariable;
}

/**
 * Dynamically composable multi-head self-attention (Xiao et al., ICML 2024).
 *
 * Input: x [batch, time, features], or [x, paddingMask] with paddingMask [batch, time] (non-zero = real
 * token); a Keras mask arriving from an earlier layer (e.g. `embedding({maskZero: true})`) is used as
 * the padding mask when no explicit one is given. Output: [batch, time, features].
 *
 * ```js
 * const attn = new DCMultiHeadAttention({ numHeads: 4, window: 64 });
 * const y = attn.apply(x); // x: [B, T, 128]
 * ```
 */
export class DCMultiHeadAttention extends layers.Layer {
  static className = 'DCMultiHeadAttention';

  readonly options: AttentionOptions;
  private dims: Dims | null = null;
  private weightsOf: Weights | null = null;

  constructor(args: DCMultiHeadAttentionArgs) {
    super(args ?? {});
    this.options = resolveOptions(args, (message) => this.fail(message));
    this.supportsMasking = true;
  }

  /** Throws tfjs-layers' kind of error, naming this layer. */
  private fail(message: string, code: 'shape' | 'config' = 'config'): never {
    throw new ValueError(this.name, `${layerLabel(DCMultiHeadAttention.className, this.name)}: ${message}`, code);
  }

  /** x's shape (and the padding mask's, if given) out of what build / computeOutputShape receive. */
  private splitShapes(inputShape: Shape | Shape[]): { x: Shape; mask: Shape | null } {
    const list = Array.isArray(inputShape[0]) ? (inputShape as Shape[]) : [inputShape as Shape];
    if (list.length > 2) this.fail(`expects x or [x, paddingMask], but got ${list.length} inputs.`, 'shape');
    const [x, mask = null] = list;
    if (x.length !== 3) {
      this.fail(
        `Input 0 is incompatible: expected ndim=3 ([batch, time, features]), found ndim=${x.length} (shape ${formatLayerShape(x)}).`,
        'shape',
      );
    }
    if (mask !== null && mask.length !== 2) {
      this.fail(
        `Input 1 (paddingMask) is incompatible: expected ndim=2 ([batch, time]), found ndim=${mask.length} (shape ${formatLayerShape(mask)}).`,
        'shape',
      );
    }
    if (mask !== null && x[1] !== null && mask[1] !== null && x[1] !== mask[1]) {
      this.fail(
        `paddingMask ${formatLayerShape(mask)} does not match the time axis of x ${formatLayerShape(x)}.`,
        'shape',
      );
    }
    if (this.dims !== null && x[2] !== this.dims.D) {
      this.fail(
        `Input 0 is incompatible: expected axis -1 of input shape to have value ${this.dims.D}, but got shape ${formatLayerShape(x)}.`,
        'shape',
      );
    }
    return { x, mask };
  }

  build(inputShape: Shape | Shape[]): void {
    const { x } = this.splitShapes(inputShape);
    const D = x[2];
    if (D === null)
      this.fail(`the feature axis of the input must be known; got shape ${formatLayerShape(x)}.`, 'shape');
    const o = this.options;
    const N = o.numHeads;
    if (o.keyDim === null && D % N !== 0) {
      this.fail(
        `numHeads ${N} does not divide the input features ${D}; choose numHeads that divides it or set keyDim.`,
      );
    }
    const E = o.keyDim ?? D / N;
    const R = o.rotaryDims ?? E;
    if (o.useRope && (R > E || R % 2 !== 0)) {
      this.fail(
        `RoPE needs an even number of rotary dims no larger than the head size ${E}, but got ${R}; set rotaryDims or useRope: false.`,
      );
    }
    const K = 4 * N;
    const I = o.useDcmha ? dynamicRank(N) : 0;
    const init = defaultInitializers(D, N, K, o.seed);
    const kernelInit = (fallback: ReturnType<typeof initializers.zeros>) => o.kernelInitializer ?? fallback;
    const biasInit = o.biasInitializer ?? initializers.zeros();
    const ones = initializers.ones();
    const w: Weights = {
      wqkv: this.addWeight('wqkv', [D, 3 * N * E], 'float32', kernelInit(init.wqkv)),
      wo: this.addWeight('wo', [N * E, D], 'float32', kernelInit(init.wo)),
    };
    if (o.useBias) {
      w.wqkvBias = this.addWeight('wqkv_bias', [3 * N * E], 'float32', biasInit);
      w.woBias = this.addWeight('wo_bias', [D], 'float32', biasInit);
    }
    if (o.useDcmha) {
      w.dw1 = this.addWeight('dw1', [D, 1, 4, K], 'float32', init.dw1);
      w.qkw = this.addWeight('qkw', [1, 4, K, 2 * I, N], 'float32', init.qkw);
      w.dd = this.addWeight('dd', [D, 1, 4 * N], 'float32', init.dd);
    }
    if (o.useQkNorm) {
      w.qNormScale = this.addWeight('q_norm_scale', [E], 'float32', ones);
      w.kNormScale = this.addWeight('k_norm_scale', [E], 'float32', ones);
    }
    this.weightsOf = w;
    this.dims = { D, N, E, R, K, I };
    this.built = true;
  }

  computeOutputShape(inputShape: Shape | Shape[]): Shape {
    return this.splitShapes(inputShape).x.slice();
  }

  /** The padding mask travels with the output, so later layers (and blocks) see the same padding. */
  computeMask(_inputs: Tensor | Tensor[], mask?: Tensor | Tensor[]): Tensor {
    // tfjs-layers means "no mask" by null, though its signature does not say so.
    return ((Array.isArray(mask) ? mask[0] : mask) ?? null) as Tensor;
  }

  call(inputs: Tensor | Tensor[], kwargs: Kwargs): Tensor {
    return tf.tidy(() => {
      this.invokeCallHook(inputs, kwargs);
      const list = Array.isArray(inputs) ? inputs : [inputs];
      this.splitShapes(list.map((t) => t.shape));
      const [x_BTD] = list;
      const keras = kwargs?.mask as Tensor | Tensor[] | undefined;
      const padding = list[1] ?? (Array.isArray(keras) ? keras[0] : keras) ?? null;
      if (
        padding !== null &&
        (padding.rank !== 2 || padding.shape[0] !== x_BTD.shape[0] || padding.shape[1] !== x_BTD.shape[1])
      ) {
        this.fail(
          `the padding mask must be [batch, time] = ${formatLayerShape(x_BTD.shape.slice(0, 2))}, but got ${formatLayerShape(padding.shape)}.`,
          'shape',
        );
      }
      return this.attend(x_BTD, padding);
    });
  }

  private attend(x_BTD: Tensor, padding_BT: Tensor | null): Tensor {
    const { D, N, E, R } = this.dims as Dims;
    const w = this.weightsOf as Weights;
    const o = this.options;
    const [B, T] = x_BTD.shape as number[];
    let qkv_XJ = tf.matMul(tf.reshape(x_BTD, [B * T, D]), w.wqkv.read());
    if (w.wqkvBias) qkv_XJ = tf.add(qkv_XJ, w.wqkvBias.read());
    let [q_BTNE, k_BTNE, v_BTNE] = tf.split(tf.reshape(qkv_XJ, [B, T, 3 * N, E]), 3, 2);
    if (w.qNormScale && w.kNormScale) {
      q_BTNE = rmsNorm(q_BTNE, w.qNormScale.read(), QK_NORM_EPS);
      k_BTNE = rmsNorm(k_BTNE, w.kNormScale.read(), QK_NORM_EPS);
    }
    if (o.useRope) {
      q_BTNE = rope(q_BTNE, R, o.ropeBase);
      k_BTNE = rope(k_BTNE, R, o.ropeBase);
    }
    const toHeads = (t: Tensor) => tf.transpose(t, [0, 2, 1, 3]);
    let weights: AttentionWeights | null = null;
    if (w.dw1 && w.qkw && w.dd) {
      // From the layer input (the attention-normed block input in a DCFormer block), not from q or k.
      const dyn = dynamicWeights(x_BTD, { dw1: w.dw1.read(), qkw: w.qkw.read(), dd: w.dd.read() });
      weights = { query: o.queryWise ? dyn.query : null, key: o.keyWise ? dyn.key : null };
    }
    const attrs = { queryWise: o.queryWise, keyWise: o.keyWise };
    const [q, k, v] = [q_BTNE, k_BTNE, v_BTNE].map(toHeads);
    const y_BNTE =
      padding_BT === null && o.causal
        ? dcmhaAttention(q, k, v, weights, { window: o.window, chunkSize: o.chunkSize, compose: attrs })
        : denseAttention(q, k, v, weights, attrs, visibility(T, o.causal, o.window, padding_BT));
    let y_XD = tf.matMul(tf.reshape(tf.transpose(y_BNTE, [0, 2, 1, 3]), [B * T, N * E]), w.wo.read());
    if (w.woBias) y_XD = tf.add(y_XD, w.woBias.read());
    return tf.reshape(y_XD, [B, T, D]);
  }

  getConfig(): serialization.ConfigDict {
    const o = this.options;
    const config: serialization.ConfigDict = {
      numHeads: o.numHeads,
      keyDim: o.keyDim,
      causal: o.causal,
      window: o.window,
      useDcmha: o.useDcmha,
      queryWise: o.queryWise,
      keyWise: o.keyWise,
      useQkNorm: o.useQkNorm,
      useRope: o.useRope,
      ropeBase: o.ropeBase,
      rotaryDims: o.rotaryDims,
      useBias: o.useBias,
      chunkSize: o.chunkSize,
      kernelInitializer: serializeInitializer(o.kernelInitializer),
      biasInitializer: serializeInitializer(o.biasInitializer),
      seed: o.seed,
    };
    return { ...config, ...super.getConfig() };
  }
}
