/**
 * The tfjs side of the fused kernels on a host-array backend, written once for every addon that
 * implements them with the same signatures (kernels-cpu's C++ addon, kernels-cuda's host and device
 * builds): Compose, RMSNorm, RoPE, GELU (each forward and backward), softmax cross-entropy (forward
 * and backward) and the AdamW step. Inputs not held as host float32/int32 arrays fall back to the
 * reference kernel, or for a backward kernel to the reference ops on the inputs.
 */
import type { KernelConfig, Tensor, TensorInfo } from '@tensorflow/tfjs-core';
import { composeReferenceGrad } from './compose/compose-reference.js';
import {
  DcmhaCompose,
  DcmhaComposeBackward,
  composeAttrsOf,
  composeInputNames,
  composeInputsFromList,
  type ComposeAttrs,
} from './compose/compose-spec.js';
import { DcGelu, DcGeluBackward, geluReferenceGrad, referenceGeluKernel } from './activation/gelu-op.js';
import {
  DcSoftmaxCrossEntropy,
  DcSoftmaxCrossEntropyBackward,
  crossEntropyReferenceGrad,
  referenceCrossEntropyKernel,
} from './cross-entropy/cross-entropy-op.js';
import { hostF32, hostI32, hostKernelConfig, hostOutput, inputList } from './host-kernel.js';
import { DcRmsNorm, DcRmsNormBackward, referenceRmsNormKernel, rmsNormReferenceGrad } from './norm/rms-norm-op.js';
import { DcAdamWUpdate, adamWAttrsOf, referenceAdamWKernel } from './optimizer/adamw-op.js';
import { referenceComposeKernel } from './compose/compose-op.js';
import { DcRope, referenceRopeKernel } from './rope/rope-op.js';

type F32 = Float32Array;
type F32OrNull = Float32Array | null;

/**
 * Six Compose weight arrays in the addon's order (null for a side that is off): the query side's
 * qw1/qw2 [B,T,I,N] and qdd [B,T,N], the key side's kw1/kw2 [B,S,I,N] and kdd [B,S,N]; their
 * gradients in the backward, in the same order.
 */
type ComposeWeightArgs = [
  qw1: F32OrNull,
  qw2: F32OrNull,
  qdd: F32OrNull,
  kw1: F32OrNull,
  kw2: F32OrNull,
  kdd: F32OrNull,
];
/** The sizes, then the band hint (queryOffset, keyOffset, window; window −1 = no hint, 0 = causal only). */
type ComposeSizeArgs = [
  B: number,
  N: number,
  T: number,
  S: number,
  I: number,
  bandQ: number,
  bandK: number,
  bandW: number,
];

/** Compose's entry points: x [B,N,T,S], the weights, the outputs, the sizes (the C++ signatures, in order). */
export interface HostComposeAddon {
  composeForward(x: F32, ...rest: [...weights: ComposeWeightArgs, out: F32, ...sizes: ComposeSizeArgs]): void;
  composeBackward(
    x: F32,
    ...rest: [
      ...weights: ComposeWeightArgs,
      dy: F32,
      dx: F32,
      ...dweights: ComposeWeightArgs,
      ...sizes: ComposeSizeArgs,
    ]
  ): void;
}

/** The entry points an addon provides for the fused element-wise kernels (rows × D for RMSNorm, R × V for cross-entropy). */
export interface HostElementwiseAddon {
  rmsNormForward(x: F32, weight: F32, y: F32, rows: number, D: number, eps: number): void;
  rmsNormBackward(x: F32, weight: F32, dy: F32, dx: F32, dweight: F32, rows: number, D: number, eps: number): void;
  geluForward(x: F32, y: F32, n: number): void;
  geluBackward(x: F32, dy: F32, dx: F32, n: number): void;
  /** x [B,T,N,E]; cos/sin [tableRows,1,1,H]: the first H lanes of each head rotate. */
  rope(x: F32, cos: F32, sin: F32, out: F32, B: number, T: number, N: number, E: number, H: number, rows: number): void;
  adamW(
    param: F32,
    grad: F32,
    m: F32,
    v: F32,
    pOut: F32,
    mOut: F32,
    vOut: F32,
    n: number,
    gradScale: number,
    decay: number,
    beta1: number,
    beta2: number,
    eps: number,
    stepSize: number,
    bc2Sqrt: number,
  ): void;
  crossEntropyForward(logits: F32, labels: Int32Array, loss: F32, lse: F32, R: number, V: number): void;
  crossEntropyBackward(logits: F32, labels: Int32Array, lse: F32, dy: F32, dlogits: F32, R: number, V: number): void;
}

