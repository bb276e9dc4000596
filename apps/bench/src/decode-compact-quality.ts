/**
 * Quality of compact weights on a trained model (issue 18), for docs/benchmarks.md:
 *
 *   node --import tsx src/decode-compact-quality.ts --model DIR --text FILE [--max-tokens N] [--window T]
 *
 * For f32, bf16, int8 and int4 (group 64): perplexity of FILE (WikiText-2 test) over non-overlapping
 * windows of T tokens (every token after the first of a window scored once), and the greedy ids of
 * 64 new tokens after each of 10 prompts (the first 16 tokens of the first 10 non-empty lines of FILE
 * long enough), compared with float32's. One JSON line per dtype on stdout.
 */
import * as tf from '@tensorflow/tfjs';
import { registerCpuKernels } from '@dcformer/kernels-cpu';
import { generate } from '@dcformer/model';
import { loadModel } from '@dcformer/model/node';
import { loadTokenizer } from '@dcformer/tokenizer/node';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

function flag(name: string, fallback?: string): string {
  const i = process.argv.indexOf(`--${name}`);
  if (i < 0 || i + 1 >= process.argv.length) {
    if (fallback === undefined) throw new Error(`--${name} is required`);
    return fallback;
  }
  return process.argv[i + 1];
}

const dir = flag('model');
const text = readFileSync(flag('text'), 'utf8');
const maxTokens = Number(flag('max-tokens', '65536'));
const T = Number(flag('window', '256'));
const dtypes = flag('dtypes', 'f32,bf16,int8,int4').split(',');

await tf.setBackend('cpu');
tf.enableProdMode();
process.env.DCFORMER_QUIET = '1';
registerCpuKernels('cpu');
const tokenizer = await loadTokenizer(join(dir, 'tokenizer.json'));
const ids = tokenizer.encode(text).slice(0, maxTokens);
const lines = text.split('\n').filter((l) => l.trim().length > 80);
const prompts = lines.slice(0, 10).map((l) => tokenizer.encode(l).slice(0, 16));

let reference: number[][] | null = null;
for (const dtype of dtypes) {
  const model = await loadModel(dir, { dtype: dtype as 'f32', groupSize: 64 });
  const started = performance.now();
  let nll = 0;
  let count = 0;
  const B = 8;
  const windows: number[][] = [];
  for (let s = 0; s + T <= ids.length; s += T) windows.push(ids.slice(s, s + T));
  for (let w = 0; w < windows.length; w += B) {
    const batch = windows.slice(w, w + B);
    const loss = model.loss(batch);
    nll += loss.dataSync()[0] * batch.length * (T - 1);
    count += batch.length * (T - 1);
    loss.dispose();
  }
  const greedy = prompts.map((p) => generate(model, [p], { maxNewTokens: 64, greedy: true }).newIds[0]);
  reference ??= greedy;
  const same = greedy.filter((g, i) => g.every((id, j) => id === (reference as number[][])[i][j])).length;
  const firstDiff = greedy.map((g, i) => g.findIndex((id, j) => id !== (reference as number[][])[i][j]));
  console.log(
    JSON.stringify({
      model: dir,
      dtype,
      group_size: dtype.startsWith('int') ? 64 : null,
      tokens_scored: count,
      mean_nll: nll / count,
      perplexity: Math.exp(nll / count),
      greedy_equal_prompts: same,
      greedy_first_difference: firstDiff,
      seconds: Math.round((performance.now() - started) / 100) / 10,
    }),
  );
  model.dispose();
}
