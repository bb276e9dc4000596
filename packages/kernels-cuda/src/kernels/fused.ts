/**
 * The @dcformer/kernels kernels and BatchMatMul on the `cuda` backend: the addon's fused entry
 * points (compose.cu, rms-norm.cu, rope.cu, gelu.cu, cross-entropy.cu, adamw.cu, gemm.cu / cuBLAS)
 * called with device buffer handles in place of arrays, so inputs and outputs stay on the device.
 * The tfjs side mirrors @dcformer/kernels' host adapter (host-kernels-fused.ts); where that adapter
 * falls back to the reference, so does this one — the reference is tfjs ops, which run here on the
 * device kernels too, so it is not a cpu fallback.
 */
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
  adamWAttrsOf,
  composeAttrsOf,
  composeInputNames,
  composeInputsFromList,
  composeReferenceGrad,
  crossEntropyReferenceGrad,
  geluReferenceGrad,
  inputList,
  referenceAdamWKernel,
  referenceComposeKernel,
  referenceCrossEntropyKernel,
  referenceGeluKernel,
  referenceRmsNormKernel,
  referenceRopeKernel,
  rmsNormReferenceGrad,
  type ComposeAttrs,
} from '@dcformer/kernels';
import type { CudaBackend } from '../backend.js';
import type { DeviceBuffer } from '../native.js';
import { deviceKernel, sizeOf, type KernelArgs, type KernelOut } from './kernel.js';

/** A fused kernel: `impl` on the device, or `reference` (tfjs ops, on this backend) when it returns null. */
function fused(
  kernelName: string,
  backendName: string,
  impl: (args: KernelArgs, be: CudaBackend) => KernelOut | null,
  reference: (args: KernelArgs) => KernelOut,
): KernelConfig {
  return {
    kernelName,
    backendName,
    kernelFunc: (args) => impl(args, args.backend as CudaBackend) ?? reference(args),
  };
}

const f32 = (...ts: (TensorInfo | undefined)[]) => ts.every((t) => t?.dtype === 'float32');

/** The band hint as the addon's three numbers: window −1 = no hint, 0 = causal only. */
function bandArgs(attrs: ComposeAttrs): [number, number, number] {
  const band = attrs.band;
  return band === undefined ? [0, 0, -1] : [band.queryOffset, band.keyOffset, band.window ?? 0];
}

const WEIGHTS = ['qw1', 'qw2', 'qdd', 'kw1', 'kw2', 'kdd'] as const;

function composeKernels(backendName: string): KernelConfig[] {
  const reference = referenceComposeKernel(backendName);
  /** Handles by input name (null for a side that is off) and the sizes; null when an input is not float32. */
  const operands = (be: CudaBackend, list: TensorInfo[], attrs: ComposeAttrs) => {
    const names = composeInputNames(attrs);
    if (!f32(...list.slice(0, names.length))) return null;
    const h = new Map(names.map((n, i) => [n, be.handle(list[i])]));
    const [B, N, T, S] = list[0].shape;
    const I = names.length > 1 ? list[1].shape[2] : 0;
    return { names, h, w: WEIGHTS.map((n) => h.get(n) ?? null), B, N, T, S, I };
  };
  const forward = fused(
    DcmhaCompose,
    backendName,
    (args, be) => {
      const list = inputList(args);
      const attrs = composeAttrsOf(args.attrs);
      const u = operands(be, list, attrs);
      if (u === null || (!attrs.queryWise && !attrs.keyWise)) return null;
      const out = be.makeOutput(list[0].shape, 'float32');
      const [qw1, qw2, qdd, kw1, kw2, kdd] = u.w;
      be.addon.onDevice.composeForward(
        u.h.get('x') as DeviceBuffer,
        qw1,
        qw2,
        qdd,
        kw1,
        kw2,
        kdd,
        be.handle(out),
        u.B,
        u.N,
        u.T,
        u.S,
        u.I,
        ...bandArgs(attrs),
      );
      return out;
    },
    (args) => reference.kernelFunc(args),
  );
  const backward = fused(
    DcmhaComposeBackward,
    backendName,
    (args, be) => {
      const list = inputList(args);
      const attrs = composeAttrsOf(args.attrs);
      const u = operands(be, list, attrs);
      const dy = list[list.length - 1];
      if (u === null || !f32(dy)) return null;
      const grads = u.names.map((_, i) => be.makeOutput(list[i].shape, 'float32'));
      const g = new Map(u.names.map((n, i) => [n, be.handle(grads[i])]));
      const [qw1, qw2, qdd, kw1, kw2, kdd] = u.w;
      const [dqw1, dqw2, dqdd, dkw1, dkw2, dkdd] = WEIGHTS.map((n) => g.get(n) ?? null);
      be.addon.onDevice.composeBackward(
        u.h.get('x') as DeviceBuffer,
        qw1,
        qw2,
        qdd,
        kw1,
        kw2,
        kdd,
        be.handle(dy),
        g.get('x') as DeviceBuffer,
        dqw1,
        dqw2,
        dqdd,
        dkw1,
        dkw2,
        dkdd,
        u.B,
        u.N,
        u.T,
        u.S,
        u.I,
        ...bandArgs(attrs),
      );
      return grads;
    },
    (args) => {
      // runKernel hands kernels the Tensor objects themselves: the reference ops can run on them
      const list = inputList(args) as Tensor[];
      const attrs = composeAttrsOf(args.attrs);
      const names = composeInputNames(attrs);
      const grads = composeReferenceGrad(composeInputsFromList(list, attrs), list[names.length], attrs);
      return names.map((n) => grads[n] as Tensor);
    },
  );
  return [forward, backward];
}

