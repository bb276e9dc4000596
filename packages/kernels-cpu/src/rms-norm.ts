/** Fused RMSNorm for the cpu backend (native/rms-norm.cc): kernels `DcRmsNorm` and `DcRmsNormBackward`. */
import type { KernelConfig, NamedAttrMap, Tensor, TensorInfo } from '@tensorflow/tfjs-core';
import { DcRmsNorm, DcRmsNormBackward, referenceRmsNormKernel, rmsNormReferenceGrad } from '@dcformer/kernels';
import { f32, output, uninitializedF32 } from './backend-data.js';
import type { NativeAddon } from './native.js';

export function fusedRmsNormKernel(addon: NativeAddon, backendName = 'cpu'): KernelConfig {
  const reference = referenceRmsNormKernel(backendName);
  return {
    kernelName: DcRmsNorm,
    backendName,
    kernelFunc: (args) => {
      const { x, weight } = args.inputs as { x: TensorInfo; weight: TensorInfo };
      const xv = f32(args.backend, x);
      const wv = f32(args.backend, weight);
      if (xv === null || wv === null) return reference.kernelFunc(args);
      const D = wv.length;
      const y = uninitializedF32(xv.length);
      if (y.length > 0) addon.rmsNormForward(xv, wv, y, xv.length / D, D, (args.attrs as NamedAttrMap).eps as number);
      return output(args.backend, x.shape, y);
    },
  };
}

export function fusedRmsNormBackwardKernel(addon: NativeAddon, backendName = 'cpu'): KernelConfig {
  return {
    kernelName: DcRmsNormBackward,
    backendName,
    kernelFunc: (args) => {
      const { x, weight, dy } = args.inputs as { x: TensorInfo; weight: TensorInfo; dy: TensorInfo };
      const eps = (args.attrs as NamedAttrMap).eps as number;
      const [xv, wv, dyv] = [x, weight, dy].map((t) => f32(args.backend, t));
      // runKernel hands kernels the Tensor objects themselves: the reference ops can run on them
      if (xv === null || wv === null || dyv === null)
        return rmsNormReferenceGrad(x as Tensor, weight as Tensor, dy as Tensor, eps);
      const D = wv.length;
      const dx = uninitializedF32(xv.length);
      const dw = new Float32Array(D);
      if (dx.length > 0) addon.rmsNormBackward(xv, wv, dyv, dx, dw, xv.length / D, D, eps);
      return [output(args.backend, x.shape, dx), output(args.backend, weight.shape, dw)];
    },
  };
}
