/**
 * Token streams in memory and the batches drawn from them. A dataset is one long stream of token
 * ids (documents joined with the end-of-text id); the last `valFraction` of it is the validation
 * split, as nanoGPT's shakespeare_char does, so validation text is never trained on.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Tensor } from '@tensorflow/tfjs-core';
import { InputError } from '@dcformer/kernels';
import type { Rng } from './rng.js';

export type TokenArray = Uint16Array | Uint32Array;

export interface TokenSplit {
  train: TokenArray;
  val: TokenArray;
}

/** Splits a stream into train and validation parts, checking each can hold one sequence of `seqLen`. */
export function splitTokens(tokens: TokenArray, valFraction: number, seqLen: number, what = 'the data'): TokenSplit {
  if (!(valFraction > 0 && valFraction < 1)) {
    throw new InputError(`splitTokens: 'valFraction' must be in (0, 1); got ${valFraction}`);
  }
  if (tokens.length === 0) throw new InputError(`${what} holds no tokens (empty input)`);
  const nVal = Math.floor(tokens.length * valFraction);
  const nTrain = tokens.length - nVal;
  if (nTrain < seqLen || nVal < seqLen) {
    throw new InputError(
      `${what} is shorter than one sequence per split: ${tokens.length} tokens give ${nTrain} train + ${nVal} validation, ` +
        `and each needs at least seq_len = ${seqLen}; add data or lower --seq-len`,
    );
  }
  return { train: tokens.subarray(0, nTrain), val: tokens.subarray(nTrain) };
}

/** Throws if an id is outside [0, vocabSize): pre-tokenized files are checked once, up front. */
export function checkTokenRange(tokens: TokenArray, vocabSize: number, what: string): void {
  for (let i = 0; i < tokens.length; i++) {
    if (tokens[i] >= vocabSize) {
      throw new InputError(
        `${what}: token id ${tokens[i]} at position ${i} is out of range for vocab_size ${vocabSize}`,
      );
    }
  }
}

/**
 * B windows of `seqLen` ids at uniformly random offsets (one draw per row, in row order, so the
 * stream of draws, and hence a resumed run, is reproducible from the generator state alone).
 * Returns an int32 [B, seqLen] tensor.
 */
export function sampleBatch(tokens: TokenArray, batchSize: number, seqLen: number, rng: Rng): Tensor {
  const span = tokens.length - seqLen + 1;
  const ids = new Int32Array(batchSize * seqLen);
  for (let b = 0; b < batchSize; b++) {
    const start = rng.int(span);
    for (let t = 0; t < seqLen; t++) ids[b * seqLen + t] = tokens[start + t];
  }
  return tf.tensor2d(ids, [batchSize, seqLen], 'int32');
}

/**
 * Fixed validation batches: `count` × B windows evenly spaced over the split, the same at every
 * evaluation and for every model trained on the same data (so curves are comparable).
 */
export function evalBatches(tokens: TokenArray, batchSize: number, seqLen: number, count: number): Tensor[] {
  const windows = batchSize * count;
  const last = tokens.length - seqLen;
  const out: Tensor[] = [];
  for (let c = 0; c < count; c++) {
    const ids = new Int32Array(batchSize * seqLen);
    for (let b = 0; b < batchSize; b++) {
      const w = c * batchSize + b;
      const start = windows === 1 ? 0 : Math.floor((w * last) / (windows - 1));
      for (let t = 0; t < seqLen; t++) ids[b * seqLen + t] = tokens[start + t];
    }
    out.push(tf.tensor2d(ids, [batchSize, seqLen], 'int32'));
  }
  return out;
}

/** How many evaluation batches fit without reusing windows more than necessary (at least 1). */
export function evalBatchCount(valTokens: number, batchSize: number, seqLen: number, wanted: number): number {
  const distinct = Math.floor(valTokens / seqLen / batchSize);
  return Math.max(1, Math.min(wanted, Math.max(1, distinct)));
}
