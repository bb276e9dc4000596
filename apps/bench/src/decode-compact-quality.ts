/**
 * Quality of compact weights on a trained model (issue 18), for docs/benchmarks.md:
 *
 *   node --import tsx src/decode-compact-quality.ts --model DIR --text FILE [--max-tokens N] [--window T]
 *
 * For f32, bf16, int8 and int4 (group 64): perplexity of FILE (WikiText-2 test) over non-overlapping
 * windows of T tokens (every token after the first of a window scored once), and the greedy ids of
 * 64 new tokens after each of 10 prompts (the first 16 tokens of the first 10 non-empty lines of FILE
 * long enough), compared with float32's. One JSON line per dtype on stdout.
 *
 * `--diagnose bf16` (or another dtype) instead explains each prompt whose greedy ids differ from
 * float32's: at the first differing step (same prefix for all models) it prints float32's top-2
 * logit margin, the compact model's, how far the compact weights moved the logits there (max and
 * RMS over the vocabulary, and the change of the top-2 difference), and the same for a float32
 * model holding the compact weights' dequantised values (the float32 kernels): if that twin's logits
 * match the compact model's to float noise, nothing but the weight rounding differs between formats.
 * With `--keep-head` it instead reports the greedy ids of a model whose output head and embedding
 * stay float32 and whose other compact weights take their compact values (the option not built).
 */
import * as tf from '@tensorflow/tfjs';
import { registerCpuKernels } from '@dcformer/kernels-cpu';
import { compactWeightsOf, dequantisedOfficial, generate } from '@dcformer/model';
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

const diagnose = process.argv.includes('--diagnose') ? flag('diagnose') : null;
if (diagnose !== null) {
  await runDiagnosis(diagnose as 'bf16');
  process.exit(0);
}

/** Logits [V] of the last position of `ids`. */
function lastLogits(model: Awaited<ReturnType<typeof loadModel>>, ids: number[]): Float32Array {
  return tf.tidy(() => {
    const y = model.forward([ids]);
    const V = y.shape[2] as number;
    return y.slice([0, ids.length - 1, 0], [1, 1, V]).dataSync() as Float32Array;
  });
}

function top2(l: Float32Array): { first: number; second: number; margin: number } {
  let a = 0;
  let b = 1;
  if (l[b] > l[a]) [a, b] = [b, a];
  for (let i = 2; i < l.length; i++) {
    if (l[i] > l[a]) [a, b] = [i, a];
    else if (l[i] > l[b]) b = i;
  }
  return { first: a, second: b, margin: l[a] - l[b] };
}

function moved(x: Float32Array, y: Float32Array): { max: number; rms: number } {
  let max = 0;
  let sq = 0;
  for (let i = 0; i < x.length; i++) {
    const d = Math.abs(x[i] - y[i]);
    max = Math.max(max, d);
    sq += d * d;
  }
  return { max, rms: Math.sqrt(sq / x.length) };
}

async function runDiagnosis(dtype: 'bf16' | 'f16' | 'int8' | 'int4'): Promise<void> {
  const f32 = await loadModel(dir);
  const compact = await loadModel(dir, { dtype, groupSize: 64 });
  // float32 model holding the compact weights' exact dequantised values: runs the float32 kernels
  const twin = await loadModel(dir);
  for (const [name, w] of compactWeightsOf(compact)) {
    const v = twin.variables.get(name) as tf.Variable;
    tf.tidy(() => v.assign(tf.tensor(dequantisedOfficial(name, w), v.shape)));
  }
  if (process.argv.includes('--keep-head')) {
    // What keeping the output head and the embedding in float32 would do, before building it: a
    // float32 model with only the other compact weights at their compact values (the twin above
    // matches the compact model to float noise, so this is that option's model).
    const partial = await loadModel(dir);
    for (const [name, w] of compactWeightsOf(compact)) {
      if (name === 'output.weight' || name === 'tok_embeddings.weight') continue;
      const v = partial.variables.get(name) as tf.Variable;
      tf.tidy(() => v.assign(tf.tensor(dequantisedOfficial(name, w), v.shape)));
    }
    let equal = 0;
    const firstDifference: number[] = [];
    for (const p of prompts) {
      const ref = generate(f32, [p], { maxNewTokens: 64, greedy: true }).newIds[0];
      const got = generate(partial, [p], { maxNewTokens: 64, greedy: true }).newIds[0];
      const d = got.findIndex((id, j) => id !== ref[j]);
      if (d < 0) equal++;
      firstDifference.push(d);
    }
    console.log(
      JSON.stringify({ keep_head_f32: dtype, greedy_equal_prompts: equal, greedy_first_difference: firstDifference }),
    );
    return;
  }
  const margins: number[] = [];
  for (const [i, p] of prompts.entries()) {
    const ref = generate(f32, [p], { maxNewTokens: 64, greedy: true }).newIds[0];
    const got = generate(compact, [p], { maxNewTokens: 64, greedy: true }).newIds[0];
    const viaTwin = generate(twin, [p], { maxNewTokens: 64, greedy: true }).newIds[0];
    // f32's own margins along its greedy path: how close to a tie its choices usually are
    for (let j = 0; j < ref.length; j++) margins.push(top2(lastLogits(f32, [...p, ...ref.slice(0, j)])).margin);
    const d = got.findIndex((id, j) => id !== ref[j]);
    const record: Record<string, unknown> = {
      prompt: i,
      equal: d < 0,
      twin_ids_equal_compact: viaTwin.every((id, j) => id === got[j]),
    };
    if (d >= 0) {
      const prefix = [...p, ...ref.slice(0, d)];
      const lf = lastLogits(f32, prefix);
      const lc = lastLogits(compact, prefix);
      const lt = lastLogits(twin, prefix);
      const tf32 = top2(lf);
      const tc = top2(lc);
      const shift = lc[tf32.first] - lc[tf32.second] - (lf[tf32.first] - lf[tf32.second]);
      Object.assign(record, {
        first_difference: d,
        f32_top2: [tf32.first, tf32.second],
        f32_margin: tf32.margin,
        compact_top2: [tc.first, tc.second],
        compact_margin: tc.margin,
        compact_minus_f32_logits: moved(lc, lf),
        compact_change_of_f32_top2_difference: shift,
        twin_minus_compact_logits: moved(lt, lc),
      });
    }
    console.log(JSON.stringify(record));
  }
  margins.sort((a, b) => a - b);
  const q = (f: number) => margins[Math.floor(f * (margins.length - 1))];
  console.log(
    JSON.stringify({
      f32_greedy_margins: { count: margins.length, min: q(0), p05: q(0.05), p10: q(0.1), median: q(0.5) },
    }),
  );
}

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
