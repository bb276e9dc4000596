/** Fused exact GELU for the cpu backend (native/gelu.cc): kernels `DcGelu` and `DcGeluBackward`. */
import type { KernelConfig, Tensor, TensorInfo } from '@tensorflow/tfjs-core';
import { DcGelu, DcGeluBackward, geluReferenceGrad, referenceGeluKernel } from '@dcformer/kernels';
import { f32, output, uninitializedF32 } from './backend-data.js';
import type { NativeAddon } from './native.js';

export function fusedGeluKernel(addon: NativeAddon, backendName = 'cpu'): KernelConfig {
  const reference = referenceGeluKernel(backendName);
  return {
    kernelName: DcGelu,
    backendName,
    kernelFunc: (args) => {
      const { x } = args.inputs as { x: TensorInfo };
      const xv = f32(args.backend, x);
      if (xv === null) return reference.kernelFunc(args);
      const y = uninitializedF32(xv.length);
      addon.geluForward(xv, y, xv.length);
      return output(args.backend, x.shape, y);
    },
  };
}

export function fusedGeluBackwardKernel(addon: NativeAddon, backendName = 'cpu'): KernelConfig {
  return {
    kernelName: DcGeluBackward,
    backendName,
    kernelFunc: (args) => {
      const { x, dy } = args.inputs as { x: TensorInfo; dy: TensorInfo };
      const xv = f32(args.backend, x);
      const dyv = f32(args.backend, dy);
      // runKernel hands kernels the Tensor objects themselves: the reference ops can run on them
      if (xv === null || dyv === null || xv.length !== dyv.length) return geluReferenceGrad(x as Tensor, dy as Tensor);
      const dx = uninitializedF32(xv.length);
      addon.geluBackward(xv, dyv, dx, xv.length);
      return output(args.backend, x.shape, dx);
    },
  };
}