/** Every fused kernel's entry points. */
export type HostKernelAddon = HostComposeAddon & HostElementwiseAddon;

/** The batched GEMM both native addons export (kernels-cpu's MatMul path, kernels-cuda's gemm). */
export interface HostGemmAddon {
  /** c[i] = op(a[i·strideA])·op(b[i·strideB]), c [batch,M,N]; stride 0 broadcasts. */
  gemm(
    a: F32,
    b: F32,
    c: F32,
    batch: number,
    M: number,
    N: number,
    K: number,
    transA: boolean,
    transB: boolean,
    strideA: number,
    strideB: number,
  ): void;
}

/** Allocates an output array the kernel writes in full (kernels-cpu passes one that skips zeroing). */
export type AllocF32 = (n: number) => Float32Array;
const zeroed: AllocF32 = (n) => new Float32Array(n);

/** The sizes and the band hint as the addon's numbers: window −1 = no hint, 0 = causal only. */
function sizeArgs(u: { B: number; N: number; T: number; S: number; I: number }, attrs: ComposeAttrs): ComposeSizeArgs {
  const band = attrs.band;
  const hint: [number, number, number] =
    band === undefined ? [0, 0, -1] : [band.queryOffset, band.keyOffset, band.window ?? 0];
  return [u.B, u.N, u.T, u.S, u.I, ...hint];
}

const WEIGHT_NAMES = ['qw1', 'qw2', 'qdd', 'kw1', 'kw2', 'kdd'] as const;

/** Compose's inputs as host arrays by name (null for a side that is off), with the sizes; null when one is not there. */
function composeArrays(backend: unknown, list: TensorInfo[], attrs: ComposeAttrs) {
  const names = composeInputNames(attrs);
  const v: Record<string, F32OrNull> = {};
  for (const [i, n] of names.entries()) {
    v[n] = hostF32(backend, list[i]);
    if (v[n] === null) return null;
  }
  const [B, N, T, S] = list[0].shape;
  const I = names.length > 1 ? list[1].shape[2] : 0;
  const w = WEIGHT_NAMES.map((n) => v[n] ?? null) as ComposeWeightArgs;
  return { names, x: v.x as F32, w, B, N, T, S, I };
}

export function hostComposeKernel(addon: HostComposeAddon, backendName: string, alloc = zeroed): KernelConfig {
  const reference = referenceComposeKernel(backendName);
  return {
    kernelName: DcmhaCompose,
    backendName,
    kernelFunc: (args) => {
      const list = inputList(args);
      const attrs = composeAttrsOf(args.attrs);
      const u = composeArrays(args.backend, list, attrs);
      if (u === null || (!attrs.queryWise && !attrs.keyWise)) return reference.kernelFunc(args);
      const out = alloc(u.x.length);
      addon.composeForward(u.x, ...u.w, out, ...sizeArgs(u, attrs));
      return hostOutput(args.backend, list[0].shape, out);
    },
  };
}

