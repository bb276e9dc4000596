/** Direct access to the Float32Arrays the tfjs cpu backend keeps per tensor (no copies). */
import type { DataId, TensorInfo } from '@tensorflow/tfjs-core';

interface CpuLikeBackend {
  data: { get(id: DataId): { values?: unknown } | undefined };
  makeTensorInfo(shape: number[], dtype: 'float32', values: Float32Array): TensorInfo;
}

/** The float32 values of `t`, or null when the backend stores it otherwise (then fall back). */
export function f32(backend: unknown, t: TensorInfo | undefined): Float32Array | null {
  if (t === undefined || t.dtype !== 'float32') return null;
  const values = (backend as CpuLikeBackend).data.get(t.dataId)?.values;
  return values instanceof Float32Array ? values : null;
}

/** The int32 values of `t`, or null when the backend stores it otherwise. */
export function i32(backend: unknown, t: TensorInfo | undefined): Int32Array | null {
  if (t === undefined || t.dtype !== 'int32') return null;
  const values = (backend as CpuLikeBackend).data.get(t.dataId)?.values;
  return values instanceof Int32Array ? values : null;
}

export function output(backend: unknown, shape: number[], values: Float32Array): TensorInfo {
  return (backend as CpuLikeBackend).makeTensorInfo(shape, 'float32', values);
}

export function sizeOf(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}
