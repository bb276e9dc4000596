/**
 * Fused DcmhaCompose for the cpu backend (native, one pass per (b,t) row; see native/compose.cc),
 * and its backward as kernel `DcmhaComposeBackward`: inputs [...composeInputNames(attrs), dy],
 * outputs the gradients in the same order. Shapes are validated by `dcmhaCompose` before the
 * kernel runs; anything not float32 in backend memory falls back to the reference.
 */
import type { KernelConfig, Tensor, TensorInfo } from '@tensorflow/tfjs-core';
import {
  DcmhaCompose,
  DcmhaComposeBackward,
  composeAttrsOf,
  composeInputNames,
  composeInputsFromList,
  composeReferenceGrad,
  referenceComposeKernel,
  type ComposeAttrs,
  type ComposeGrads,
} from '@dcformer/kernels';
import { f32, inputList, output, uninitializedF32 } from './backend-data.js';
import type { NativeAddon } from './native.js';

/** The band hint as the addon's three numbers: window −1 = no hint, 0 = causal only. */
function bandArgs(attrs: ComposeAttrs): [number, number, number] {
  const band = attrs.band;
  return band === undefined ? [0, 0, -1] : [band.queryOffset, band.keyOffset, band.window ?? 0];
}

type Side = { w1: Float32Array; w2: Float32Array; dd: Float32Array } | null;

function unpack(backend: unknown, list: TensorInfo[], attrs: ComposeAttrs) {
  const names = composeInputNames(attrs);
  const v: Record<string, Float32Array | null> = {};
  names.forEach((n, i) => (v[n] = f32(backend, list[i])));
  if (names.some((n) => v[n] === null)) return null;
  const x = list[0];
  const [B, N, T, S] = x.shape;
  const q: Side = attrs.queryWise ? { w1: v.qw1!, w2: v.qw2!, dd: v.qdd! } : null;
  const k: Side = attrs.keyWise ? { w1: v.kw1!, w2: v.kw2!, dd: v.kdd! } : null;
  const I = attrs.queryWise ? list[1].shape[2] : attrs.keyWise ? list[1].shape[2] : 0;
  return { x: v.x!, q, k, B, N, T, S, I, names };
}

type MaybeF32 = Float32Array | null;

/** The six weight arrays in the addon's argument order; null for a side that is off. */
function weightArgs(u: { q: Side; k: Side }): [MaybeF32, MaybeF32, MaybeF32, MaybeF32, MaybeF32, MaybeF32] {
  return [u.q?.w1 ?? null, u.q?.w2 ?? null, u.q?.dd ?? null, u.k?.w1 ?? null, u.k?.w2 ?? null, u.k?.dd ?? null];
}

export function fusedComposeKernel(addon: NativeAddon, backendName = 'cpu'): KernelConfig {
  const reference = referenceComposeKernel(backendName);
  return {
    kernelName: DcmhaCompose,
    backendName,
    kernelFunc: (args) => {
      const list = inputList(args);
      const attrs = composeAttrsOf(args.attrs);
      const u = unpack(args.backend, list, attrs);
      if (u === null || (u.q === null && u.k === null)) return reference.kernelFunc(args);
      const out = uninitializedF32(u.x.length);
      addon.composeForward(u.x, ...weightArgs(u), out, u.B, u.N, u.T, u.S, u.I, ...bandArgs(attrs));
      return output(args.backend, list[0].shape, out);
    },
  };
}

function referenceBackward(list: TensorInfo[], attrs: ComposeAttrs): TensorInfo[] {
  // runKernel hands kernels the Tensor objects themselves: run the reference ops on them (as
  // referenceComposeKernel does) and return their outputs.
  const names = composeInputNames(attrs);
  const inputs = composeInputsFromList(list as Tensor[], attrs);
  const dy = list[names.length] as Tensor;
  const grads = composeReferenceGrad(inputs, dy, attrs);
  return names.map((n) => grads[n as keyof ComposeGrads] as Tensor);
}

export function fusedComposeBackwardKernel(addon: NativeAddon, backendName = 'cpu'): KernelConfig {
  return {
    kernelName: DcmhaComposeBackward,
    backendName,
    kernelFunc: (args) => {
      const list = inputList(args);
      const attrs = composeAttrsOf(args.attrs);
      const u = unpack(args.backend, list, attrs);
      const dy = f32(args.backend, list[list.length - 1]);
      if (u === null || dy === null) return referenceBackward(list, attrs);
      const { B, N, T, S, I } = u;
      const dx = uninitializedF32(u.x.length);
      const qw = u.q
        ? [uninitializedF32(B * T * I * N), uninitializedF32(B * T * I * N), uninitializedF32(B * T * N)]
        : [null, null, null];
      const kw = u.k
        ? [uninitializedF32(B * S * I * N), uninitializedF32(B * S * I * N), uninitializedF32(B * S * N)]
        : [null, null, null];
      addon.composeBackward(
        u.x,
        ...weightArgs(u),
        dy,
        dx,
        qw[0],
        qw[1],
        qw[2],
        kw[0],
        kw[1],
        kw[2],
        B,
        N,
        T,
        S,
        I,
        ...bandArgs(attrs),
      );
      const infos: TensorInfo[] = [output(args.backend, list[0].shape, dx)];
      u.names.slice(1).forEach((n) => {
        const side = n.startsWith('q') ? qw : kw;
        const idx = n.endsWith('w1') ? 0 : n.endsWith('w2') ? 1 : 2;
        const shape = list[u.names.indexOf(n)].shape;
        infos.push(output(args.backend, shape, side[idx] as Float32Array));
      });
      return infos;
    },
  };
}
