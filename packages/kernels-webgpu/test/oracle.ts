/**
 * The official-code golden data and its readers come from the model package's test helpers
 * (fixtures/oracle, DESIGN.md "Golden data"); what is webgpu-specific here reads asynchronously:
 * DcformerModel's synchronous read-backs use dataSync(), which webgpu cannot do in Node.
 */
import type { Tensor } from '@tensorflow/tfjs-core';
import type { DcformerModel } from '@dcformer/model';

export { ORACLE_DIR, golden, oracleGrads } from '../../model/test/oracle.js';

async function take(t: Tensor): Promise<Float32Array> {
  try {
    return (await t.data()) as Float32Array;
  } finally {
    t.dispose();
  }
}

/** Loss and the gradient of every parameter (official names), read asynchronously. */
export async function lossAndGradsAsync(model: DcformerModel, ids: number[][]): Promise<{ loss: number; grads: Map<string, Float32Array> }> {
  const { loss, grads } = await model.lossAndGradsAsync(ids);
  const out = new Map<string, Float32Array>();
  for (const [name, g] of grads) out.set(name, await take(g));
  return { loss, grads: out };
}

export interface GreedyStep {
  id: number;
  /** top-1 minus top-2 logit: how far the choice is from a tie. */
  margin: number;
}

function top2(row: Float32Array): GreedyStep {
  let best = 0;
  let second = -1;
  for (let i = 1; i < row.length; i++) {
    if (row[i] > row[best]) {
      second = best;
      best = i;
    } else if (second < 0 || row[i] > row[second]) {
      second = i;
    }
  }
  return { id: best, margin: row[best] - row[second] };
}

/**
 * Greedy decoding of equal-length prompts as one batch with the cache, reading asynchronously: per
 * row, the chosen ids and their top-2 margins.
 */
export async function greedyAsync(model: DcformerModel, prompts: number[][], steps: number): Promise<GreedyStep[][]> {
  const V = model.config.vocabSize;
  const P = prompts[0].length;
  if (prompts.some((p) => p.length !== P)) throw new Error('greedyAsync: prompts must have equal length');
  const cache = model.createCache(prompts.length);
  const chosen: GreedyStep[][] = prompts.map(() => []);
  try {
    const first = await take(model.forwardCached(prompts, cache));
    let rows = prompts.map((_, b) => first.subarray((b * P + P - 1) * V, (b * P + P) * V));
    for (let i = 0; i < steps; i++) {
      const next = rows.map((row) => top2(row));
      next.forEach((step, b) => chosen[b].push(step));
      if (i === steps - 1) break;
      const logits = await take(model.forwardCached(next.map((s) => [s.id]), cache));
      rows = prompts.map((_, b) => logits.subarray(b * V, (b + 1) * V));
    }
  } finally {
    cache.dispose();
  }
  return chosen;
}
