import type { Tensor } from '@tensorflow/tfjs-core';
import type { AttentionWeights } from '../attention/attention-spec.js';
import type { ComposeWeights } from '../compose/compose-spec.js';

/**
 * Tests build Compose weights per call in the kernel's names (qw1 … kdd); attention takes them per
 * side. This regroups two calls' weights (the same tensors) by side; a side absent from `pre` is null.
 */
export function attentionWeightsOf(pre: ComposeWeights, post: ComposeWeights): AttentionWeights {
  const side = (p: 'q' | 'k') => {
    const [w1, w2, dd] = [`${p}w1`, `${p}w2`, `${p}dd`] as const;
    if (pre[w1] === undefined) return null;
    const call = (w: ComposeWeights) => ({ w1: w[w1] as Tensor, w2: w[w2] as Tensor, dd: w[dd] as Tensor });
    return { pre: call(pre), post: call(post) };
  };
  return { query: side('q'), key: side('k') };
}
