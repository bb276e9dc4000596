import type { Tensor } from '@tensorflow/tfjs-core';
import { ShapeError, formatLettered, formatShape } from '../errors.js';

/**
 * DcmhaCompose: cross-head composition of attention scores or probabilities (docs/dcmha.md "Compose").
 * Mirrors modeling_dcformer.py::_cross_head_proj (sw = None, the only live path).
 *
 *   out[b,m,t,s] = x[b,m,t,s]
 *                + Σ_i qw2[b,t,i,m] · Σ_n x[b,n,t,s]·qw1[b,t,i,n]      (queryWise)
 *                + Σ_i kw2[b,s,i,m] · Σ_n x[b,n,t,s]·kw1[b,s,i,n]      (keyWise)
 *                + x[b,m,t,s]·qdd[b,t,m]                               (queryWise)
 *                + x[b,m,t,s]·kdd[b,s,m]                               (keyWise)
 *
 * Inputs of a side that is switched off are absent.
 */
export const DcmhaCompose = 'DcmhaCompose';

export const COMPOSE_SPEC_VERSION = 1;

/**
 * DcmhaComposeBackward: optional fused backward of DcmhaCompose. Inputs: the forward's inputs in
 * `composeInputNames(attrs)` order followed by dy [B,N,T,S], as an array; same attrs. Outputs: the
 * gradient of every forward input, in the same order. Where a backend has no such kernel the
 * reference backward (tfjs ops) runs.
 */
export const DcmhaComposeBackward = 'DcmhaComposeBackward';

export interface ComposeQuerySide<T = Tensor> {
  qw1: T; // [B,T,I,N]
  qw2: T; // [B,T,I,N]
  qdd: T; // [B,T,N]
}

export interface ComposeKeySide<T = Tensor> {
  kw1: T; // [B,S,I,N]
  kw2: T; // [B,S,I,N]
  kdd: T; // [B,S,N]
}

/** The dynamic weights of one Compose call (pre or post); a side is absent when switched off. */
export type ComposeWeights<T = Tensor> = Partial<ComposeQuerySide<T>> & Partial<ComposeKeySide<T>>;

export interface ComposeInputs<T = Tensor> extends ComposeWeights<T> {
  x: T; // [B,N,T,S]
}

export interface ComposeAttrs {
  queryWise: boolean;
  keyWise: boolean;
  /** Optional skipping hint for attention callers; see ComposeBand. */
  band?: ComposeBand;
}

/**
 * A hint from attention: which (t, s) lie in the causal (windowed) band. With absolute positions
 * p = queryOffset + t and key = keyOffset + s, (t, s) is in band iff key ≤ p and, when window is a
 * number, key > p − window. A kernel MAY skip out-of-band positions: out-of-band outputs (out, dx)
 * are then 0 instead of their values, and the weight gradients leave out those positions' terms.
 * Callers pass a band only where that changes nothing they use — attention does: out of band its
 * pre-Compose output is masked, its post-Compose input (a probability) is 0, and so is the gradient
 * reaching the pre-Compose output. A kernel that ignores the hint is still correct.
 */
export interface ComposeBand {
  queryOffset: number;
  keyOffset: number;
  window: number | null;
}

/** ComposeAttrs as flat kernel attrs (tfjs attr values are numbers, booleans and arrays). */
export function composeKernelAttrs(attrs: ComposeAttrs): Record<string, number | boolean> {
  const flat: Record<string, number | boolean> = { queryWise: attrs.queryWise, keyWise: attrs.keyWise };
  if (attrs.band !== undefined) {
    flat.bandQueryOffset = attrs.band.queryOffset;
    flat.bandKeyOffset = attrs.band.keyOffset;
    flat.bandWindow = attrs.band.window ?? 0;
  }
  return flat;
}

/** The inverse of composeKernelAttrs, for kernels reading their attrs. */
export function composeAttrsOf(map: Record<string, unknown> | undefined): ComposeAttrs {
  const attrs: ComposeAttrs = { queryWise: Boolean(map?.queryWise), keyWise: Boolean(map?.keyWise) };
  if (typeof map?.bandQueryOffset === 'number') {
    const w = map.bandWindow as number;
    attrs.band = { queryOffset: map.bandQueryOffset, keyOffset: map.bandKeyOffset as number, window: w > 0 ? w : null };
  }
  return attrs;
}

