/**
 * The kernels of @dcformer/kernels as tfjs kernels on a backend that keeps its tensors in host
 * Float32Arrays (the `cpu` backend), computed by either build of the addon. With the host build this
 * is how the tests run the conformance suites of @dcformer/kernels/testing against the CUDA sources'
 * arithmetic; with the device build it runs the GPU kernels from host tensors (one copy each way per
 * call) until the `cuda` backend keeps tensors in device memory.
 *
 * Inputs not held as float32/int32 arrays fall back to the reference ops, as on kernels-cpu. The
 * element-wise kernels are @dcformer/kernels' host adapters (the same code kernels-cpu registers);
 * only Compose is adapted here (the addon's Compose takes the band hint and both sides at once).
 */
import * as tf from '@tensorflow/tfjs-core';
import type { KernelConfig, Tensor, TensorInfo } from '@tensorflow/tfjs-core';
import {
  DcAdamWUpdate,
  DcGelu,
  DcGeluBackward,
  DcRmsNorm,
  DcRmsNormBackward,
  DcRope,
  DcSoftmaxCrossEntropy,
  DcSoftmaxCrossEntropyBackward,
  DcmhaCompose,
  DcmhaComposeBackward,
  InputError,
  composeAttrsOf,
  composeInputNames,
  composeInputsFromList,
  composeReferenceGrad,
  hostElementwiseKernels,
  hostF32 as f32,
  hostOutput as output,
  inputList,
  isHostBackend,
  referenceComposeKernel,
  type ComposeAttrs,
  type ComposeGrads,
} from '@dcformer/kernels';
import type { CudaAddon } from './native.js';

/** The band hint as the addon's three numbers: window −1 = no hint, 0 = causal only. */
function bandArgs(attrs: ComposeAttrs): [number, number, number] {
  const band = attrs.band;
  return band === undefined ? [0, 0, -1] : [band.queryOffset, band.keyOffset, band.window ?? 0];
}

/** Compose's inputs by name, with the dimensions; null when one is not a float32 array. */
function composeArrays(backend: unknown, list: TensorInfo[], attrs: ComposeAttrs) {
  const names = composeInputNames(attrs);
  const v: Record<string, Float32Array | null> = {};
  names.forEach((n, i) => (v[n] = f32(backend, list[i])));
  if (names.some((n) => v[n] === null)) return null;
  const [B, N, T, S] = list[0].shape;
  const I = names.length > 1 ? list[1].shape[2] : 0;
  const w = [v.qw1 ?? null, v.qw2 ?? null, v.qdd ?? null, v.kw1 ?? null, v.kw2 ?? null, v.kdd ?? null] as const;
  return { names, x: v.x!, w, B, N, T, S, I };
}

function composeKernel(addon: CudaAddon, backendName: string): KernelConfig {
  const reference = referenceComposeKernel(backendName);
  return {
    kernelName: DcmhaCompose,
    backendName,
    kernelFunc: (args) => {
      const list = inputList(args);
      const attrs = composeAttrsOf(args.attrs);
      const u = composeArrays(args.backend, list, attrs);
      if (u === null || (!attrs.queryWise && !attrs.keyWise)) return reference.kernelFunc(args);
      const out = new Float32Array(u.x.length);
      addon.composeForward(u.x, ...u.w, out, u.B, u.N, u.T, u.S, u.I, ...bandArgs(attrs));
      return output(args.backend, list[0].shape, out);
    },
  };
}

function composeBackwardKernel(addon: CudaAddon, backendName: string): KernelConfig {
  return {
    kernelName: DcmhaComposeBackward,
    backendName,
    kernelFunc: (args) => {
      const list = inputList(args);
      const attrs = composeAttrsOf(args.attrs);
      const u = composeArrays(args.backend, list, attrs);
      const dy = f32(args.backend, list[list.length - 1]);
      if (u === null || dy === null) {
        // runKernel hands kernels the Tensor objects themselves: the reference ops can run on them
        const names = composeInputNames(attrs);
        const inputs = composeInputsFromList(list as Tensor[], attrs);
        const grads = composeReferenceGrad(inputs, list[names.length] as Tensor, attrs);
        return names.map((n) => grads[n as keyof ComposeGrads] as Tensor);
      }
      const grads: Record<string, Float32Array> = { x: new Float32Array(u.x.length) };
      for (let i = 1; i < u.names.length; i++)
        grads[u.names[i]] = new Float32Array(list[i].shape.reduce((a, b) => a * b, 1));
      const g = (n: string) => grads[n] ?? null;
      addon.composeBackward(
        u.x,
        ...u.w,
        dy,
        grads.x,
        g('qw1'),
        g('qw2'),
        g('qdd'),
        g('kw1'),
        g('kw2'),
        g('kdd'),
        u.B,
        u.N,
        u.T,
        u.S,
        u.I,
        ...bandArgs(attrs),
      );
      return u.names.map((n, i) => output(args.backend, list[i].shape, grads[n]));
    },
  };
}

/** The kernel configs for `backendName`, each computed by `addon`. */
export function addonKernels(addon: CudaAddon, backendName = 'cpu'): KernelConfig[] {
  return [
    composeKernel(addon, backendName),
    composeBackwardKernel(addon, backendName),
    ...hostElementwiseKernels(addon, backendName),
  ];
}

/**
 * Registers `addonKernels` on a backend that holds tensors in host arrays (replacing what was
 * registered under those names) and returns their names. Refuses a backend that does not.
 */
export function registerAddonKernels(addon: CudaAddon, backendName = 'cpu'): string[] {
  if (!isHostBackend(tf.findBackend(backendName))) {
    throw new InputError(
      `registerAddonKernels: 'backendName' must name a registered backend that keeps tensors in host arrays (like 'cpu'); got '${backendName}'`,
    );
  }
  return addonKernels(addon, backendName).map((config) => {
    if (tf.getKernel(config.kernelName, backendName) !== undefined) tf.unregisterKernel(config.kernelName, backendName);
    tf.registerKernel(config);
    return config.kernelName;
  });
}

/** Removes what registerAddonKernels registered; the reference kernels register themselves again on next use. */
export function unregisterAddonKernels(backendName = 'cpu'): void {
  for (const name of [
    DcmhaCompose,
    DcmhaComposeBackward,
    DcRmsNorm,
    DcRmsNormBackward,
    DcRope,
    DcGelu,
    DcGeluBackward,
    DcSoftmaxCrossEntropy,
    DcSoftmaxCrossEntropyBackward,
    DcAdamWUpdate,
  ]) {
    if (tf.getKernel(name, backendName) !== undefined) tf.unregisterKernel(name, backendName);
  }
}
