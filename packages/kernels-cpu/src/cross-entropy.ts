/**
 * Fused softmax cross-entropy for the cpu backend (native/cross-entropy.cc): kernels
 * `DcSoftmaxCrossEntropy` and `DcSoftmaxCrossEntropyBackward` of @dcformer/kernels. Inputs not held
 * as float32/int32 arrays in backend memory fall back to the reference ops.
 */
import type { KernelConfig, Tensor, TensorInfo } from '@tensorflow/tfjs-core';
import {
  DcSoftmaxCrossEntropy,
  DcSoftmaxCrossEntropyBackward,
  crossEntropyReferenceGrad,
  referenceCrossEntropyKernel,
} from '@dcformer/kernels';
import { f32, i32, output, uninitializedF32 } from './backend-data.js';
import type { NativeAddon } from './native.js';

export function fusedCrossEntropyKernel(addon: NativeAddon, backendName = 'cpu'): KernelConfig {
  const reference = referenceCrossEntropyKernel(backendName);
  return {
    kernelName: DcSoftmaxCrossEntropy,
    backendName,
    kernelFunc: (args) => {
      const { logits, labels } = args.inputs as { logits: TensorInfo; labels: TensorInfo };
      const x = f32(args.backend, logits);
      const l = i32(args.backend, labels);
      if (x === null || l === null) return reference.kernelFunc(args);
      const [R, V] = logits.shape;
      const loss = new Float32Array(R);
      const lse = new Float32Array(R);
      if (R > 0 && V > 0) addon.crossEntropyForward(x, l, loss, lse, R, V);
      return [output(args.backend, [R], loss), output(args.backend, [R], lse)];
    },
  };
}

export function fusedCrossEntropyBackwardKernel(addon: NativeAddon, backendName = 'cpu'): KernelConfig {
  return {
    kernelName: DcSoftmaxCrossEntropyBackward,
    backendName,
    kernelFunc: (args) => {
      const { logits, labels, lse, dy } = args.inputs as {
        logits: TensorInfo;
        labels: TensorInfo;
        lse: TensorInfo;
        dy: TensorInfo;
      };
      const x = f32(args.backend, logits);
      const l = i32(args.backend, labels);
      const s = f32(args.backend, lse);
      const d = f32(args.backend, dy);
      // runKernel hands kernels the Tensor objects themselves: the reference ops can run on them
      if (x === null || l === null || s === null || d === null) {
        return crossEntropyReferenceGrad(logits as Tensor, labels as Tensor, lse as Tensor, dy as Tensor);
      }
      const [R, V] = logits.shape;
      const dx = uninitializedF32(R * V);
      if (dx.length > 0) addon.crossEntropyBackward(x, l, s, d, dx, R, V);
      return output(args.backend, [R, V], dx);
    },
  };
}