function normKernels(backendName: string): KernelConfig[] {
  const rms = referenceRmsNormKernel(backendName);
  const rope = referenceRopeKernel(backendName);
  const gelu = referenceGeluKernel(backendName);
  return [
    fused(
      DcRmsNorm,
      backendName,
      ({ inputs, attrs }, be) => {
        const { x, weight } = inputs as Record<'x' | 'weight', TensorInfo>;
        if (!f32(x, weight)) return null;
        const D = sizeOf(weight.shape);
        const y = be.makeOutput(x.shape, 'float32');
        if (sizeOf(x.shape) > 0)
          be.addon.onDevice.rmsNormForward(
            be.handle(x),
            be.handle(weight),
            be.handle(y),
            sizeOf(x.shape) / D,
            D,
            attrs?.eps as number,
          );
        return y;
      },
      (args) => rms.kernelFunc(args),
    ),
    fused(
      DcRmsNormBackward,
      backendName,
      ({ inputs, attrs }, be) => {
        const { x, weight, dy } = inputs as Record<'x' | 'weight' | 'dy', TensorInfo>;
        if (!f32(x, weight, dy)) return null;
        const D = sizeOf(weight.shape);
        const dx = be.makeOutput(x.shape, 'float32');
        const dw = be.makeOutput(weight.shape, 'float32');
        // dweight is a sum over rows: it must start at zero even when there are none
        be.addon.fill(be.handle(dw), 0, D, 0, 0);
        if (sizeOf(x.shape) > 0)
          be.addon.onDevice.rmsNormBackward(
            be.handle(x),
            be.handle(weight),
            be.handle(dy),
            be.handle(dx),
            be.handle(dw),
            sizeOf(x.shape) / D,
            D,
            attrs?.eps as number,
          );
        return [dx, dw];
      },
      ({ inputs, attrs }) =>
        rmsNormReferenceGrad(inputs.x as Tensor, inputs.weight as Tensor, inputs.dy as Tensor, attrs?.eps as number),
    ),
    fused(
      DcRope,
      backendName,
      ({ inputs }, be) => {
        const { x, cos, sin } = inputs as Record<'x' | 'cos' | 'sin', TensorInfo>;
        if (!f32(x, cos, sin)) return null;
        const [B, T, N, E] = x.shape;
        const out = be.makeOutput(x.shape, 'float32');
        if (sizeOf(x.shape) > 0)
          be.addon.onDevice.rope(
            be.handle(x),
            be.handle(cos),
            be.handle(sin),
            be.handle(out),
            B,
            T,
            N,
            E,
            cos.shape[3],
            cos.shape[0],
          );
        return out;
      },
      (args) => rope.kernelFunc(args),
    ),
    fused(
      DcGelu,
      backendName,
      ({ inputs }, be) => {
        const x = inputs.x as TensorInfo;
        if (!f32(x)) return null;
        const y = be.makeOutput(x.shape, 'float32');
        be.addon.onDevice.geluForward(be.handle(x), be.handle(y), sizeOf(x.shape));
        return y;
      },
      (args) => gelu.kernelFunc(args),
    ),
    fused(
      DcGeluBackward,
      backendName,
      ({ inputs }, be) => {
        const { x, dy } = inputs as Record<'x' | 'dy', TensorInfo>;
        if (!f32(x, dy) || sizeOf(x.shape) !== sizeOf(dy.shape)) return null;
        const dx = be.makeOutput(x.shape, 'float32');
        be.addon.onDevice.geluBackward(be.handle(x), be.handle(dy), be.handle(dx), sizeOf(x.shape));
        return dx;
      },
      ({ inputs }) => geluReferenceGrad(inputs.x as Tensor, inputs.dy as Tensor),
    ),
  ];
}

