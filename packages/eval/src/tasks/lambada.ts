/**
 * LAMBADA (OpenAI's detokenized test set, lm-eval's lambada_openai): predict the last word of a
 * passage. Context = the text before its last space, continuation = " " + the last word (lm-eval
 * splits on single spaces). `acc`: every token of the word is the greedy choice; `perplexity`:
 * exp(−mean log-likelihood of the word), over documents.
 */
import { DataError } from '../errors.js';
import { Fields, parseJsonl } from '../jsonl.js';
import { meanMetric, perplexityMetric } from '../metrics.js';
import { scoreText, unscorableSummary } from './multiple-choice.js';
import type { LoglikelihoodResult } from '../scorer.js';
import type { TaskDefinition } from './types.js';

export interface LambadaDoc {
  context: string;
  /** The last word with its leading space. */
  continuation: string;
}

/** lm-eval's split: " ".join(text.split(" ")[:-1]) and " " + text.split(" ")[-1]. */
export function splitLastWord(text: string): LambadaDoc {
  const cut = text.lastIndexOf(' ');
  return cut === -1
    ? { context: '', continuation: ` ${text}` }
    : { context: text.slice(0, cut), continuation: ` ${text.slice(cut + 1)}` };
}

export const lambadaOpenai: TaskDefinition<LambadaDoc> = {
  name: 'lambada_openai',
  description: 'LAMBADA, OpenAI version (test): acc, perplexity',
  defaultFile: 'lambada_openai/lambada_test.jsonl',
  parse(text, source) {
    const rows = parseJsonl(text, source);
    const first = rows[0].value as Record<string, unknown> | null;
    const foundry = first !== null && typeof first === 'object' && 'continuation' in first;
    const expected = foundry ? '{"context": str, "continuation": str} (llm-foundry)' : '{"text": str}';
    const docs = rows.map(({ line, value }) => {
      const f = new Fields(source, line, value, expected);
      // llm-foundry stores the same split: context + " " + continuation is the original text.
      const full = foundry ? `${f.string('context')} ${f.string('continuation')}` : f.string('text');
      const doc = splitLastWord(full);
      if (doc.continuation === ' ')
        throw new DataError(source, line, 'the text ends in a space, so its last word is empty');
      return doc;
    });
    return { docs, format: foundry ? 'llm-foundry' : 'lm-eval', notes: [] };
  },
  async evaluate(docs, context) {
    const { results, requests, unscorable } = await scoreText(docs, context);
    const scored = results.filter((r): r is LoglikelihoodResult => r !== null);
    return {
      n: scored.length,
      requests,
      metrics: {
        acc: meanMetric(scored.map((r) => (r.isGreedy ? 1 : 0))),
        perplexity: perplexityMetric(scored.map((r) => r.logprob)),
      },
      unscorable: unscorableSummary(unscorable.size, unscorable),
    };
  },
};
