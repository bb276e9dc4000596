import * as tf from '@tensorflow/tfjs';
import { initModel, presetConfig, prefill, decodeOne } from '@dcformer/model';
tf.enableProdMode();
await tf.setBackend(process.env.BACKEND ?? 'cpu');
const name = process.argv[2] ?? 'bench-small';
const B = +(process.argv[3] ?? 2), T = +(process.argv[4] ?? 256);
const cfg = presetConfig(name);
const model = initModel(cfg, 0);
const vars = [...model.variables.values()];
const ids = tf.randomUniform([B, T], 0, cfg.vocabSize, 'int32');
function agg(prof, label) {
  const m = new Map();
  let tot = 0;
  for (const k of prof.kernels) {
    const key = k.name + ' ' + (k.name.includes('MatMul') ? JSON.stringify(k.inputShapes) : '');
    const e = m.get(key) ?? { ms: 0, n: 0 };
    e.ms += k.kernelTimeMs; e.n++; m.set(key, e); tot += k.kernelTimeMs;
  }
  const rows = [...m.entries()].sort((a, b) => b[1].ms - a[1].ms).slice(0, 30);
  console.log(`== ${label}: total kernel ms ${tot.toFixed(0)}, kernels ${prof.kernels.length}`);
  for (const [k, e] of rows) console.log(e.ms.toFixed(0).padStart(7), String(e.n).padStart(5), k);
}
{
  const t0 = performance.now();
  const prof = await tf.profile(() => { const { value, grads } = tf.variableGrads(() => model.loss(ids), vars); value.dataSync(); tf.dispose(grads); value.dispose(); });
  console.log('train wall ms', (performance.now() - t0).toFixed(0));
  agg(prof, `train step B${B} T${T}`);
}
{
  const prompt = [Array.from({ length: 128 }, (_, i) => (i * 7) % 1000)];
  let t0 = performance.now();
  const { cache } = prefill(model, prompt);
  console.log('prefill ms', (performance.now() - t0).toFixed(0));
  decodeOne(model, cache, [5]);
  t0 = performance.now();
  const prof = await tf.profile(() => { decodeOne(model, cache, [6]); });
  console.log('decode wall ms', (performance.now() - t0).toFixed(0));
  agg(prof, 'decode step b1');
}
