import * as tf from '@tensorflow/tfjs';
import { initModel, presetConfig } from '@dcformer/model';
tf.enableProdMode();
await tf.setBackend('cpu');
const name = process.argv[2] ?? 'tiny';
const B = +(process.argv[3] ?? 16), T = +(process.argv[4] ?? 128);
const cfg = presetConfig(name);
if (process.argv[5] === 'mha') cfg.useDcmha = false;
const model = initModel(cfg, 0);
const vars = [...model.variables.values()];
const ids = tf.randomUniform([B, T], 0, cfg.vocabSize, 'int32');
for (let i = 0; i < 4; i++) {
  const t0 = performance.now();
  const { value, grads } = tf.variableGrads(() => model.loss(ids), vars);
  const l = value.dataSync()[0];
  const t1 = performance.now();
  tf.dispose(grads); value.dispose();
  console.log(i, l.toFixed(3), ((t1 - t0)).toFixed(0), 'ms', (B*T/((t1-t0)/1000)).toFixed(0), 'tok/s', tf.memory().numTensors);
}
