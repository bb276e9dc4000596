/**
 * Direct access to the Float32Arrays the tfjs cpu backend keeps per tensor (no copies): the host-backend
 * adapter of @dcformer/kernels (shared with kernels-cuda) under this package's short names, plus the
 * uninitialised output arrays.
 */
export { hostF32 as f32, hostI32 as i32, hostOutput as output, inputList } from '@dcformer/kernels';

export function sizeOf(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

type TypedCtor<T> = {
  new (buffer: ArrayBuffer, byteOffset: number, length: number): T;
  new (length: number): T;
  BYTES_PER_ELEMENT: number;
};
const NodeBuffer = (globalThis as { Buffer?: { allocUnsafeSlow(size: number): Uint8Array } }).Buffer;

/**
 * A typed array of `n` elements whose contents are NOT zeroed, for kernel outputs that write every
 * element. `new Float32Array(n)` is calloc: memset (or fresh zero pages) on every kernel output,
 * 2.5 ms vs 1.05 ms for a 6 MB multiply while a training step's tape holds many such buffers.
 * Node only (Buffer.allocUnsafeSlow: an unpooled ArrayBuffer of exactly n elements); zeroed elsewhere.
 */
export function uninitialized<T>(ctor: TypedCtor<T>, n: number): T {
  if (NodeBuffer === undefined || n === 0) return new ctor(n);
  const bytes = NodeBuffer.allocUnsafeSlow(n * ctor.BYTES_PER_ELEMENT);
  return new ctor(bytes.buffer as ArrayBuffer, bytes.byteOffset, n);
}

export function uninitializedF32(n: number): Float32Array {
  return uninitialized(Float32Array, n);
}
