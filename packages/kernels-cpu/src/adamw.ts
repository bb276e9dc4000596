/** Fused AdamW step for the cpu backend (native/adamw.cc): kernel `DcAdamWUpdate` of @dcformer/kernels. */
import type { KernelConfig, TensorInfo } from '@tensorflow/tfjs-core';
import { DcAdamWUpdate, adamWAttrsOf, referenceAdamWKernel } from '@dcformer/kernels';
import { f32, output, uninitializedF32 } from './backend-data.js';
import type { NativeAddon } from './native.js';

export function fusedAdamWKernel(addon: NativeAddon, backendName = 'cpu'): KernelConfig {
  const reference = referenceAdamWKernel(backendName);
  return {
    kernelName: DcAdamWUpdate,
    backendName,
    kernelFunc: (args) => {
      const { param, grad, m, v } = args.inputs as unknown as Record<string, TensorInfo>;
      const [pv, gv, mv, vv] = [param, grad, m, v].map((t) => f32(args.backend, t));
      if (pv === null || gv === null || mv === null || vv === null) return reference.kernelFunc(args);
      const a = adamWAttrsOf(args.attrs ?? {});
      const n = pv.length;
      const [pOut, mOut, vOut] = [uninitializedF32(n), uninitializedF32(n), uninitializedF32(n)];
      addon.adamW(
        pv,
        gv,
        mv,
        vv,
        pOut,
        mOut,
        vOut,
        n,
        a.gradScale,
        a.decay,
        a.beta1,
        a.beta2,
        a.eps,
        a.stepSize,
        a.bc2Sqrt,
      );
      return [
        output(args.backend, param.shape, pOut),
        output(args.backend, param.shape, mOut),
        output(args.backend, param.shape, vOut),
      ];
    },
  };
}
