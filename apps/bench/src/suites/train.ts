/**
 * One bench-small training step — forward, backward and an AdamW update — for DCFormer
 * (`bench-small`) and Transformer++ (`bench-small-mha`) at batch 8 × 256, as tokens/s, and the
 * DC/MHA step-time ratio. The update is @dcformer/train's AdamW, what dcformer-train runs. Random
 * ids: the step time does not depend on the data.
 */
import * as tf from '@tensorflow/tfjs';
import { initModel, presetConfig } from '@dcformer/model';
import { AdamW } from '@dcformer/train';
import { peakRssMb, record, stats, useBackend, type Suite } from './common.js';

export const trainSuite: Suite = async (o) => {
  const backend = await useBackend(o.backend);
  const [B, T] = o.smoke ? [2, 16] : [8, 256];
  const configs = o.smoke ? ['tiny'] : ['bench-small', 'bench-small-mha'];
  const medians: Record<string, number> = {};
  for (const name of configs) {
    const cfg = presetConfig(name);
    const model = initModel(cfg, 0);
    const vars = [...model.variables.values()];
    const optimizer = new AdamW(model.variables);
    const ids = tf.randomUniform([B, T], 0, cfg.vocabSize, 'int32', 1);
    const times: number[] = [];
    const cpu: number[] = [];
    for (let i = 0; i < o.warmup + o.runs; i++) {
      const c0 = process.cpuUsage();
      const t0 = performance.now();
      const { value, grads } = tf.variableGrads(() => model.loss(ids) as tf.Scalar, vars);
      value.dataSync();
      optimizer.apply(new Map([...model.variables].map(([n, v]) => [n, grads[v.name]])), 1e-3);
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
    optimizer.dispose();
    model.dispose();
  }
  if (medians['bench-small'] && medians['bench-small-mha']) {
    const r = medians['bench-small'] / medians['bench-small-mha'];
    o.emit(
      record({ bench: 'train', backend, config: 'bench-small', metric: 'dc_mha_step_ratio', unit: 'x' }, stats([r])),
    );
  }
  o.emit(
    record(
      { bench: 'train', backend, config: configs.join('+'), metric: 'peak_rss_mb', unit: 'MiB' },
      stats([peakRssMb()]),
    ),
  );
};