/** DcmhaComposeBackward: inputs [...composeInputNames(attrs), dy], outputs the gradients in the same order. */
export function hostComposeBackwardKernel(addon: HostComposeAddon, backendName: string, alloc = zeroed): KernelConfig {
  return {
    kernelName: DcmhaComposeBackward,
    backendName,
    kernelFunc: (args) => {
      const list = inputList(args);
      const attrs = composeAttrsOf(args.attrs);
      const u = composeArrays(args.backend, list, attrs);
      const dy = hostF32(args.backend, list[list.length - 1]);
      if (u === null || dy === null) {
        // runKernel hands kernels the Tensor objects themselves: the reference ops can run on them
        const names = composeInputNames(attrs);
        const inputs = composeInputsFromList(list as Tensor[], attrs);
        const grads = composeReferenceGrad(inputs, list[names.length] as Tensor, attrs);
        return names.map((n) => grads[n] as Tensor);
      }
      const grads: Record<string, F32> = { x: alloc(u.x.length) };
      for (let i = 1; i < u.names.length; i++) grads[u.names[i]] = alloc(list[i].shape.reduce((a, b) => a * b, 1));
      const dw = WEIGHT_NAMES.map((n) => grads[n] ?? null) as ComposeWeightArgs;
      addon.composeBackward(u.x, ...u.w, dy, grads.x, ...dw, ...sizeArgs(u, attrs));
      return u.names.map((n, i) => hostOutput(args.backend, list[i].shape, grads[n]));
    },
  };
}

export function hostRmsNormKernel(addon: HostElementwiseAddon, backendName: string, alloc = zeroed): KernelConfig {
  const reference = referenceRmsNormKernel(backendName);
  return hostKernelConfig(
    DcRmsNorm,
    backendName,
    ['x', 'weight'],
    ({ x: xv, weight: wv }, { x }, args) => {
      const D = wv.length;
      const y = alloc(xv.length);
      if (y.length > 0) addon.rmsNormForward(xv, wv, y, xv.length / D, D, args.attrs?.eps as number);
      return hostOutput(args.backend, x.shape, y);
    },
    (args) => reference.kernelFunc(args),
  );
}

export function hostRmsNormBackwardKernel(
  addon: HostElementwiseAddon,
  backendName: string,
  alloc = zeroed,
): KernelConfig {
  return hostKernelConfig(
    DcRmsNormBackward,
    backendName,
    ['x', 'weight', 'dy'],
    ({ x: xv, weight: wv, dy: dyv }, { x, weight }, args) => {
      const eps = args.attrs?.eps as number;
      const D = wv.length;
      const dx = alloc(xv.length);
      const dw = new Float32Array(D); // accumulated over rows: must start at zero
      if (dx.length > 0) addon.rmsNormBackward(xv, wv, dyv, dx, dw, xv.length / D, D, eps);
      return [hostOutput(args.backend, x.shape, dx), hostOutput(args.backend, weight.shape, dw)];
    },
    // runKernel hands kernels the Tensor objects themselves: the reference ops can run on them
    (args, { x, weight, dy }) =>
      rmsNormReferenceGrad(x as Tensor, weight as Tensor, dy as Tensor, args.attrs?.eps as number),
  );
}

export function hostRopeKernel(addon: HostElementwiseAddon, backendName: string, alloc = zeroed): KernelConfig {
  const reference = referenceRopeKernel(backendName);
  return hostKernelConfig(
    DcRope,
    backendName,
    ['x', 'cos', 'sin'],
    ({ x: xv, cos: cv, sin: sv }, { x, cos }, args) => {
      const [B, T, N, E] = x.shape;
      const out = alloc(xv.length);
      if (out.length > 0) addon.rope(xv, cv, sv, out, B, T, N, E, cos.shape[3], cos.shape[0]);
      return hostOutput(args.backend, x.shape, out);
    },
    (args) => reference.kernelFunc(args),
  );
}

export function hostGeluKernel(addon: HostElementwiseAddon, backendName: string, alloc = zeroed): KernelConfig {
  const reference = referenceGeluKernel(backendName);
  return hostKernelConfig(
    DcGelu,
    backendName,
    ['x'],
    ({ x: xv }, { x }, args) => {
      const y = alloc(xv.length);
      addon.geluForward(xv, y, xv.length);
      return hostOutput(args.backend, x.shape, y);
    },
    (args) => reference.kernelFunc(args),
  );
}

