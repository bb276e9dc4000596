/**
 * One loop, two ways of reading the device. A computation that needs host copies of tensors is
 * written once as a generator that yields each tensor and receives its data back; `readSync`
 * drives it with `dataSync()` (cpu/wasm), `readAsync` with `await data()` (every backend, GPU
 * included). gpt-fast writes prefill / decode_one_token / decode_n_tokens once in the same spirit.
 * The generator owns what it yields (it disposes it, or not, as it would after a read); when a read
 * throws, the error is thrown into the generator so its `finally` blocks free what they hold.
 */
import type { Tensor } from '@tensorflow/tfjs-core';

/** Host data of a read tensor (float32 unless the yielded tensor is int32 or bool). */
export type HostData = Float32Array | Int32Array | Uint8Array;

/** A computation yielding the tensors it must read and returning R. */
export type Reads<R> = Generator<Tensor, R, HostData>;

/** Runs `steps`, reading each yielded tensor with `dataSync()`: cpu/wasm backends only. */
export function readSync<R>(steps: Reads<R>): R {
  let r = steps.next();
  while (!r.done) {
    let data: HostData;
    try {
      data = r.value.dataSync() as HostData;
    } catch (e) {
      r = steps.throw(e);
      continue;
    }
    r = steps.next(data);
  }
  return r.value;
}

/** Runs `steps`, reading each yielded tensor with `await data()`: runs on every backend. */
export async function readAsync<R>(steps: Reads<R>): Promise<R> {
  let r = steps.next();
  while (!r.done) {
    let data: HostData;
    try {
      data = (await r.value.data()) as HostData;
    } catch (e) {
      r = steps.throw(e);
      continue;
    }
    r = steps.next(data);
  }
  return r.value;
}
