// The float32 twin of a compact weight for tests: its dequantised values in the official layout.
import * as tf from '@tensorflow/tfjs-core';
import { type CompactWeight, packedOf, unpackRows } from '@dcformer/kernels';

/** Assigns `w` dequantised to the float32 variable `v` of the official tensor `name`. */
export function assignDequantised(v: tf.Variable, name: string, w: CompactWeight): void {
  tf.tidy(() => {
    const rows = tf.tensor2d(unpackRows(packedOf(w)), [w.N, w.K]);
    // DCMHA's dw1 / dd are held as the transposes [M, D] of their official [D, 1, …] tensors
    v.assign(tf.reshape(/\.(dw1|dd)$/.test(name) ? tf.transpose(rows) : rows, v.shape));
  });
}
