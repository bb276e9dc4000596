/**
 * Fused DCMHA attention for the cpu backend (native/attention.cc): kernels `DcmhaAttention` and
 * `DcmhaAttentionBackward` of @dcformer/kernels. Shapes are validated by `dcmhaAttentionFused`
 * before the kernel runs. An addon built before these kernels existed registers nothing (then
 * @dcformer/compose runs its chunked path).
 */
import type { KernelConfig, TensorInfo } from '@tensorflow/tfjs-core';
import {
  DcmhaAttention,
  DcmhaAttentionBackward,
  KernelError,
  attentionAttrsOf,
  attentionInputNames,
  type FusedAttentionAttrs,
} from '@dcformer/kernels';
import { f32, inputList, output, uninitializedF32 } from './backend-data.js';
import type { NativeAddon } from './native.js';

type MaybeF32 = Float32Array | null;

interface AttentionAddon {
  attentionForward(
    q: Float32Array,
    k: Float32Array,
    v: Float32Array,
    weights: MaybeF32[],
    out: Float32Array,
    stats: Float32Array,
    params: Int32Array,
    keyStart: Int32Array | null,
  ): void;
  attentionBackward(
    q: Float32Array,
    k: Float32Array,
    v: Float32Array,
    weights: MaybeF32[],
    stats: Float32Array,
    dOut: Float32Array,
    dq: Float32Array,
    dk: Float32Array,
    dv: Float32Array,
    weightGrads: MaybeF32[],
    params: Int32Array,
    keyStart: Int32Array | null,
  ): void;
  attentionPath(): string;
}

/** The addon's attention entry points, or null when this build predates them. */
export function attentionAddon(addon: NativeAddon): AttentionAddon | null {
  return typeof Reflect.get(addon, 'attentionForward') === 'function' &&
    typeof Reflect.get(addon, 'attentionBackward') === 'function'
    ? (addon as NativeAddon & AttentionAddon)
    : null;
}

// the twelve weight slots of the addon: [pre, post] × [qw1, qw2, qdd, kw1, kw2, kdd]
const SLOTS = ['qw1', 'qw2', 'qdd', 'kw1', 'kw2', 'kdd'];

function slotOf(name: string): number {
  const [side, w] = name.split('.');
  return (side === 'post' ? 6 : 0) + SLOTS.indexOf(w);
}

function unpack(backend: unknown, list: TensorInfo[], attrs: FusedAttentionAttrs, who: string) {
  const names = attentionInputNames(attrs);
  const values = names.map((n, i) => {
    const v = f32(backend, list[i]);
    if (v === null) throw new KernelError(`${who}: input '${n}' is not float32 data of the cpu backend`);
    return v;
  });
  const [B, N, T, E] = list[0].shape;
  const S = list[1].shape[2];
  const weights: MaybeF32[] = new Array(12).fill(null);
  names.slice(3).forEach((n, i) => (weights[slotOf(n)] = values[3 + i]));
  const wShape = attrs.compose === null ? undefined : list[3]?.shape;
  const I = wShape !== undefined && wShape.length === 4 ? wShape[2] : 0;
  const params = Int32Array.from([
    B,
    N,
    T,
    S,
    E,
    I,
    attrs.window ?? 0,
    attrs.queryOffset,
    attrs.keyOffset,
    attrs.compose?.queryWise ? 1 : 0,
    attrs.compose?.keyWise ? 1 : 0,
    attrs.compose !== null ? 1 : 0,
  ]);
  const keyStart = attrs.keyStart === undefined ? null : Int32Array.from(attrs.keyStart);
  return { names, values, weights, params, keyStart, B, N, T, E };
}

export function fusedAttentionKernel(native: AttentionAddon, backendName = 'cpu'): KernelConfig {
  return {
    kernelName: DcmhaAttention,
    backendName,
    kernelFunc: (args) => {
      const list = inputList(args);
      const attrs = attentionAttrsOf(args.attrs);
      const u = unpack(args.backend, list, attrs, DcmhaAttention);
      const out = uninitializedF32(u.B * u.N * u.T * u.E);
      const stats = uninitializedF32(u.B * u.N * u.T * 2);
      const [q, k, v] = u.values;
      native.attentionForward(q, k, v, u.weights, out, stats, u.params, u.keyStart);
      return [output(args.backend, [u.B, u.N, u.T, u.E], out), output(args.backend, [u.B, u.N, u.T, 2], stats)];
    },
  };
}

export function fusedAttentionBackwardKernel(native: AttentionAddon, backendName = 'cpu'): KernelConfig {
  return {
    kernelName: DcmhaAttentionBackward,
    backendName,
    kernelFunc: (args) => {
      const list = inputList(args);
      const attrs = attentionAttrsOf(args.attrs);
      const n = attentionInputNames(attrs).length;
      const u = unpack(args.backend, list.slice(0, n), attrs, DcmhaAttentionBackward);
      const stats = f32(args.backend, list[n]);
      const dOut = f32(args.backend, list[n + 1]);
      if (stats === null || dOut === null)
        throw new KernelError(`${DcmhaAttentionBackward}: stats and dOut must be float32 data of the cpu backend`);
      const grads = u.values.map((x) => uninitializedF32(x.length));
      const weightGrads: MaybeF32[] = new Array(12).fill(null);
      u.names.slice(3).forEach((name, i) => (weightGrads[slotOf(name)] = grads[3 + i]));
      const [q, k, v] = u.values;
      native.attentionBackward(
        q,
        k,
        v,
        u.weights,
        stats,
        dOut,
        grads[0],
        grads[1],
        grads[2],
        weightGrads,
        u.params,
        u.keyStart,
      );
      return grads.map((g, i) => output(args.backend, list[i].shape, g));
    },
  };
}

/** Both kernels, or none when the addon predates them. */
export function fusedAttentionKernels(addon: NativeAddon, backendName = 'cpu'): [string, KernelConfig][] {
  const native = attentionAddon(addon);
  if (native === null) return [];
  return [
    [DcmhaAttention, fusedAttentionKernel(native, backendName)],
    [DcmhaAttentionBackward, fusedAttentionBackwardKernel(native, backendName)],
  ];
}
