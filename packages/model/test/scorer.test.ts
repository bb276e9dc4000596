/**
 * modelScorer against the definition computed directly: one `model.forward` per request on exactly
 * the tokens lm-eval feeds, log-softmax in float64 here. On oracle case 1 (DCFormer++, LGLL windows
 * of 8, block_size 64, vocab 128), with hand-built token requests.
 */
import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DcformerModel } from '../src/model.js';
import { loadModel } from '../src/node.js';
import { modelScorer } from '../src/scorer.js';
import { caseDir } from './oracle.js';

let model: DcformerModel;

beforeAll(async () => {
  await tf.setBackend('cpu');
  model = await loadModel(caseDir('case1_dcformer_lgll'), { onWarning: () => {} });
});
afterAll(() => model?.dispose());

/** log p(ids[t] | ids[<t]) for t = 1..n−1 from one forward over ids[:-1], in float64. */
function directLogprobs(ids: number[]): { logprob: number[]; argmax: number[] } {
  const V = model.config.vocabSize;
  const logits = tf.tidy(() => model.forward([ids.slice(0, -1)]).dataSync());
  const logprob: number[] = [];
  const argmax: number[] = [];
  for (let t = 1; t < ids.length; t++) {
    const row = logits.subarray((t - 1) * V, t * V);
    let max = -Infinity;
    let best = 0;
    row.forEach((x, v) => {
      if (x > max) [max, best] = [x, v];
    });
    let sum = 0;
    for (const x of row) sum += Math.exp(x - max);
    logprob.push(row[ids[t]] - max - Math.log(sum));
    argmax.push(best);
  }
  return { logprob, argmax };
}

/** The definition: feed the last maxLength tokens of context ++ continuation[:-1]; sum over the continuation. */
function direct(context: number[], continuation: number[], maxLength: number) {
  const full = [...context, ...continuation];
  const window = full.slice(Math.max(0, full.length - 1 - maxLength));
  const { logprob, argmax } = directLogprobs(window);
  const k = continuation.length;
  const lp = logprob.slice(-k);
  return { logprob: lp.reduce((a, b) => a + b, 0), isGreedy: argmax.slice(-k).every((a, j) => a === continuation[j]) };
}

const seq = (n: number, seed: number) =>
  Array.from({ length: n }, (_, i) => (i * 37 + seed * 11 + ((i * i) % 7)) % 128);

