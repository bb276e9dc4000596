import * as tf from '@tensorflow/tfjs-core';
import type { GradConfig, KernelConfig, Tensor } from '@tensorflow/tfjs-core';
import { ShapeError, formatShape } from '../errors.js';
import { referenceRegistry } from '../reference-registry.js';

/**
 * DcSoftmaxCrossEntropy: per-row cross-entropy of logits against integer labels,
 *
 *   loss[r] = logsumexp(logits[r, :]) − logits[r, labels[r]]
 *
 * Inputs `logits` [R,V] float32 and `labels` [R] int32 with 0 ≤ labels[r] < V (callers validate
 * ids; an out-of-range label gives an unspecified value, never a read outside the row). Outputs
 * [loss [R], lse [R]] float32, lse = logsumexp(logits[r, :]), which the backward reuses so it needs
 * one pass over the row instead of three. A fused kernel avoids the ~6 element-wise passes over R·V that logSumExp, gather
 * and their gradients cost; at bench-small's R·V = 103 M these were most of a CPU training step.
 */
export const DcSoftmaxCrossEntropy = 'DcSoftmaxCrossEntropy';

/**
 * DcSoftmaxCrossEntropyBackward: optional fused gradient. Inputs `logits` [R,V], `labels` [R],
 * `lse` [R] (the forward's second output), `dy` [R]; output d(Σ loss·dy)/d(logits) =
 * (exp(logits[r] − lse[r]) − onehot(labels[r]))·dy[r], [R,V].
 */
export const DcSoftmaxCrossEntropyBackward = 'DcSoftmaxCrossEntropyBackward';

function validate(who: string, logits: Tensor, labels: Tensor): void {
  if (logits.rank !== 2)
    throw new ShapeError(`${who}: 'logits' must be [R,V]; got rank ${logits.rank} ${formatShape(logits.shape)}`);
  if (logits.dtype !== 'float32') throw new ShapeError(`${who}: 'logits' must be float32; got ${logits.dtype}`);
  if (labels.dtype !== 'int32') throw new ShapeError(`${who}: 'labels' must be int32; got ${labels.dtype}`);
  const [R] = logits.shape;
  if (labels.rank !== 1 || labels.shape[0] !== R) {
    throw new ShapeError(
      `${who}: 'labels' must be [R] = [${R}] (R from logits [R,V] = ${formatShape(logits.shape)}); got ${formatShape(labels.shape)}`,
    );
  }
}

/** The label logit of each row, gathered from the flattened rows (no one-hot R×V tensor). */
function labelLogits(logits_RV: Tensor, labels_R: Tensor): Tensor {
  const [R, V] = logits_RV.shape;
  const flatIndex_R = tf.add(labels_R, tf.mul(tf.range(0, R, 1, 'int32'), tf.scalar(V, 'int32')));
  return tf.gather(tf.reshape(logits_RV, [R * V]), flatIndex_R);
}

/** Forward from plain tfjs ops: [loss, lse]; the fallback on any backend. */
export function crossEntropyReference(logits_RV: Tensor, labels_R: Tensor): [Tensor, Tensor] {
  // Both terms relative to the row max: at large logits the difference of two large float32 values
  // would lose the loss's low digits.
  return tf.tidy(() => {
    const max_R1 = tf.max(logits_RV, -1, true);
    const shifted_RV = tf.sub(logits_RV, max_R1);
    const logSum_R = tf.log(tf.sum(tf.exp(shifted_RV), -1));
    const loss_R = tf.sub(logSum_R, labelLogits(shifted_RV, labels_R));
    return [loss_R, tf.add(logSum_R, tf.reshape(max_R1, [-1]))];
  });
}

