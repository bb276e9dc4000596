/**
 * The kernels of @dcformer/kernels as tfjs kernels on a backend that keeps its tensors in host
 * Float32Arrays (the `cpu` backend), computed by either build of the addon. With the host build this
 * is how the tests run the conformance suites of @dcformer/kernels/testing against the CUDA sources'
 * arithmetic; with the device build it runs the GPU kernels from host tensors (one copy each way per
 * call) until the `cuda` backend keeps tensors in device memory.
 *
 * Inputs not held as float32/int32 arrays fall back to the reference ops, as on kernels-cpu.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { KernelConfig, NamedAttrMap, Tensor, TensorInfo } from '@tensorflow/tfjs-core';
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
  adamWAttrsOf,
  composeAttrsOf,
  composeInputNames,
  composeReferenceGrad,
  crossEntropyReferenceGrad,
  geluReferenceGrad,
  referenceAdamWKernel,
  referenceComposeKernel,
  referenceCrossEntropyKernel,
  referenceGeluKernel,
  referenceRmsNormKernel,
  referenceRopeKernel,
  rmsNormReferenceGrad,
  type ComposeAttrs,
  type ComposeGrads,
  type ComposeInputs,
} from '@dcformer/kernels';
import type { CudaAddon } from './native.js';

interface HostBackend {
  data: { get(id: TensorInfo['dataId']): { values?: unknown } | undefined };
  makeTensorInfo(shape: number[], dtype: 'float32', values: Float32Array): TensorInfo;
}

function values<T>(backend: unknown, t: TensorInfo | undefined, ctor: new (...a: never[]) => T): T | null {
  if (t === undefined) return null;
  const v = (backend as HostBackend).data?.get(t.dataId)?.values;
  return v instanceof ctor ? (v as T) : null;
}
const f32 = (backend: unknown, t: TensorInfo | undefined) =>
  t?.dtype === 'float32' ? values(backend, t, Float32Array) : null;
const i32 = (backend: unknown, t: TensorInfo | undefined) =>
  t?.dtype === 'int32' ? values(backend, t, Int32Array) : null;
const output = (backend: unknown, shape: number[], v: Float32Array) =>
  (backend as HostBackend).makeTensorInfo(shape, 'float32', v);

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
      const list = args.inputs as unknown as TensorInfo[];
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
      const list = args.inputs as unknown as TensorInfo[];
      const attrs = composeAttrsOf(args.attrs);
      const u = composeArrays(args.backend, list, attrs);
      const dy = f32(args.backend, list[list.length - 1]);
      if (u === null || dy === null) {
        // runKernel hands kernels the Tensor objects themselves: the reference ops can run on them
        const names = composeInputNames(attrs);
        const inputs = Object.fromEntries(names.map((n, i) => [n, list[i] as Tensor])) as unknown as ComposeInputs;
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

function rmsNormKernel(addon: CudaAddon, backendName: string): KernelConfig {
  const reference = referenceRmsNormKernel(backendName);
  return {
    kernelName: DcRmsNorm,
    backendName,
    kernelFunc: (args) => {
      const { x, weight } = args.inputs as { x: TensorInfo; weight: TensorInfo };
      const [xv, wv] = [f32(args.backend, x), f32(args.backend, weight)];
      if (xv === null || wv === null) return reference.kernelFunc(args);
      const D = wv.length;
      const y = new Float32Array(xv.length);
      if (y.length > 0) addon.rmsNormForward(xv, wv, y, xv.length / D, D, (args.attrs as NamedAttrMap).eps as number);
      return output(args.backend, x.shape, y);
    },
  };
}

function rmsNormBackwardKernel(addon: CudaAddon, backendName: string): KernelConfig {
  return {
    kernelName: DcRmsNormBackward,
    backendName,
    kernelFunc: (args) => {
      const { x, weight, dy } = args.inputs as { x: TensorInfo; weight: TensorInfo; dy: TensorInfo };
      const eps = (args.attrs as NamedAttrMap).eps as number;
      const [xv, wv, dyv] = [x, weight, dy].map((t) => f32(args.backend, t));
      if (xv === null || wv === null || dyv === null)
        return rmsNormReferenceGrad(x as Tensor, weight as Tensor, dy as Tensor, eps);
      const D = wv.length;
      const dx = new Float32Array(xv.length);
      const dw = new Float32Array(D);
      if (dx.length > 0) addon.rmsNormBackward(xv, wv, dyv, dx, dw, xv.length / D, D, eps);
      return [output(args.backend, x.shape, dx), output(args.backend, weight.shape, dw)];
    },
  };
}

function ropeKernel(addon: CudaAddon, backendName: string): KernelConfig {
  const reference = referenceRopeKernel(backendName);
  return {
    kernelName: DcRope,
    backendName,
    kernelFunc: (args) => {
      const { x, cos, sin } = args.inputs as { x: TensorInfo; cos: TensorInfo; sin: TensorInfo };
      const [xv, cv, sv] = [x, cos, sin].map((t) => f32(args.backend, t));
      if (xv === null || cv === null || sv === null) return reference.kernelFunc(args);
      const [B, T, N, E] = x.shape;
      const out = new Float32Array(xv.length);
      if (out.length > 0) addon.rope(xv, cv, sv, out, B, T, N, E, cos.shape[3], cos.shape[0]);
      return output(args.backend, x.shape, out);
    },
  };
}

function geluKernel(addon: CudaAddon, backendName: string): KernelConfig {
  const reference = referenceGeluKernel(backendName);
  return {
    kernelName: DcGelu,
    backendName,
    kernelFunc: (args) => {
      const { x } = args.inputs as { x: TensorInfo };
      const xv = f32(args.backend, x);
      if (xv === null) return reference.kernelFunc(args);
      const y = new Float32Array(xv.length);
      addon.geluForward(xv, y, xv.length);
      return output(args.backend, x.shape, y);
    },
  };
}

function geluBackwardKernel(addon: CudaAddon, backendName: string): KernelConfig {
  return {
    kernelName: DcGeluBackward,
    backendName,
    kernelFunc: (args) => {
      const { x, dy } = args.inputs as { x: TensorInfo; dy: TensorInfo };
      const [xv, dyv] = [f32(args.backend, x), f32(args.backend, dy)];
      if (xv === null || dyv === null || xv.length !== dyv.length) return geluReferenceGrad(x as Tensor, dy as Tensor);
      const dx = new Float32Array(xv.length);
      addon.geluBackward(xv, dyv, dx, xv.length);
      return output(args.backend, x.shape, dx);
    },
  };
}

function crossEntropyKernel(addon: CudaAddon, backendName: string): KernelConfig {
  const reference = referenceCrossEntropyKernel(backendName);
  return {
    kernelName: DcSoftmaxCrossEntropy,
    backendName,
    kernelFunc: (args) => {
      const { logits, labels } = args.inputs as { logits: TensorInfo; labels: TensorInfo };
      const [x, l] = [f32(args.backend, logits), i32(args.backend, labels)];
      if (x === null || l === null) return reference.kernelFunc(args);
      const [R, V] = logits.shape;
      const loss = new Float32Array(R);
      const lse = new Float32Array(R);
      if (R > 0 && V > 0) addon.crossEntropyForward(x, l, loss, lse, R, V);
      return [output(args.backend, [R], loss), output(args.backend, [R], lse)];
    },
  };
}

function crossEntropyBackwardKernel(addon: CudaAddon, backendName: string): KernelConfig {
  return {
    kernelName: DcSoftmaxCrossEntropyBackward,
    backendName,
    kernelFunc: (args) => {
      const { logits, labels, lse, dy } = args.inputs as Record<string, TensorInfo>;
      const [x, l, s, d] = [
        f32(args.backend, logits),
        i32(args.backend, labels),
        f32(args.backend, lse),
        f32(args.backend, dy),
      ];
      if (x === null || l === null || s === null || d === null) {
        return crossEntropyReferenceGrad(logits as Tensor, labels as Tensor, lse as Tensor, dy as Tensor);
      }
      const [R, V] = logits.shape;
      const dx = new Float32Array(R * V);
      if (dx.length > 0) addon.crossEntropyBackward(x, l, s, d, dx, R, V);
      return output(args.backend, [R, V], dx);
    },
  };
}

function adamWKernel(addon: CudaAddon, backendName: string): KernelConfig {
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
      const [pOut, mOut, vOut] = [new Float32Array(n), new Float32Array(n), new Float32Array(n)];
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

/** The kernel configs for `backendName`, each computed by `addon`. */
export function addonKernels(addon: CudaAddon, backendName = 'cpu'): KernelConfig[] {
  return [
    composeKernel(addon, backendName),
    composeBackwardKernel(addon, backendName),
    rmsNormKernel(addon, backendName),
    rmsNormBackwardKernel(addon, backendName),
    ropeKernel(addon, backendName),
    geluKernel(addon, backendName),
    geluBackwardKernel(addon, backendName),
    crossEntropyKernel(addon, backendName),
    crossEntropyBackwardKernel(addon, backendName),
    adamWKernel(addon, backendName),
  ];
}

/**
 * Registers `addonKernels` on a backend that holds tensors in host arrays (replacing what was
 * registered under those names) and returns their names. Refuses a backend that does not.
 */
export function registerAddonKernels(addon: CudaAddon, backendName = 'cpu'): string[] {
  const backend = tf.findBackend(backendName) as unknown as Partial<HostBackend> | null;
  if (backend === null || typeof backend.makeTensorInfo !== 'function' || typeof backend.data?.get !== 'function') {
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
