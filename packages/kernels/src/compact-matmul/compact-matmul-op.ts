import * as tf from '@tensorflow/tfjs-core';
import type { KernelConfig, NamedAttrMap, NamedTensorMap, Tensor } from '@tensorflow/tfjs-core';
import { ShapeError, formatShape } from '../errors.js';
import { referenceRegistry } from '../reference-registry.js';
import {
  type CompactFormat,
  COMPACT_FORMATS,
  type PackedWeight,
  checkGroup,
  isQuantized,
  unpackRows,
  wordsPerRow,
} from './compact-format.js';

/**
 * DcCompactMatMul: y [M,N] = x [M,K] · dequant(W)ᵀ with W [N,K] (nn.Linear's (out, in)) held in a
 * compact format (compact-format.ts): inputs `x` float32 [M,K], `data` int32 [N, K·bits/32] (the
 * packed words), `scales` float32 [N, K/G] for int8/int4; attrs `format`, `N`, `K`, `groupSize`.
 * Accumulation in float32. Forward only: compact weights are for inference (no gradient).
 *
 * Backends read the packed words directly (kernels-cpu: dequantised in registers; kernels-webgpu:
 * packed u32 reads). The reference here, for any other backend, unpacks W to a float32 tensor per
 * call and multiplies — correct, but it holds the float32 copy while it runs.
 */
export const DcCompactMatMul = 'DcCompactMatMul';

/** A compact weight as tensors: what a model holds in place of a float32 [N,K] weight. */
export interface CompactWeight {
  readonly kind: 'compact';
  readonly format: CompactFormat;
  readonly N: number;
  readonly K: number;
  /** 0 for bf16/f16. */
  readonly groupSize: number;
  /** int32 [N, K·bits/32]. */
  readonly data: Tensor;
  /** float32 [N, K/G] for int8/int4; null for bf16/f16. */
  readonly scales: Tensor | null;
}

export function isCompactWeight(w: unknown): w is CompactWeight {
  return typeof w === 'object' && w !== null && (w as { kind?: unknown }).kind === 'compact';
}

/** Tensors for a packed weight (the arrays are handed to tfjs, not copied, where the backend allows). */
export function compactWeight(p: PackedWeight): CompactWeight {
  const G = checkGroup('compactWeight', p.format, p.K, isQuantized(p.format) ? p.groupSize : undefined);
  const words = wordsPerRow(p.format, p.K);
  if (p.data.length !== p.N * words)
    throw new ShapeError(`compactWeight: data must hold N·words = ${p.N}·${words} int32; got ${p.data.length}`);
  if (isQuantized(p.format) && (p.scales === null || p.scales.length !== (p.N * p.K) / G))
    throw new ShapeError(
      `compactWeight: ${p.format} scales must be [N, K/G] = [${p.N},${p.K / G}]; got ${p.scales === null ? 'none' : `${p.scales.length} values`}`,
    );
  return {
    kind: 'compact',
    format: p.format,
    N: p.N,
    K: p.K,
    groupSize: G,
    data: tf.tensor2d(p.data, [p.N, words], 'int32'),
    scales: isQuantized(p.format) ? tf.tensor2d(p.scales as Float32Array, [p.N, p.K / G], 'float32') : null,
  };
}

export function disposeCompactWeight(w: CompactWeight): void {
  w.data.dispose();
  w.scales?.dispose();
}

/** Bytes of the weight's tensors (data + scales). */
export function compactWeightBytes(w: CompactWeight): number {
  return w.data.size * 4 + (w.scales?.size ?? 0) * 4;
}

/** The packed arrays back from a compact weight's tensors (synchronous read: cpu, wasm). */
export function packedOf(w: CompactWeight): PackedWeight {
  return {
    format: w.format,
    N: w.N,
    K: w.K,
    groupSize: w.groupSize,
    data: w.data.dataSync() as Int32Array,
    scales: w.scales === null ? null : (w.scales.dataSync() as Float32Array),
  };
}

