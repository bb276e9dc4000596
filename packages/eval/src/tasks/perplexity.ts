/**
 * Perplexity of text, scored with rolling windows (see windows.ts): every token once, each with at
 * least maxLength − stride + 1 tokens of context. A plain text file is one document; a .jsonl file
 * holds one document per {"text"} row. As in lm-eval's loglikelihood_rolling, each document is
 * preceded by the prefix token (BOS, else end-of-text) so that its first real token is scored too;
 * the prefix itself is never scored. Metrics (lm-eval's wikitext set, over the raw text):
 * word_perplexity (words = runs split by whitespace), byte_perplexity, bits_per_byte (UTF-8 bytes),
 * plus token_perplexity, which depends on the tokenizer.
 */
import { EvalError } from '../errors.js';
import { Fields, parseJsonl } from '../jsonl.js';
import { bitsPerByte, corpusPerplexity } from '../metrics.js';
import type { TaskDefinition } from './types.js';

export interface TextDoc {
  text: string;
}

/** lm-eval's word count: len(re.split(r"\s+", text)). */
export function wordCount(text: string): number {
  return text.split(/\s+/).length;
}

export function utf8Length(text: string): number {
  return new TextEncoder().encode(text).length;
}

export const perplexity: TaskDefinition<TextDoc> = {
  name: 'ppl',
  description: 'perplexity of a text file (one document) or a .jsonl of {"text"} documents, sliding window',
  defaultFile: '',
  parse(text, source) {
    if (source.endsWith('.jsonl')) {
      const docs = parseJsonl(text, source).map(({ line, value }) => ({
        text: new Fields(source, line, value, '{"text": str}').string('text'),
      }));
      return { docs, format: 'jsonl', notes: [] };
    }
    if (text.length === 0) throw new EvalError(`${source}: the text file is empty`);
    return { docs: [{ text }], format: 'text', notes: [] };
  },
  async evaluate(docs, context) {
    if (context.prefixToken === null) {
      throw new EvalError(
        'ppl: needs a prefix token (the tokenizer has no BOS or end-of-text id), otherwise the first token of each document goes unscored',
      );
    }
    const maxLength = context.maxLength ?? context.scorer.maxLength;
    const stride = context.stride ?? maxLength;
    const logprobs: number[] = [];
    const tokens: number[] = [];
    // Progress in tokens: one long text is one document, and documents differ a lot in length.
    const prefix = context.prefixToken;
    const encoded = docs.map((doc) => [prefix, ...context.encoder.encode(doc.text)]);
    const total = encoded.reduce((n, ids) => n + ids.length - 1, 0);
    let before = 0;
    for (const ids of encoded) {
      const r = await context.scorer.rolling(ids, {
        maxLength,
        stride,
        onProgress: (done) => context.onProgress?.(before + done, total, 'tokens'),
      });
      logprobs.push(r.logprob);
      tokens.push(r.tokens);
      before += r.tokens;
      context.onProgress?.(before, total, 'tokens');
    }
    const words = docs.map((d) => wordCount(d.text));
    const bytes = docs.map((d) => utf8Length(d.text));
    return {
      n: docs.length,
      requests: docs.length,
      metrics: {
        word_perplexity: corpusPerplexity(logprobs, words),
        byte_perplexity: corpusPerplexity(logprobs, bytes),
        bits_per_byte: bitsPerByte(logprobs, bytes),
        token_perplexity: corpusPerplexity(logprobs, tokens),
      },
    };
  },
};
