import * as tf from '@tensorflow/tfjs-core';
import type { Tensor } from '@tensorflow/tfjs-core';
import { InputError, formatShape } from '@dcformer/kernels';
import type { ModelConfig } from './config.js';

/**
 * Token ids → int32 [B,T] tensor, checked: rectangular integer rows, 0 ≤ id < vocab, T ≤ block_size.
 * Returns the input itself when it is already a valid int32 tensor (callers dispose only what they made).
 */
export function idsTensor(rows: number[][], caller: string): Tensor {
  if (!Array.isArray(rows) || rows.length === 0 || !rows.every(Array.isArray)) {
    throw new InputError(`${caller}: input_ids must be a non-empty array of rows [[int, ...], ...]`);
  }
  const T = rows[0].length;
  rows.forEach((row, b) => {
    if (row.length !== T) {
      throw new InputError(
        `${caller}: input_ids must be rectangular [B,T]; row 0 has ${T} ids but row ${b} has ${row.length}`,
      );
    }
    row.forEach((id, t) => {
      if (!Number.isInteger(id))
        throw new InputError(`${caller}: input_ids[${b}][${t}] must be an integer; got ${JSON.stringify(id)}`);
    });
  });
  return tf.tensor2d(rows.flat(), [rows.length, T], 'int32');
}

export function validateIds(ids: Tensor | number[][], config: ModelConfig, caller: string, minLength = 1): Tensor {
  const t = Array.isArray(ids) ? idsTensor(ids, caller) : ids;
  try {
    if (t.rank !== 2) throw new InputError(`${caller}: ids must be [B,T] (rank 2); got ${formatShape(t.shape)}`);
    if (t.dtype !== 'int32') throw new InputError(`${caller}: ids must be int32; got ${t.dtype}`);
    const [B, T] = t.shape as number[];
    if (B < 1 || T < minLength) {
      throw new InputError(`${caller}: ids [B,T] = ${formatShape(t.shape)} needs B ≥ 1 and T ≥ ${minLength}`);
    }
    if (T > config.blockSize) {
      throw new InputError(`${caller}: sequence length T = ${T} exceeds block_size ${config.blockSize}`);
    }
    const data = t.dataSync();
    for (let i = 0; i < data.length; i++) {
      const id = data[i];
      if (id < 0 || id >= config.vocabSize) {
        throw new InputError(
          `${caller}: token id ${id} at [${Math.floor(i / T)},${i % T}] is out of range [0, ${config.vocabSize}) (vocab_size ${config.vocabSize})`,
        );
      }
    }
    return t;
  } catch (e) {
    if (t !== ids) t.dispose();
    throw e;
  }
}