/** Shape table in the letters of docs/dcmha.md; the kernel contract every backend implements. */
export const COMPOSE_SHAPES = {
  x: 'BNTS',
  qw1: 'BTIN',
  qw2: 'BTIN',
  qdd: 'BTN',
  kw1: 'BSIN',
  kw2: 'BSIN',
  kdd: 'BSN',
  out: 'BNTS',
} as const;

export const QUERY_INPUTS = ['qw1', 'qw2', 'qdd'] as const;
export const KEY_INPUTS = ['kw1', 'kw2', 'kdd'] as const;

/** Names of the tensor inputs present for these switches, in a fixed order (x first). */
export function composeInputNames(attrs: ComposeAttrs): (keyof ComposeInputs)[] {
  return ['x', ...(attrs.queryWise ? QUERY_INPUTS : []), ...(attrs.keyWise ? KEY_INPUTS : [])];
}

/** The inputs of a call made with an array (in composeInputNames order), by name. */
export function composeInputsFromList<T>(list: ArrayLike<T>, attrs: ComposeAttrs): ComposeInputs<T> {
  const inputs: ComposeInputs<T> = { x: list[0] };
  composeInputNames(attrs).forEach((name, i) => {
    inputs[name] = list[i];
  });
  return inputs;
}

/**
 * Checks every input against the shape table, deriving B,N,T,S from `x` and I from `qw1`/`kw1`.
 * Throws ShapeError naming the caller, the argument, the expected shape in letters and numbers
 * and what was received.
 */
export function validateComposeInputs(
  caller: string,
  inputs: ComposeWeights & { x: Tensor },
  attrs: ComposeAttrs,
): void {
  const { x } = inputs;
  if (x.rank !== 4) {
    throw new ShapeError(`${caller}: 'x' must be [B,N,T,S] (rank 4); got ${formatShape(x.shape)}`);
  }
  const band = attrs.band;
  if (
    band !== undefined &&
    (!Number.isInteger(band.queryOffset) ||
      !Number.isInteger(band.keyOffset) ||
      (band.window !== null && (!Number.isInteger(band.window) || band.window < 1)))
  ) {
    throw new ShapeError(
      `${caller}: 'band' must have integer offsets and a positive integer window or null; got ${JSON.stringify(band)}`,
    );
  }
  if (x.dtype !== 'float32') {
    throw new ShapeError(`${caller}: 'x' must be float32; got ${x.dtype}`);
  }
  const [B, N, T, S] = x.shape as number[];
  const dims: Record<string, number> = { B, N, T, S };
  // I from the first rank-4 weight, second factors first: a transposed qw1 then shows up as the odd one.
  const rankSource = [inputs.qw2, inputs.kw2, inputs.qw1, inputs.kw1].find((w) => w !== undefined && w.rank === 4);
  if (rankSource !== undefined) dims.I = (rankSource.shape as number[])[2];
  const expectPresent = (name: keyof ComposeWeights, present: boolean) => {
    const t = inputs[name];
    if (present && t === undefined) {
      throw new ShapeError(
        `${caller}: '${name}' is required when ${name.startsWith('q') ? 'queryWise' : 'keyWise'} is on`,
      );
    }
    if (!present && t !== undefined) {
      throw new ShapeError(
        `${caller}: '${name}' was given but ${name.startsWith('q') ? 'queryWise' : 'keyWise'} is off`,
      );
    }
    if (t === undefined) return;
    const letters = COMPOSE_SHAPES[name];
    const expected = letters.split('').map((l) => dims[l]);
    const ok = t.rank === expected.length && expected.every((d, i) => d === t.shape[i]);
    if (!ok) {
      throw new ShapeError(
        `${caller}: '${name}' must be ${formatLettered(letters, expected)} (derived from x ${formatLettered('BNTS', x.shape)}); got ${formatShape(t.shape)}`,
      );
    }
    if (t.dtype !== 'float32') throw new ShapeError(`${caller}: '${name}' must be float32; got ${t.dtype}`);
  };
  for (const name of QUERY_INPUTS) expectPresent(name, attrs.queryWise);
  for (const name of KEY_INPUTS) expectPresent(name, attrs.keyWise);
}