describe('modelScorer.loglikelihood on case1 equals the direct computation', () => {
  // lengths from 1 to 70 tokens (past block_size 64: left truncation), shared contexts, a request
  // that is a prefix of another, duplicates and one-token continuations
  const base = seq(40, 1);
  const requests = [
    { context: base.slice(0, 10), continuation: base.slice(10, 13) },
    { context: base.slice(0, 10), continuation: [5] },
    { context: base.slice(0, 10), continuation: [6] },
    { context: base.slice(0, 12), continuation: base.slice(12, 20) }, // its input extends request 0's
    { context: [3], continuation: [4] },
    { context: seq(60, 2), continuation: seq(10, 3) }, // 70 tokens: truncated to the last 64 fed
    { context: base.slice(0, 10), continuation: base.slice(10, 13) }, // duplicate of request 0
    { context: seq(25, 4), continuation: seq(5, 5) },
    { context: seq(27, 6), continuation: seq(2, 7) }, // similar lengths (29, 28, 26 fed): one padded batch
    { context: seq(24, 8), continuation: seq(3, 9) },
  ];
  let expected: { logprob: number; isGreedy: boolean }[];
  beforeAll(() => {
    expected = requests.map((r) => direct(r.context, r.continuation, 64));
  });

  it.each([
    ['batched (16 rows per forward)', { batchSize: 16 }],
    ['unbatched', { batchSize: 1 }],
    ['batched under a logits budget', { batchSize: 16, maxBatchLogits: 80 * 128 }], // 2 rows of 29 tokens
  ])('%s', async (_name, options) => {
    const progress: number[] = [];
    const shapes: number[][] = [];
    const forward = model.forward;
    model.forward = (ids) => {
      shapes.push([(ids as number[][]).length, (ids as number[][])[0].length]);
      return forward.call(model, ids);
    };
    let got: Awaited<ReturnType<ReturnType<typeof modelScorer>['loglikelihood']>>;
    try {
      got = await modelScorer(model, options).loglikelihood(requests, { onProgress: (done) => progress.push(done) });
    } finally {
      model.forward = forward;
    }
    // requests 0, 1, 2 and 6 feed prefixes of request 3's tokens: 10 requests, 6 sequences run
    expect(shapes.reduce((n, [b]) => n + b, 0)).toBe(6);
    if (options.batchSize > 1) expect(Math.max(...shapes.map(([b]) => b))).toBeGreaterThan(1);
    got.forEach((g, i) => {
      expect(Math.abs(g.logprob - expected[i].logprob), `request ${i}`).toBeLessThan(
        1e-4 * requests[i].continuation.length,
      );
      expect(g.isGreedy, `request ${i}`).toBe(expected[i].isGreedy);
    });
    expect(progress[progress.length - 1]).toBe(requests.length);
  });

  it('is_greedy is true when the continuation is the model’s own greedy choice', async () => {
    const context = seq(6, 9);
    const greedy: number[] = [];
    for (let i = 0; i < 4; i++) greedy.push(directLogprobs([...context, ...greedy, 0]).argmax.at(-1) as number);
    const [r] = await modelScorer(model).loglikelihood([{ context, continuation: greedy }]);
    expect(r.isGreedy).toBe(true);
  });

  it('a shorter maxLength truncates further on the left, as the definition says', async () => {
    const r = requests[7];
    const [got] = await modelScorer(model, { maxLength: 12 }).loglikelihood([r]);
    expect(Math.abs(got.logprob - direct(r.context, r.continuation, 12).logprob)).toBeLessThan(5e-4);
  });

  it('rejects ids outside the vocabulary, empty contexts and a maxLength beyond block_size', async () => {
    const scorer = modelScorer(model);
    await expect(scorer.loglikelihood([{ context: [1], continuation: [128] }])).rejects.toThrow(
      /continuation holds 128, not a token id in \[0, 128\)/,
    );
    await expect(scorer.loglikelihood([{ context: [], continuation: [1] }])).rejects.toThrow(/empty context/);
    expect(() => modelScorer(model, { maxLength: 65 })).toThrow(/'maxLength' must be an integer in \[1, 64\]; got 65/);
  });
});

describe('modelScorer.rolling on case1', () => {
  const ids = seq(100, 7);

  it('equals the full-context log-likelihood when the text fits in one window', async () => {
    const text = ids.slice(0, 65); // 64 fed tokens score tokens 1..64
    const full = directLogprobs(text).logprob.reduce((a, b) => a + b, 0);
    const r = await modelScorer(model).rolling(text, { maxLength: 64, stride: 16 });
    expect(r.tokens).toBe(64);
    expect(Math.abs(r.logprob - full)).toBeLessThan(64 * 1e-4);
  });

  it.each([
    [20, 7],
    [64, 64],
  ])('maxLength %i stride %i: every token scored once, each from its window', async (L, stride) => {
    // the definition, window by window: token t is predicted from ids[max(0, end − L), t)
    let expected = 0;
    let scored = 0;
    for (let last = 0; last < ids.length - 1; ) {
      const end = scored === 0 ? Math.min(L, ids.length - 1) : Math.min(last + stride, ids.length - 1);
      const begin = Math.max(0, end - L);
      const lp = directLogprobs(ids.slice(begin, end + 1)).logprob;
      for (let t = last + 1; t <= end; t++) {
        expected += lp[t - begin - 1];
        scored++;
      }
      last = end;
    }
    expect(scored).toBe(ids.length - 1);
    const r = await modelScorer(model, { batchSize: 4 }).rolling(ids, { maxLength: L, stride });
    expect(r.tokens).toBe(ids.length - 1);
    expect(Math.abs(r.logprob - expected)).toBeLessThan(scored * 1e-4);
  });
});
