/** What every task is: a parser for its data files and an evaluation over the parsed documents. */
import type { TextEncoderLike } from '../encode.js';
import type { Metric } from '../metrics.js';
import type { Scorer } from '../scorer.js';

export interface TaskContext {
  scorer: Scorer;
  /** Text → ids; every text task needs it. */
  encoder: TextEncoderLike;
  /** The id that stands for "start of text" where a context is empty (lm-eval: BOS, else end-of-text). */
  prefixToken: number | null;
  /** Rolling-window options for perplexity; default the scorer's maxLength and stride = maxLength. */
  maxLength?: number;
  stride?: number;
  /** (done, total, unit) in the task's own units: 'requests' (scorer requests) or 'tokens' (ppl). */
  onProgress?: (done: number, total: number, unit: 'requests' | 'tokens') => void;
}

export interface Dataset<Doc> {
  docs: Doc[];
  /** Which file layout was read, e.g. 'llm-foundry' or 'official'. */
  format: string;
  /** Where these numbers may differ from lm-eval's (another template, missing preprocessing). */
  notes: string[];
}

export interface TaskResult {
  task: string;
  format: string;
  /** Documents evaluated (scored). */
  n: number;
  /**
   * Documents (synthetic: queries) left out because they cannot be scored: a continuation longer
   * than the scorer's maxLength. lm-eval stops at the first; here each is counted and named in
   * `notes`, and the metrics cover the rest.
   */
  skipped: number;
  /** Scorer requests made (after identical ones were merged); documents for perplexity. */
  requests: number;
  metrics: Record<string, Metric>;
  notes: string[];
  /** Per-subtask results (the synthetic tasks report each task_id). */
  subtasks?: TaskResult[];
}

export type TaskMetrics = Pick<TaskResult, 'n' | 'requests' | 'metrics' | 'subtasks'> & {
  /** Unscorable items: how many, and the first one's reason. */
  unscorable?: { count: number; first: string };
};

/** Extra files some formats need, already read (the official PIQA labels live in their own file). */
export interface ParseExtras {
  labels?: { text: string; source: string };
}

export interface TaskDefinition<Doc = unknown> {
  name: string;
  /** One line for --help and the results table. */
  description: string;
  /** Where the file lives under shared/data/eval (the layout of that folder). */
  defaultFile: string;
  parse(text: string, source: string, extras?: ParseExtras): Dataset<Doc>;
  evaluate(docs: Doc[], context: TaskContext): Promise<TaskMetrics>;
}