export function hostGeluBackwardKernel(addon: HostElementwiseAddon, backendName: string, alloc = zeroed): KernelConfig {
  return hostKernelConfig(
    DcGeluBackward,
    backendName,
    ['x', 'dy'],
    ({ x: xv, dy: dyv }, { x }, args) => {
      if (xv.length !== dyv.length) return null;
      const dx = alloc(xv.length);
      addon.geluBackward(xv, dyv, dx, xv.length);
      return hostOutput(args.backend, x.shape, dx);
    },
    (_, { x, dy }) => geluReferenceGrad(x as Tensor, dy as Tensor),
  );
}

export function hostCrossEntropyKernel(addon: HostElementwiseAddon, backendName: string): KernelConfig {
  const reference = referenceCrossEntropyKernel(backendName);
  return hostKernelConfig(
    DcSoftmaxCrossEntropy,
    backendName,
    ['logits'],
    ({ logits: x }, { logits }, args) => {
      const l = hostI32(args.backend, args.inputs.labels);
      if (l === null) return null;
      const [R, V] = logits.shape;
      const loss = new Float32Array(R);
      const lse = new Float32Array(R);
      if (R > 0 && V > 0) addon.crossEntropyForward(x, l, loss, lse, R, V);
      return [hostOutput(args.backend, [R], loss), hostOutput(args.backend, [R], lse)];
    },
    (args) => reference.kernelFunc(args),
  );
}

export function hostCrossEntropyBackwardKernel(
  addon: HostElementwiseAddon,
  backendName: string,
  alloc = zeroed,
): KernelConfig {
  return hostKernelConfig(
    DcSoftmaxCrossEntropyBackward,
    backendName,
    ['logits', 'lse', 'dy'],
    ({ logits: x, lse: s, dy: d }, { logits }, args) => {
      const l = hostI32(args.backend, args.inputs.labels);
      if (l === null) return null;
      const [R, V] = logits.shape;
      const dx = alloc(R * V);
      if (dx.length > 0) addon.crossEntropyBackward(x, l, s, d, dx, R, V);
      return hostOutput(args.backend, [R, V], dx);
    },
    (args, { logits, lse, dy }) =>
      crossEntropyReferenceGrad(logits as Tensor, args.inputs.labels as Tensor, lse as Tensor, dy as Tensor),
  );
}

export function hostAdamWKernel(addon: HostElementwiseAddon, backendName: string, alloc = zeroed): KernelConfig {
  const reference = referenceAdamWKernel(backendName);
  return hostKernelConfig(
    DcAdamWUpdate,
    backendName,
    ['param', 'grad', 'm', 'v'],
    ({ param: pv, grad: gv, m: mv, v: vv }, { param }, args) => {
      const a = adamWAttrsOf(args.attrs ?? {});
      const n = pv.length;
      const [pOut, mOut, vOut] = [alloc(n), alloc(n), alloc(n)];
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
        hostOutput(args.backend, param.shape, pOut),
        hostOutput(args.backend, param.shape, mOut),
        hostOutput(args.backend, param.shape, vOut),
      ];
    },
    (args) => reference.kernelFunc(args),
  );
}

/** All ten (Compose and the element-wise eight), for registering on `backendName`. */
export function hostFusedKernels(
  addon: HostKernelAddon,
  backendName: string,
  alloc: AllocF32 = zeroed,
): KernelConfig[] {
  return [
    hostComposeKernel(addon, backendName, alloc),
    hostComposeBackwardKernel(addon, backendName, alloc),
    ...hostElementwiseKernels(addon, backendName, alloc),
  ];
}

/** The element-wise eight, for registering on `backendName`. */
export function hostElementwiseKernels(
  addon: HostElementwiseAddon,
  backendName: string,
  alloc: AllocF32 = zeroed,
): KernelConfig[] {
  return [
    hostRmsNormKernel(addon, backendName, alloc),
    hostRmsNormBackwardKernel(addon, backendName, alloc),
    hostRopeKernel(addon, backendName, alloc),
    hostGeluKernel(addon, backendName, alloc),
    hostGeluBackwardKernel(addon, backendName, alloc),
    hostCrossEntropyKernel(addon, backendName),
    hostCrossEntropyBackwardKernel(addon, backendName, alloc),
    hostAdamWKernel(addon, backendName, alloc),
  ];
}
