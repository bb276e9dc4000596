/**
 * readSync / readAsync: one generator, two ways of reading. The same answer from both; a failing
 * read is thrown into the generator, so its finally blocks run (flat tensor count).
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { describe, expect, it } from 'vitest';
import { readAsync, readSync, type Reads } from '../src/reads.js';

function* sumOfReads(values: number[][]): Reads<number> {
  let total = 0;
  for (const v of values) {
    const t = tf.tensor1d(v);
    try {
      total += Array.from(yield t).reduce((a, b) => a + b, 0);
    } finally {
      t.dispose();
    }
  }
  return total;
}

describe('readSync / readAsync', () => {
  it('give the same result from one generator', async () => {
    const before = tf.memory().numTensors;
    expect(readSync(sumOfReads([[1, 2], [3]]))).toBe(6);
    expect(await readAsync(sumOfReads([[1, 2], [3]]))).toBe(6);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('throw a failing read into the generator, whose finally frees its tensor', async () => {
    const failing = (t: tf.Tensor): tf.Tensor => {
      t.dataSync = () => {
        throw new Error('read failed');
      };
      t.data = () => Promise.reject(new Error('read failed'));
      return t;
    };
    function* steps(): Reads<number> {
      const t = failing(tf.tensor1d([1]));
      try {
        return (yield t)[0];
      } finally {
        t.dispose();
      }
    }
    const before = tf.memory().numTensors;
    expect(() => readSync(steps())).toThrow('read failed');
    await expect(readAsync(steps())).rejects.toThrow('read failed');
    expect(tf.memory().numTensors).toBe(before);
  });
});
