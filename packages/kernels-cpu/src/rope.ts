/** Fused rotary embedding for the cpu backend (native/rope.cc): kernel `DcRope` of @dcformer/kernels. */
import type { KernelConfig, TensorInfo } from '@tensorflow/tfjs-core';
import { DcRope, referenceRopeKernel } from '@dcformer/kernels';
import { f32, output, uninitializedF32 } from './backend-data.js';
import type { NativeAddon } from './native.js';

export function fusedRopeKernel(addon: NativeAddon, backendName = 'cpu'): KernelConfig {
  const reference = referenceRopeKernel(backendName);
  return {
    kernelName: DcRope,
    backendName,
    kernelFunc: (args) => {
      const { x, cos, sin } = args.inputs as { x: TensorInfo; cos: TensorInfo; sin: TensorInfo };
      const [xv, cv, sv] = [x, cos, sin].map((t) => f32(args.backend, t));
      if (xv === null || cv === null || sv === null) return reference.kernelFunc(args);
      const [B, T, N, E] = x.shape;
      const out = uninitializedF32(xv.length);
      if (out.length > 0) addon.rope(xv, cv, sv, out, B, T, N, E, cos.shape[3], cos.shape[0]);
      return output(args.backend, x.shape, out);
    },
  };
}
