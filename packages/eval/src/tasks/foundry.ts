/**
 * ARC-Easy, ARC-Challenge, BoolQ and WinoGrande from llm-foundry's JSONL copies (shared/data/eval/
 * llm-foundry). llm-foundry bakes its own prompt into `query`; each task here turns it back into
 * lm-evaluation-harness's template, and says so in the notes where that cannot be exact.
 */
import { DataError } from '../errors.js';
import { Fields, parseJsonl } from '../jsonl.js';
import { evaluateChoices, promptWithChoices, type ChoiceDoc } from './multiple-choice.js';
import type { Dataset, TaskDefinition } from './types.js';

/** One {query, choices, gold} row, checked. */
export function foundryRow(fields: Fields, minChoices = 2): { query: string; choices: string[]; gold: number } {
  const query = fields.string('query');
  const choices = fields.strings('choices', minChoices);
  if (choices.some((c) => c.length === 0)) fields.fail(`'choices' holds an empty string`);
  const gold = fields.integer('gold', 0, choices.length - 1);
  return { query, choices, gold };
}

const FOUNDRY = '{"query": str, "choices": [str, ...], "gold": int} (llm-foundry)';

function arc(name: string, file: string, level: string): TaskDefinition<ChoiceDoc> {
  return {
    name,
    description: `AI2 Reasoning Challenge, ${level} (test split): acc, acc_norm`,
    defaultFile: `llm-foundry/${file}`,
    parse(text, source): Dataset<ChoiceDoc> {
      const docs = parseJsonl(text, source).map(({ line, value }) => {
        const row = foundryRow(new Fields(source, line, value, FOUNDRY));
        // llm-foundry: "Question: {question}"; lm-eval: "Question: {question}\nAnswer:"
        if (!row.query.startsWith('Question: '))
          throw new DataError(source, line, `'query' must start with "Question: "`);
        return promptWithChoices(`${row.query}\nAnswer:`, row.choices, row.gold);
      });
      return { docs, format: 'llm-foundry', notes: [] };
    },
    evaluate: evaluateChoices,
  };
}

export const arcEasy = arc('arc_easy', 'arc_easy.jsonl', 'Easy');
export const arcChallenge = arc('arc_challenge', 'arc_challenge.jsonl', 'Challenge');

export const boolq: TaskDefinition<ChoiceDoc> = {
  name: 'boolq',
  description: 'BoolQ (validation): acc',
  defaultFile: 'llm-foundry/boolq.jsonl',
  parse(text, source) {
    const prefix = 'Passage: ';
    const docs = parseJsonl(text, source).map(({ line, value }) => {
      const row = foundryRow(new Fields(source, line, value, FOUNDRY));
      // llm-foundry: "Passage: {passage}\nQuestion: {question}?"; lm-eval: "{passage}\nQuestion: {question}?\nAnswer:"
      if (!row.query.startsWith(prefix) || !row.query.includes('\nQuestion: ')) {
        throw new DataError(source, line, `'query' must look like "Passage: ...\\nQuestion: ...?"`);
      }
      return promptWithChoices(`${row.query.slice(prefix.length)}\nAnswer:`, row.choices, row.gold, false);
    });
    return { docs, format: 'llm-foundry', notes: [] };
  },
  evaluate: evaluateChoices,
};

/**
 * Partial scoring (Sakaguchi et al.; lm-eval's winogrande): the blank is filled with each option and
 * only the shared rest of the sentence is scored, so the options compete on what they predict
 * rather than on their own likelihood. llm-foundry stores exactly those two contexts and the rest.
 */
export const winogrande: TaskDefinition<ChoiceDoc> = {
  name: 'winogrande',
  description: 'WinoGrande (winogrande_xl dev), partial scoring: acc',
  defaultFile: 'llm-foundry/winogrande.jsonl',
  parse(text, source) {
    const expected = '{"context_options": [str, str], "continuation": str, "gold": int} (llm-foundry)';
    const docs = parseJsonl(text, source).map(({ line, value }) => {
      const fields = new Fields(source, line, value, expected);
      const contexts = fields.strings('context_options', 2);
      const continuation = fields.string('continuation');
      if (continuation.trim() === '') fields.fail(`'continuation' is empty`);
      const gold = fields.integer('gold', 0, contexts.length - 1);
      return {
        requests: contexts.map((context) => ({ context, continuation: ` ${continuation}` })),
        gold,
        choiceLengths: null,
      };
    });
    return { docs, format: 'llm-foundry', notes: [] };
  },
  evaluate: evaluateChoices,
};
