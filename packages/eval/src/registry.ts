/** Every task by its command-line name (DESIGN.md "Command-line contracts"). */
import { EvalError } from './errors.js';
import { arcChallenge, arcEasy, boolq, winogrande } from './tasks/foundry.js';
import { hellaswag } from './tasks/hellaswag.js';
import { lambadaOpenai } from './tasks/lambada.js';
import { perplexity } from './tasks/perplexity.js';
import { piqa } from './tasks/piqa.js';
import { dcformerSynthetic } from './tasks/synthetic.js';
import type { TaskDefinition } from './tasks/types.js';

/** Tasks that produce metrics. `loglikelihood` and `rolling` are request modes (tasks/requests.ts). */
// biome-ignore lint/suspicious/noExplicitAny: the registry holds tasks of different item types; getTask callers narrow by name
export const TASKS: Readonly<Record<string, TaskDefinition<any>>> = Object.freeze({
  lambada_openai: lambadaOpenai,
  piqa,
  arc_easy: arcEasy,
  arc_challenge: arcChallenge,
  winogrande,
  hellaswag,
  boolq,
  dcformer_synthetic: dcformerSynthetic,
  ppl: perplexity,
});

export const REQUEST_MODES = ['loglikelihood', 'rolling'] as const;
export type RequestMode = (typeof REQUEST_MODES)[number];

export const TASK_NAMES: readonly string[] = [...Object.keys(TASKS), ...REQUEST_MODES];

export function isRequestMode(name: string): name is RequestMode {
  return (REQUEST_MODES as readonly string[]).includes(name);
}

/** The task called `name`, or an error listing the valid names. */
// biome-ignore lint/suspicious/noExplicitAny: see TASKS
export function getTask(name: string): TaskDefinition<any> {
  const task = Object.hasOwn(TASKS, name) ? TASKS[name] : undefined;
  if (task === undefined) throw new EvalError(`unknown task '${name}' (one of: ${TASK_NAMES.join(', ')})`);
  return task;
}
