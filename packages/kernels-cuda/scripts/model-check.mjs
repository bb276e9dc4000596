#!/usr/bin/env node
// A DCFormer model on the `cuda` backend, for scripts/gpu-check.sh: one training step (forward,
// backward, AdamW through @dcformer/train's Trainer) and a cached prefill + decode of a preset
// (bench-small by default) from random weights and ids, printing the times, the loss, the device
// memory and the number of kernel calls that fell back to the cpu backend (and which kernels).
// With --compare, a small input (1 × 32 tokens) also runs forward on the stock cpu backend: every
// logit and the loss are compared (|Δloss| ≤ 1e-4, |Δlogit| ≤ 1e-3: float32 on different hardware
// and summation orders). Exit status 1 when anything fell back or a comparison fails.
//
//   node scripts/model-check.mjs [--preset bench-small] [--batch 4] [--seq 128] [--decode 32] [--compare]
//   DCF_CUDA_VARIANT=host node scripts/model-check.mjs --preset tiny --batch 2 --seq 32   (dry run, no GPU)
//
// Needs the workspace installed and built (node_modules, and dist/ of this package, model and train).
import { performance } from 'node:perf_hooks';
import * as tf from '@tensorflow/tfjs';
import { decodeOneAsync, initModel, prefillAsync, presetConfig } from '@dcformer/model';
import { Trainer } from '@dcformer/train';
import { registerCudaBackend } from '../dist/index.js';

const argv = process.argv.slice(2);
const opt = (name, fallback) => (argv.includes(`--${name}`) ? argv[argv.indexOf(`--${name}`) + 1] : fallback);
const preset = opt('preset', 'bench-small');
const [B, T, decodeSteps] = [Number(opt('batch', 4)), Number(opt('seq', 128)), Number(opt('decode', 32))];
const compare = argv.includes('--compare');
if (![B, T, decodeSteps].every((n) => Number.isInteger(n) && n > 0)) {
  console.error('model-check: --batch, --seq and --decode must be positive integers');
  process.exit(2);
}

tf.enableProdMode(); // no tfjs console banner in the table
const registered = registerCudaBackend({ log: (line) => console.log(`  ${line}`) });
if (!registered.registered) {
  console.log(`cuda backend: not registered (${registered.reason})`);
  process.exit(1);
}
console.log(`cuda backend: ${registered.reason}`);
const config = presetConfig(preset);
const V = config.vocabSize;
const ids = (rows, cols, seed) =>
  Array.from({ length: rows }, (_, b) =>
    Array.from({ length: cols }, (_, t) => (seed * 7919 + b * 104729 + t * 31337) % V),
  );
const ms = (t0) => (performance.now() - t0).toFixed(1);

await tf.setBackend('cuda');
const model = initModel(config, 0);
const trainer = new Trainer(model, { schedule: { lr: 1e-3, warmupSteps: 1, totalSteps: 10, finalFraction: 0.1 } });
const batch = tf.tensor2d(ids(B, T, 1), undefined, 'int32');
for (const step of [1, 2]) {
  const t0 = performance.now();
  const r = await trainer.trainStepAsync([batch]);
  console.log(
    `train step ${step} (${preset}, ${B} × ${T}): ${ms(t0)} ms, loss ${r.loss.toFixed(5)}, grad norm ${r.gradNorm.toFixed(4)}`,
  );
}
batch.dispose();
const prompt = ids(1, Math.min(64, T), 2);
let t0 = performance.now();
const { cache, lastLogits } = await prefillAsync(model, prompt);
console.log(`prefill of ${prompt[0].length} tokens: ${ms(t0)} ms`);
t0 = performance.now();
let next = lastLogits[0].indexOf(Math.max(...lastLogits[0]));
for (let i = 0; i < decodeSteps; i++) {
  const [logits] = await decodeOneAsync(model, cache, [next]);
  next = logits.indexOf(Math.max(...logits));
}
const decodeMs = performance.now() - t0;
console.log(
  `decode: ${decodeSteps} tokens in ${decodeMs.toFixed(1)} ms (${((decodeSteps / decodeMs) * 1000).toFixed(1)} tokens/s)`,
);
cache.dispose();
console.log(
  `device memory held: ${(tf.memory().numBytesInDevice / 2 ** 20).toFixed(1)} MiB in ${tf.memory().numTensors} tensors`,
);
trainer.dispose();
model.dispose();

let failed = false;
if (compare) {
  // Forward only on the cpu backend: its gradient of the embedding (UnsortedSegmentSum over the
  // vocabulary) takes minutes at bench-small's size. The cuda loss (forward, backward, the device
  // cross-entropy kernel) is checked against the loss of the cpu logits, computed here in float64.
  const small = ids(1, 32, 3);
  const T1 = small[0].length;
  const run = async (backend) => {
    await tf.setBackend(backend);
    const m = initModel(config, 0);
    const logits = tf.tidy(() => m.forward(small));
    const data = await logits.data();
    logits.dispose();
    let loss = null;
    if (backend === 'cuda') {
      const r = await m.lossAndGradsAsync(small);
      tf.dispose([...r.grads.values()]);
      loss = r.loss;
    }
    m.dispose();
    return { data, loss };
  };
  const gpu = await run('cuda');
  const cpu = await run('cpu');
  let cpuLoss = 0;
  for (let t = 0; t + 1 < T1; t++) {
    const row = cpu.data.subarray(t * V, (t + 1) * V);
    const max = row.reduce((m, v) => Math.max(m, v), -Infinity);
    const lse = max + Math.log(row.reduce((acc, v) => acc + Math.exp(v - max), 0));
    cpuLoss += (lse - row[small[0][t + 1]]) / (T1 - 1);
  }
  const dLoss = Math.abs(gpu.loss - cpuLoss);
  const dLogit = gpu.data.reduce((m, v, i) => Math.max(m, Math.abs(v - cpu.data[i])), 0);
  failed = dLoss > 1e-4 || dLogit > 1e-3;
  console.log(
    `vs the cpu backend (1 × ${T1} tokens): |Δloss| ${dLoss.toExponential(2)}, max |Δlogit| ${dLogit.toExponential(2)}${failed ? '  MISMATCH' : ''}`,
  );
}

const fallbacks = tf.findBackend('cuda').fallbacks();
const calls = [...fallbacks.values()].reduce((a, b) => a + b, 0);
console.log(
  `fallbacks to the cpu backend: ${calls} call(s)${calls > 0 ? ` (${[...fallbacks].map(([k, n]) => `${k} × ${n}`).join(', ')})` : ''}`,
);
process.exit(calls > 0 || failed ? 1 : 0);
