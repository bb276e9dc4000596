import type { KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';
import type { WebGPUBackend } from '@tensorflow/tfjs-backend-webgpu';
import {
  DcmhaCompose,
  composeAttrsOf,
  composeInputNames,
  composeInputsFromList,
  type ComposeAttrs,
} from '@dcformer/kernels';
import {
  ComposeGateGradProgram,
  ComposeProgram,
  ComposeWeightGradProgram,
  type ComposeSide,
} from './compose-program.js';

/**
 * The fused backward of DcmhaCompose, the same contract as @dcformer/kernels-cpu's (to be declared
 * in @dcformer/kernels next to DcmhaCompose): inputs [...the forward inputs in composeInputNames
 * order, dy], attrs {queryWise, keyWise}; outputs the gradients of the forward inputs, same order.
 */
export const DcmhaComposeBackward = 'DcmhaComposeBackward';

type Named = ReturnType<typeof composeInputsFromList<TensorInfo>>;
const attrsOf = composeAttrsOf;
// Inputs arrive as an array (the op passes them so, because their number depends on the switches).
const named = (list: ArrayLike<TensorInfo>, attrs: ComposeAttrs): Named => composeInputsFromList(list, attrs);

function rankOf(inputs: Named): number {
  const w = inputs.qw1 ?? inputs.kw1;
  return w === undefined ? 0 : w.shape[2];
}

function checkBackend(backend: unknown, kernel: string): WebGPUBackend {
  const b = backend as WebGPUBackend;
  if (typeof b.runWebGPUProgram !== 'function')
    throw new Error(`${kernel}: registered for 'webgpu' but run by another backend`);
  return b;
}

/** Forward: one ComposeProgram dispatch. */
export const composeWebGPU: KernelFunc = ({ inputs, backend, attrs }) => {
  const webgpu = checkBackend(backend, DcmhaCompose);
  const a = attrsOf(attrs);
  const list = Object.values(inputs) as TensorInfo[];
  const x = named(list, a).x;
  return webgpu.runWebGPUProgram(new ComposeProgram(x.shape, rankOf(named(list, a)), a), list, 'float32');
};

/**
 * Backward: dx by the forward program with w1 and w2 exchanged, then per side two weight-gradient
 * dispatches and one gate-gradient dispatch (compose-program.ts has the formulas).
 */
export const composeBackwardWebGPU: KernelFunc = ({ inputs, backend, attrs }) => {
  const webgpu = checkBackend(backend, DcmhaComposeBackward);
  const a = attrsOf(attrs);
  const list = Object.values(inputs) as TensorInfo[];
  const f = named(list, a);
  const dy = list[list.length - 1];
  const I = rankOf(f);
  const swapped = [dy];
  if (a.queryWise) swapped.push(f.qw2!, f.qw1!, f.qdd!);
  if (a.keyWise) swapped.push(f.kw2!, f.kw1!, f.kdd!);
  const grads: Record<string, TensorInfo> = {
    x: webgpu.runWebGPUProgram(new ComposeProgram(f.x.shape, I, a), swapped, 'float32'),
  };
  const sideGrads = (side: ComposeSide, p: 'q' | 'k') => {
    const w1 = f[`${p}w1`]!;
    const w2 = f[`${p}w2`]!;
    grads[`${p}w1`] = webgpu.runWebGPUProgram(
      new ComposeWeightGradProgram(f.x.shape, I, side),
      [dy, w2, f.x],
      'float32',
    );
    grads[`${p}w2`] = webgpu.runWebGPUProgram(
      new ComposeWeightGradProgram(f.x.shape, I, side),
      [f.x, w1, dy],
      'float32',
    );
    grads[`${p}dd`] = webgpu.runWebGPUProgram(new ComposeGateGradProgram(f.x.shape, side), [f.x, dy], 'float32');
  };
  if (a.queryWise) sideGrads('query', 'q');
  if (a.keyWise) sideGrads('key', 'k');
  return composeInputNames(a).map((name) => grads[name]);
};

export const composeWebGPUConfig: KernelConfig = {
  kernelName: DcmhaCompose,
  backendName: 'webgpu',
  kernelFunc: composeWebGPU,
};

export const composeBackwardWebGPUConfig: KernelConfig = {
  kernelName: DcmhaComposeBackward,
  backendName: 'webgpu',
  kernelFunc: composeBackwardWebGPU,
};