function validate(who: string, x: Tensor, w: CompactWeight): void {
  if (!(COMPACT_FORMATS as readonly string[]).includes(w.format))
    throw new ShapeError(`${who}: unknown format '${w.format}'; expected one of ${COMPACT_FORMATS.join(', ')}`);
  checkGroup(who, w.format, w.K, isQuantized(w.format) ? w.groupSize : undefined);
  if (x.dtype !== 'float32') throw new ShapeError(`${who}: 'x' must be float32; got ${x.dtype}`);
  if (x.rank < 1 || x.shape[x.rank - 1] !== w.K)
    throw new ShapeError(`${who}: 'x' must be [..., K] = [..., ${w.K}]; got ${formatShape(x.shape)}`);
  const words = wordsPerRow(w.format, w.K);
  if (w.data.dtype !== 'int32' || w.data.rank !== 2 || w.data.shape[0] !== w.N || w.data.shape[1] !== words)
    throw new ShapeError(
      `${who}: 'data' must be int32 [N, K·bits/32] = [${w.N},${words}]; got ${w.data.dtype} ${formatShape(w.data.shape)}`,
    );
  if (isQuantized(w.format)) {
    const want = [w.N, w.K / w.groupSize];
    const s = w.scales;
    if (s === null || s.dtype !== 'float32' || s.rank !== 2 || s.shape[0] !== want[0] || s.shape[1] !== want[1])
      throw new ShapeError(
        `${who}: 'scales' must be float32 [N, K/G] = ${formatShape(want)}; got ${s === null ? 'none' : `${s.dtype} ${formatShape(s.shape)}`}`,
      );
  }
}

/** Attributes of the kernel call. */
export interface CompactMatMulAttrs {
  format: CompactFormat;
  N: number;
  K: number;
  groupSize: number;
}

/** The attrs as the kernel call passes them (a plain attr map, so tfjs's types take it as it is). */
export function compactMatMulKernelAttrs(a: CompactMatMulAttrs): NamedAttrMap {
  return { format: a.format, N: a.N, K: a.K, groupSize: a.groupSize };
}

/** The inverse of compactMatMulKernelAttrs, for kernels reading their attrs (tfjs types them as a map). */
export function compactMatMulAttrsOf(map: NamedAttrMap | undefined): CompactMatMulAttrs {
  return {
    format: String(map?.format) as CompactFormat,
    N: Number(map?.N),
    K: Number(map?.K),
    groupSize: Number(map?.groupSize),
  };
}

/** The reference: W unpacked to float32 (plain JS over the synchronously read words), then tf.matMul. */
export function compactMatMulReference(
  x: Tensor,
  data: Tensor,
  scales: Tensor | null,
  attrs: CompactMatMulAttrs,
): Tensor {
  const packed: PackedWeight = {
    format: attrs.format,
    N: attrs.N,
    K: attrs.K,
    groupSize: attrs.groupSize,
    data: data.dataSync() as Int32Array,
    scales: scales === null ? null : (scales.dataSync() as Float32Array),
  };
  return tf.tidy(() => tf.matMul(x, tf.tensor2d(unpackRows(packed), [attrs.N, attrs.K]), false, true));
}

export function referenceCompactMatMulKernel(backendName: string): KernelConfig {
  return {
    kernelName: DcCompactMatMul,
    backendName,
    kernelFunc: ({ inputs, attrs }) =>
      compactMatMulReference(
        inputs.x as Tensor,
        inputs.data as Tensor,
        (inputs.scales as Tensor | undefined) ?? null,
        compactMatMulAttrsOf(attrs),
      ),
  };
}

const registry = referenceRegistry(DcCompactMatMul, referenceCompactMatMulKernel);

/** True when `backendName` runs the reference (no native or WGSL kernel registered). */
export function isReferenceCompactMatMul(backendName: string): boolean {
  return registry.isReference(backendName);
}

/**
 * y = x · dequant(W)ᵀ for x [..., K] and a compact W [N,K] → [..., N], through the active backend's
 * DcCompactMatMul kernel. Not differentiable.
 */
export function compactMatMul(x: Tensor, w: CompactWeight): Tensor {
  validate('compactMatMul', x, w);
  registry.ensure();
  return tf.tidy(() => {
    const lead = x.shape.slice(0, -1) as number[];
    const x2d = x.rank === 2 ? x : tf.reshape(x, [-1, w.K]);
    const inputs: NamedTensorMap = { x: x2d, data: w.data };
    if (w.scales !== null) inputs.scales = w.scales;
    const y = tf.engine().runKernel(DcCompactMatMul, inputs, compactMatMulKernelAttrs(w)) as Tensor;
    return x.rank === 2 ? y : tf.reshape(y, [...lead, w.N]);
  });
}