function lossKernels(backendName: string): KernelConfig[] {
  const ce = referenceCrossEntropyKernel(backendName);
  const adamW = referenceAdamWKernel(backendName);
  return [
    fused(
      DcSoftmaxCrossEntropy,
      backendName,
      ({ inputs }, be) => {
        const { logits, labels } = inputs as Record<'logits' | 'labels', TensorInfo>;
        if (!f32(logits) || labels.dtype !== 'int32') return null;
        const [R, V] = logits.shape;
        const loss = be.makeOutput([R], 'float32');
        const lse = be.makeOutput([R], 'float32');
        if (R > 0 && V > 0)
          be.addon.onDevice.crossEntropyForward(
            be.handle(logits),
            be.handle(labels),
            be.handle(loss),
            be.handle(lse),
            R,
            V,
          );
        return [loss, lse];
      },
      (args) => ce.kernelFunc(args),
    ),
    fused(
      DcSoftmaxCrossEntropyBackward,
      backendName,
      ({ inputs }, be) => {
        const { logits, labels, lse, dy } = inputs as Record<'logits' | 'labels' | 'lse' | 'dy', TensorInfo>;
        if (!f32(logits, lse, dy) || labels.dtype !== 'int32') return null;
        const [R, V] = logits.shape;
        const dx = be.makeOutput([R, V], 'float32');
        if (R * V > 0)
          be.addon.onDevice.crossEntropyBackward(
            be.handle(logits),
            be.handle(labels),
            be.handle(lse),
            be.handle(dy),
            be.handle(dx),
            R,
            V,
          );
        return dx;
      },
      ({ inputs }) =>
        crossEntropyReferenceGrad(
          inputs.logits as Tensor,
          inputs.labels as Tensor,
          inputs.lse as Tensor,
          inputs.dy as Tensor,
        ),
    ),
    fused(
      DcAdamWUpdate,
      backendName,
      ({ inputs, attrs }, be) => {
        const { param, grad, m, v } = inputs as Record<'param' | 'grad' | 'm' | 'v', TensorInfo>;
        if (!f32(param, grad, m, v)) return null;
        const a = adamWAttrsOf(attrs ?? {});
        const outs = [0, 1, 2].map(() => be.makeOutput(param.shape, 'float32'));
        const [p1, m1, v1] = outs.map((t) => be.handle(t));
        be.addon.onDevice.adamW(
          be.handle(param),
          be.handle(grad),
          be.handle(m),
          be.handle(v),
          p1,
          m1,
          v1,
          sizeOf(param.shape),
          a.gradScale,
          a.decay,
          a.beta1,
          a.beta2,
          a.eps,
          a.stepSize,
          a.bc2Sqrt,
        );
        return outs;
      },
      (args) => adamW.kernelFunc(args),
    ),
  ];
}

/** BatchMatMul through the addon's GEMM: float32, batch shapes equal or one side's batch of 1 (stride 0); else the cpu fallback. */
function batchMatMulKernel(backendName: string): KernelConfig {
  return deviceKernel('BatchMatMul', backendName, ({ inputs, attrs }, be) => {
    const { a, b } = inputs as Record<'a' | 'b', TensorInfo>;
    const { transposeA, transposeB } = attrs as { transposeA: boolean; transposeB: boolean };
    if (!f32(a, b)) return null;
    const batchA = sizeOf(a.shape.slice(0, -2));
    const batchB = sizeOf(b.shape.slice(0, -2));
    if (batchA !== batchB && batchA !== 1 && batchB !== 1) return null;
    const [ra, ca] = a.shape.slice(-2);
    const [rb, cb] = b.shape.slice(-2);
    const [M, K] = transposeA ? [ca, ra] : [ra, ca];
    const N = transposeB ? rb : cb;
    const batch = Math.max(batchA, batchB);
    const batchShape = (batchA >= batchB ? a : b).shape.slice(0, -2);
    const out = be.makeOutput([...batchShape, M, N], 'float32');
    if (batch * M * N > 0)
      be.addon.onDevice.gemm(
        be.handle(a),
        be.handle(b),
        be.handle(out),
        batch,
        M,
        N,
        K,
        transposeA,
        transposeB,
        batchA === 1 ? 0 : M * K,
        batchB === 1 ? 0 : K * N,
      );
    if (K === 0 && batch * M * N > 0) be.addon.fill(be.handle(out), 0, batch * M * N, 0, 0);
    return out;
  });
}

export function fusedKernels(backendName: string): KernelConfig[] {
  return [
    ...composeKernels(backendName),
    ...normKernels(backendName),
    ...lossKernels(backendName),
    batchMatMulKernel(backendName),
  ];
}
