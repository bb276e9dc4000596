/**
 * One bench-small training step — forward, backward and an AdamW update — for DCFormer
 * (`bench-small`) and Transformer++ (`bench-small-mha`) at batch 8 × 256, as tokens/s, and the
 * DC/MHA step-time ratio. Random ids: the step time does not depend on the data.
 */
import * as tf from '@tensorflow/tfjs';
import { initModel, presetConfig } from '@dcformer/model';
import { peakRssMb, record, stats, useBackend, type Suite } from './common.js';

/** AdamW as in torch.optim.AdamW (decoupled decay on matrices only, DESIGN.md), enough for timing. */
function adamW(vars: tf.Variable[], lr = 1e-3, b1 = 0.9, b2 = 0.95, eps = 1e-8, wd = 0.1) {
  const m = vars.map((v) => tf.variable(tf.zerosLike(v), false));
  const s = vars.map((v) => tf.variable(tf.zerosLike(v), false));
  let step = 0;
  return (grads: tf.NamedTensorMap) => {
    step++;
    const c1 = 1 - b1 ** step;
    const c2 = 1 - b2 ** step;
    tf.tidy(() => vars.forEach((v, i) => {
      const g = grads[v.name];
      m[i].assign(tf.add(tf.mul(m[i], b1), tf.mul(g, 1 - b1)));
      s[i].assign(tf.add(tf.mul(s[i], b2), tf.mul(tf.square(g), 1 - b2)));
      const update = tf.div(tf.div(m[i], c1), tf.add(tf.sqrt(tf.div(s[i], c2)), eps));
      const decayed = v.rank >= 2 ? tf.mul(v, 1 - lr * wd) : v;
      v.assign(tf.sub(decayed, tf.mul(update, lr)));
    }));
  };
}

export const trainSuite: Suite = async (o) => {
  const backend = await useBackend(o.backend);
  const [B, T] = o.smoke ? [2, 16] : [8, 256];
  const configs = o.smoke ? ['tiny'] : ['bench-small', 'bench-small-mha'];
  const medians: Record<string, number> = {};
  for (const name of configs) {
    const cfg = presetConfig(name);
    const model = initModel(cfg, 0);
    const vars = [...model.variables.values()];
    const update = adamW(vars);
    const ids = tf.randomUniform([B, T], 0, cfg.vocabSize, 'int32', 1);
    const times: number[] = [];
    const cpu: number[] = [];
    for (let i = 0; i < o.warmup + o.runs; i++) {
      const c0 = process.cpuUsage();
      const t0 = performance.now();
      const { value, grads } = tf.variableGrads(() => model.loss(ids) as tf.Scalar, vars);
      value.dataSync();
      update(grads);
      tf.dispose([value, ...Object.values(grads)]);
      if (i >= o.warmup) {
        times.push(performance.now() - t0);
        const c = process.cpuUsage(c0);
        cpu.push((c.user + c.system) / 1000);
      }
    }
    const st = stats(times);
    medians[name] = st.median;
    o.emit(record({ bench: 'train', backend, config: name, metric: 'step_ms', unit: 'ms' }, st));
    // CPU time of this process (all its threads): the work done, less sensitive than wall time to
    // other processes sharing the cores
    o.emit(record({ bench: 'train', backend, config: name, metric: 'step_cpu_ms', unit: 'ms' }, stats(cpu)));
    const tps = stats(times.map((t) => (B * T * 1000) / t));
    o.emit(record({ bench: 'train', backend, config: name, metric: 'tokens_per_s', unit: 'tokens/s' }, tps));
    ids.dispose();
    model.dispose();
  }
  if (medians['bench-small'] && medians['bench-small-mha']) {
    const r = medians['bench-small'] / medians['bench-small-mha'];
    o.emit(record({ bench: 'train', backend, config: 'bench-small', metric: 'dc_mha_step_ratio', unit: 'x' }, stats([r])));
  }
  o.emit(record({ bench: 'train', backend, config: configs.join('+'), metric: 'peak_rss_mb', unit: 'MiB' }, stats([peakRssMb()])));
};
