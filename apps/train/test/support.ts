/** Running `main` in-process with captured output, plus a micro model config and corpus. */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../src/main.js';

export interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

export async function run(argv: string[]): Promise<Run> {
  let stdout = '';
  let stderr = '';
  const code = await main(argv, {
    stdout: { write: (t: string) => (stdout += t) },
    stderr: { write: (t: string) => (stderr += t) },
  });
  return { code, stdout, stderr };
}

export const BYTE_TOKENIZER = createRequire(import.meta.url).resolve(
  '@dcformer/tokenizer/assets/byte-level/tokenizer.json',
);

/** A temporary directory holding micro.json (dim 32, 2 layers, block 16) and corpus.txt. */
export function workspace(): { dir: string; config: string; corpus: string } {
  const dir = mkdtempSync(join(tmpdir(), 'dcf-train-cli-'));
  const config = join(dir, 'micro.json');
  writeFileSync(
    config,
    JSON.stringify({
      model_type: 'dcformer',
      dim: 32,
      n_head: 4,
      n_layer: 2,
      vocab_size: 257,
      block_size: 16,
      window_size: 8,
      window_type: null,
      use_qk_norm: true,
      q_chunk_size: 16,
    }),
  );
  const corpus = join(dir, 'corpus.txt');
  writeFileSync(
    corpus,
    'MENENIUS:\nI tell you, friends, most charitable care\nHave the patricians of you.\n'.repeat(10),
  );
  return { dir, config, corpus };
}

/** Flags of a quick micro run; a flag in `extra` replaces the default of the same name. */
export function microFlags(w: { config: string; corpus: string }, out: string, extra: string[] = []): string[] {
  const defaults: [string, string][] = [
    ['--config', w.config],
    ['--tokenizer', BYTE_TOKENIZER],
    ['--data', w.corpus],
    ['--out', out],
    ['--steps', '3'],
    ['--batch-size', '2'],
    ['--seq-len', '16'],
    ['--warmup', '1'],
    ['--eval-every', '2'],
    ['--eval-batches', '1'],
    ['--log-every', '1'],
    ['--sample-tokens', '8'],
  ];
  return [...defaults.filter(([flag]) => !extra.includes(flag)).flat(), ...extra];
}
