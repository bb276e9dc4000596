import { describe, expect, it } from 'vitest';
import { encodePair } from '../src/encode.js';
import { runTask } from '../src/evaluate.js';
import { lambadaOpenai } from '../src/tasks/lambada.js';
import { choicePicks, evaluateChoices, promptWithChoices } from '../src/tasks/multiple-choice.js';
import { dcformerSynthetic } from '../src/tasks/synthetic.js';
import { perplexity } from '../src/tasks/perplexity.js';
import { referenceScorer } from '../src/scorer.js';
import { byteContext, bytes, favouring } from './helpers.js';

const A = 'a'.charCodeAt(0);
/** Every byte is equally likely except 'a', which has logit 2: multi-byte answers of 'a's are cheap per byte. */
const likesA = favouring(() => A);

describe('multiple choice: acc and acc_norm (lm-eval)', () => {
  it('acc sums log-likelihoods over a multi-token answer; acc_norm divides by the choice length in characters', async () => {
    // ll(" aaaa") = lp(' ') + 4 lp('a') ≈ −19.8 < ll(" b") = 2 lp(other) ≈ −11.1: acc picks "b";
    // per character: −19.8 / 4 ≈ −5.0 > −11.1 / 1: acc_norm picks "aaaa".
    const doc = promptWithChoices('Q', ['aaaa', 'b'], 0);
    expect(doc.requests).toEqual([
      { context: 'Q', continuation: ' aaaa' },
      { context: 'Q', continuation: ' b' },
    ]);
    const m = await evaluateChoices([doc, { ...doc, gold: 1 }], byteContext(likesA));
    expect(m.metrics.acc.value).toBe(0.5);
    expect(m.metrics.acc_norm.value).toBe(0.5);
    const picks = choicePicks([-19.8, -11.1], [4, 1]);
    expect(picks).toEqual({ acc: 1, accNorm: 0 });
  });

  it('ties go to the first choice (numpy argmax), so a tied gold counts only when it comes first', async () => {
    const first = promptWithChoices('Q', ['x', 'y'], 0);
    const second = promptWithChoices('Q', ['x', 'y'], 1);
    const m = await evaluateChoices([first, second], byteContext(likesA));
    expect(m.metrics.acc.value).toBe(0.5);
    expect(m.metrics.acc_norm.value).toBe(0.5);
    expect(choicePicks([-1, -1, -3], [1, 1, 2])).toEqual({ acc: 0, accNorm: 0 });
  });

  it('merges identical requests (the same prompt and choice) into one scorer call', async () => {
    const doc = promptWithChoices('Q', ['aaaa', 'b'], 0);
    const m = await evaluateChoices([doc, doc, doc], byteContext(likesA));
    expect(m.requests).toBe(2);
    expect(m.metrics.acc.stderr).toBe(0);
  });

  it('without choice lengths (WinoGrande, BoolQ) reports acc only', async () => {
    const doc = promptWithChoices('Q', ['no', 'yes'], 1, false);
    const m = await evaluateChoices([doc], byteContext(likesA));
    expect(Object.keys(m.metrics)).toEqual(['acc']);
    expect(m.metrics.acc.stderr).toBeNull();
  });
});

describe('encodePair (lm-eval tokenization of a request)', () => {
  it('moves the context’s trailing whitespace to the continuation', () => {
    expect(encodePair(bytes, 'Answer: ', 'yes', 0)).toEqual({
      context: bytes.encode('Answer:'),
      continuation: bytes.encode(' yes'),
    });
  });

  it('takes the continuation from the joint encoding, so a token spanning the boundary is continuation', () => {
    // a word-level toy encoder: "ab" is one token (9) when the two letters meet
    const enc = {
      encode: (t: string) =>
        t
          .replace(/ab/g, '\u0009')
          .split('')
          .map((c) => (c === '\u0009' ? 9 : c.charCodeAt(0) - 96)),
    };
    expect(encodePair(enc, 'xa', 'bc', 0)).toEqual({ context: [24, 1], continuation: [3] });
  });

  it('an empty context becomes the prefix token', () => {
    expect(encodePair(bytes, '', 'hi', 7)).toEqual({ context: [7], continuation: bytes.encode('hi') });
    expect(() => encodePair(bytes, '', 'hi', null)).toThrow(/no prefix token/);
  });
});

describe('LAMBADA', () => {
  // greedy successor table: after 'z' comes ' ', after ' ' 'a', then 'b', 'c', 'd'
  const next: Record<string, string> = { z: ' ', ' ': 'a', a: 'b', b: 'c', c: 'd' };
  const chain = favouring((fed) => (next[String.fromCharCode(fed[fed.length - 1])] ?? 'q').charCodeAt(0), 5);

  it('context = text before the last space, continuation = " " + last word; acc = all greedy; perplexity over words', async () => {
    const data = lambadaOpenai.parse('{"text": "xyz abcd"}\n{"text": "xyz abd"}\n', 'l.jsonl');
    expect(data.docs[0]).toEqual({ context: 'xyz', continuation: ' abcd' });
    const r = await runTask(lambadaOpenai, data, byteContext(chain));
    expect(r.metrics.acc.value).toBe(0.5);
    const [g, ng] = await chain.loglikelihood(data.docs.map((d) => encodePair(bytes, d.context, d.continuation, 0)));
    expect(r.metrics.perplexity.value).toBeCloseTo(Math.exp(-(g.logprob + ng.logprob) / 2), 12);
    expect([g.isGreedy, ng.isGreedy]).toEqual([true, false]);
  });
});

describe('dcformer_synthetic scoring', () => {
  const texts = '\nd1 x\nd2 y\nq1 [ a b ]\nq2 [ c ]\n';
  it('fills earlier answers in, drops brackets, scores " " + answer; correct = every answer token greedy', async () => {
    const data = dcformerSynthetic.parse(
      `${JSON.stringify({ task_id: 'task1', texts })}\n${JSON.stringify({ task_id: 'task0', texts })}\n`,
      's.jsonl',
    );
    expect(data.docs[0].queries).toEqual([
      { context: '\nd1 x\nd2 y\nq1', continuation: ' a b' },
      { context: '\nd1 x\nd2 y\nq1 a b\nq2', continuation: ' c' },
    ]);
    // a model that always predicts the next byte of the full filled-in text
    const full = bytes.encode('\nd1 x\nd2 y\nq1 a b\nq2 c\n');
    const oracle = favouring((fed) => full[fed.length], 9);
    const r = await runTask(dcformerSynthetic, data, byteContext(oracle));
    expect(r.metrics.acc.value).toBe(1);
    expect(r.subtasks?.map((s) => [s.task, s.n])).toEqual([
      ['task0', 2],
      ['task1', 2],
    ]);
    // query 1's fed tokens are a prefix of query 2's: a batching scorer can answer both from one forward
    expect(r.requests).toBe(2);
  });
});

describe('ppl', () => {
  it('scores every text token once after the prefix token; bits per byte and word perplexity from the same sum', async () => {
    const text = 'ab cd\nef';
    const scorer = referenceScorer(() => new Float64Array(256), { maxLength: 3 });
    const r = await runTask(perplexity, perplexity.parse(text, 't.txt'), { ...byteContext(scorer), stride: 2 });
    const ll = -8 * Math.log(256);
    expect(r.metrics.token_perplexity.value).toBeCloseTo(256, 9);
    expect(r.metrics.bits_per_byte.value).toBeCloseTo(8, 9);
    expect(r.metrics.word_perplexity.value).toBeCloseTo(Math.exp(-ll / 3), 6);
    expect(r.metrics.bits_per_byte.stderr).toBeNull();
  });
});
