// Slice / SplitV / PadV2 / Tile / Unpack / Concat / UnsortedSegmentSum (plain TypeScript, always registered) against
// the tfjs cpu kernels, for float32, int32 and bool, with boxes that are and are not contiguous.
import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { registerCpuKernels, unregisterCpuKernels } from '../src/index.js';

process.env.DCFORMER_QUIET = '1';
await tf.setBackend('cpu');

function same(label: string, f: () => tf.Tensor | tf.Tensor[]): void {
  it(label, () => {
    registerCpuKernels();
    const fast = [f()].flat();
    unregisterCpuKernels();
    const slow = [f()].flat();
    expect(fast.map((t) => t.shape)).toEqual(slow.map((t) => t.shape));
    expect(fast.map((t) => t.dtype)).toEqual(slow.map((t) => t.dtype));
    fast.forEach((t, i) => expect(Array.from(t.dataSync())).toEqual(Array.from(slow[i].dataSync())));
    tf.dispose([...fast, ...slow]);
  });
}

const x = (shape: number[], dtype: 'float32' | 'int32' = 'float32') =>
  tf.cast(
    tf.reshape(
      tf.range(
        0,
        shape.reduce((a, b) => a * b, 1),
      ),
      shape,
    ),
    dtype,
  );

describe('copy kernels vs tfjs-backend-cpu', () => {
  same('slice inner box', () => tf.slice(x([2, 3, 4, 5]), [1, 1, 1, 2], [1, 2, 2, 3]));
  same('slice along axis 2 (cache trim)', () => tf.slice(x([2, 8, 40, 16]), [0, 0, 7, 0], [-1, -1, 30, -1]));
  same('slice int32', () => tf.slice(x([5, 6], 'int32'), [1, 2], [3, 3]));
  same('slice bool', () => tf.slice(tf.greater(x([4, 6]), 7), [0, 1], [4, 4]));
  same('slice empty', () => tf.slice(x([4, 6]), [1, 1], [0, 3]));
  same('split last axis into sizes', () => tf.split(x([2, 3, 12]), [4, 3, 5], 2));
  same('split axis 1 in 3', () => tf.split(x([2, 6, 5]), 3, 1));
  same('split negative axis', () => tf.split(x([2, 6, 4]), 2, -1));
  same('pad', () =>
    tf.pad(x([2, 3, 4]), [
      [0, 0],
      [2, 1],
      [0, 3],
    ]),
  );
  same('pad constant', () =>
    tf.pad(
      x([3, 4]),
      [
        [1, 1],
        [1, 1],
      ],
      7,
    ),
  );
  same('tile', () => tf.tile(x([2, 3, 1]), [2, 1, 4]));
  same('tile scalar-like', () => tf.tile(x([1, 1]), [3, 5]));
  same('tile 4-d odd reps', () => tf.tile(x([2, 1, 3, 2]), [3, 5, 1, 2]));
  same('broadcastTo (tf.where mask)', () => tf.where(tf.greater(x([1, 1, 3, 4]), 5), x([2, 3, 3, 4]), tf.scalar(-1)));
  same('unstack axis 1', () => tf.unstack(x([5, 4, 3]), 1));
  same('unstack axis 0 int32', () => tf.unstack(x([3, 2, 2], 'int32'), 0));
  same('unstack last axis', () => tf.unstack(x([2, 3, 4]), -1));
  same('concat axis 3 (RoPE halves)', () => tf.concat([x([2, 3, 2, 4]), x([2, 3, 2, 2])], 3));
  same('concat axis 0 and with an empty part', () => tf.concat([x([2, 3]), x([0, 3]), x([1, 3])], 0));
  same('concat bool', () => tf.concat([tf.greater(x([2, 3]), 2), tf.greater(x([2, 1]), 0)], 1));
  same('stack (Pack)', () => tf.stack([x([2, 3]), x([2, 3]), x([2, 3])], 1));
  same('stack along the last axis, int32', () => tf.stack([x([2, 3], 'int32'), x([2, 3], 'int32')], -1));
  same('stack along axis 0', () => tf.stack([x([4]), x([4])], 0));
  same('gather rows (embedding lookup)', () =>
    tf.gather(
      x([7, 3, 2]),
      tf.tensor2d(
        [
          [6, 0],
          [2, 2],
        ],
        [2, 2],
        'int32',
      ),
    ),
  );
  same('gather int32 rows', () => tf.gather(x([5, 4], 'int32'), tf.tensor1d([4, 1, 0], 'int32')));
  same('gather along axis 1 (declined: stock kernel)', () => tf.gather(x([3, 5]), tf.tensor1d([4, 0], 'int32'), 1));
  same('identity transpose shares data', () => tf.transpose(x([6, 1, 4]), [1, 0, 2]));
  same('unsortedSegmentSum (embedding gradient)', () =>
    tf.unsortedSegmentSum(x([6, 4]), tf.tensor1d([3, 0, 3, 9, 1, 0], 'int32'), 10),
  );
});
