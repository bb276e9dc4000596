/** A micro model and token stream for run-level tests: seconds on the cpu backend, not minutes. */
import { resolveConfig } from '@dcformer/model';
import { resolveSettings, type RunSettings } from '../src/settings.js';

export const MICRO = resolveConfig({
  family: 'dcformer',
  vocabSize: 257,
  dim: 32,
  nHead: 4,
  nLayer: 2,
  blockSize: 16,
  windowSize: 8,
  windowType: null,
  useQkNorm: true,
  qChunkSize: 16,
});

export function microSettings(over: Partial<RunSettings> = {}): RunSettings {
  return resolveSettings({
    seed: 7,
    batchSize: 2,
    seqLen: 16,
    steps: 6,
    lr: 3e-3,
    warmupSteps: 2,
    evalEvery: 3,
    evalBatches: 1,
    logEvery: 1,
    checkpointEvery: 3,
    keep: 5,
    valFraction: 0.2,
    ...over,
  });
}

/** Bytes of a fixed text, as the byte-level tokenizer would give them. */
export function microTokens(): Uint16Array {
  const text = 'First Citizen:\nBefore we proceed any further, hear me speak.\n\nAll:\nSpeak, speak.\n'.repeat(12);
  return Uint16Array.from(new TextEncoder().encode(text));
}