/** Backward from plain tfjs ops: softmax·dy minus dy scattered onto each row's label. */
export function crossEntropyReferenceGrad(logits_RV: Tensor, labels_R: Tensor, lse_R: Tensor, dy_R: Tensor): Tensor {
  return tf.tidy(() => {
    const [R, V] = logits_RV.shape;
    const p_RV = tf.exp(tf.sub(logits_RV, tf.expandDims(lse_R, 1)));
    const flatIndex_R1 = tf.expandDims(tf.add(labels_R, tf.mul(tf.range(0, R, 1, 'int32'), tf.scalar(V, 'int32'))), 1);
    const atLabel_RV = tf.reshape(tf.scatterND(flatIndex_R1, dy_R, [R * V]), [R, V]);
    return tf.sub(tf.mul(p_RV, tf.expandDims(dy_R, 1)), atLabel_RV);
  });
}

/** Gradient by kernel name: the backward kernel where the backend has one, else the reference. */
export const crossEntropyGradConfig: GradConfig = {
  kernelName: DcSoftmaxCrossEntropy,
  inputsToSave: ['logits', 'labels'],
  outputsToSave: [false, true],
  gradFunc: (dy, saved) => {
    const [logits, labels, lse] = saved;
    // dy arrives for both outputs; lse is internal (never returned by softmaxCrossEntropy)
    const dLoss = Array.isArray(dy) ? dy[0] : dy;
    return {
      logits: () => softmaxCrossEntropyBackward(logits, labels, lse, dLoss),
      labels: () => tf.zerosLike(labels),
    };
  },
};

/** The reference forward as the DcSoftmaxCrossEntropy kernel of `backendName`. */
export function referenceCrossEntropyKernel(backendName: string): KernelConfig {
  return {
    kernelName: DcSoftmaxCrossEntropy,
    backendName,
    // tfjs ops inside a kernel are not recorded (kernelDepth > 0); the returned Tensor is the output.
    kernelFunc: ({ inputs }) => crossEntropyReference(inputs.logits as Tensor, inputs.labels as Tensor),
  };
}

const registry = referenceRegistry(DcSoftmaxCrossEntropy, referenceCrossEntropyKernel, crossEntropyGradConfig);

/** True when `backendName` runs the reference cross-entropy (no fused kernel registered). */
export function isReferenceCrossEntropy(backendName: string): boolean {
  return registry.isReference(backendName);
}

/**
 * Per-row cross-entropy −log softmax(logits[r])[labels[r]] through the active backend's
 * `DcSoftmaxCrossEntropy` kernel (a fused one if a backend package registered it, otherwise the
 * reference from tfjs ops). Differentiable with respect to `logits`.
 *
 * ```js
 * const loss = tf.mean(softmaxCrossEntropy(logits_RV, labels_R));
 * ```
 */
export function softmaxCrossEntropy(logits_RV: Tensor, labels_R: Tensor): Tensor {
  validate('softmaxCrossEntropy', logits_RV, labels_R);
  registry.ensure();
  const [loss_R, lse_R] = tf.engine().runKernel(DcSoftmaxCrossEntropy, {
    logits: logits_RV,
    labels: labels_R,
  }) as Tensor[];
  // lse stays alive while the tape saved it for the backward; the caller sees only the loss
  lse_R.dispose();
  return loss_R;
}

/**
 * d(Σ loss·dy)/d(logits) without a tape, given the forward's lse: the fused backward kernel where
 * registered, else the reference.
 */
export function softmaxCrossEntropyBackward(logits_RV: Tensor, labels_R: Tensor, lse_R: Tensor, dy_R: Tensor): Tensor {
  validate('softmaxCrossEntropyBackward', logits_RV, labels_R);
  const R = logits_RV.shape[0];
  for (const [name, t] of [
    ['lse', lse_R],
    ['dy', dy_R],
  ] as const) {
    if (t.rank !== 1 || t.shape[0] !== R)
      throw new ShapeError(`softmaxCrossEntropyBackward: '${name}' must be [R] = [${R}]; got ${formatShape(t.shape)}`);
  }
  if (tf.getKernel(DcSoftmaxCrossEntropyBackward, tf.getBackend()) === undefined)
    return crossEntropyReferenceGrad(logits_RV, labels_R, lse_R, dy_R);
  return tf.engine().runKernel(DcSoftmaxCrossEntropyBackward, {
    logits: logits_RV,
    labels: labels_R,
    lse: lse_R,
    dy: dy_R,
  }) as Tensor;
}
