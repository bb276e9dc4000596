/**
 * The official-code golden data and its readers come from the model package's test helpers
 * (fixtures/oracle, DESIGN.md "Golden data"); what is webgpu-specific here reads asynchronously:
 * DcformerModel's synchronous read-backs use dataSync(), which webgpu cannot do in Node.
 */
import type { Tensor } from '@tensorflow/tfjs-core';
import type { DcformerModel } from '@dcformer/model';

export { CASES, ORACLE_DIR, golden, oracleGrads } from '../../model/test/oracle.js';

async function take(t: Tensor): Promise<Float32Array> {
  try {
    return (await t.data()) as Float32Array;
  } finally {
    t.dispose();
  }
}

/** Loss and the gradient of every parameter (official names), read asynchronously. */
export async function lossAndGradsAsync(
  model: DcformerModel,
  ids: number[][],
): Promise<{ loss: number; grads: Map<string, Float32Array> }> {
  const { loss, grads } = await model.lossAndGradsAsync(ids);
  const out = new Map<string, Float32Array>();
  for (const [name, g] of grads) out.set(name, await take(g));
  return { loss, grads: out };
}
