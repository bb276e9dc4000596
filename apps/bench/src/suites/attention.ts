/**
 * The fused attention kernel's effect on a bench-small training step (forward, backward, AdamW), at
 * batch 8 × 256 like the train suite, with DCFormer and Transformer++ and with the fused kernel on
 * and off (DCFORMER_FUSED_ATTENTION, read per call) — all four in one process and interleaved step
 * by step, so that load from other processes falls on all of them alike. Reports each one's median
 * step (wall and CPU time of this process) and the DC/MHA ratio as the median of per-round ratios.
 */
import * as tf from '@tensorflow/tfjs';
import { hasFusedAttention } from '@dcformer/kernels';
import { initModel, presetConfig } from '@dcformer/model';
import { AdamW } from '@dcformer/train';
import { record, stats, useBackend, type Suite } from './common.js';

export const attentionSuite: Suite = async (o) => {
  const backend = await useBackend(o.backend);
  const [B, T] = o.smoke ? [2, 16] : [8, 256];
  const configs = o.smoke ? ['tiny', 'tiny'] : ['bench-small', 'bench-small-mha'];
  const fusedModes = hasFusedAttention() ? [true, false] : [false];
  const saved = process.env.DCFORMER_FUSED_ATTENTION;
  const setups = configs.map((name) => {
    const cfg = presetConfig(name);
    const model = initModel(cfg, 0);
    return {
      name,
      model,
      vars: [...model.variables.values()],
      optimizer: new AdamW(model.variables),
      ids: tf.randomUniform([B, T], 0, cfg.vocabSize, 'int32', 1),
    };
  });
  const wall = new Map<string, number[]>();
  const cpu = new Map<string, number[]>();
  const key = (name: string, fused: boolean) => `${name}${fused ? '' : ' (chunked)'}`;
  try {
    for (let i = 0; i < o.warmup + o.runs; i++) {
      for (const fused of fusedModes) {
        process.env.DCFORMER_FUSED_ATTENTION = fused ? '1' : '0';
        for (const s of setups) {
          const c0 = process.cpuUsage();
          const t0 = performance.now();
          const { value, grads } = tf.variableGrads(() => s.model.loss(s.ids) as tf.Scalar, s.vars);
          value.dataSync();
          s.optimizer.apply(new Map([...s.model.variables].map(([n, v]) => [n, grads[v.name]])), 1e-3);
          tf.dispose([value, ...Object.values(grads)]);
          if (i < o.warmup) continue;
          const k = key(s.name, fused);
          const c = process.cpuUsage(c0);
          wall.set(k, [...(wall.get(k) ?? []), performance.now() - t0]);
          cpu.set(k, [...(cpu.get(k) ?? []), (c.user + c.system) / 1000]);
        }
      }
    }
  } finally {
    if (saved === undefined) delete process.env.DCFORMER_FUSED_ATTENTION;
    else process.env.DCFORMER_FUSED_ATTENTION = saved;
    for (const s of setups) {
      s.ids.dispose();
      s.optimizer.dispose();
      s.model.dispose();
    }
  }
  for (const [k, times] of wall) {
    o.emit(record({ bench: 'attention', backend, config: k, metric: 'step_ms', unit: 'ms' }, stats(times)));
    o.emit(
      record(
        { bench: 'attention', backend, config: k, metric: 'step_cpu_ms', unit: 'ms' },
        stats(cpu.get(k) as number[]),
      ),
    );
    o.emit(
      record(
        { bench: 'attention', backend, config: k, metric: 'tokens_per_s', unit: 'tokens/s' },
        stats(times.map((t) => (B * T * 1000) / t)),
      ),
    );
  }
  for (const fused of fusedModes) {
    const dc = wall.get(key(configs[0], fused)) as number[];
    const mha = wall.get(key(configs[1], fused)) as number[];
    const dcCpu = cpu.get(key(configs[0], fused)) as number[];
    const mhaCpu = cpu.get(key(configs[1], fused)) as number[];
    const config = fused ? configs[0] : `${configs[0]} (chunked)`;
    o.emit(
      record(
        { bench: 'attention', backend, config, metric: 'dc_mha_step_ratio', unit: 'x' },
        stats(dc.map((t, i) => t / mha[i])),
      ),
    );
    o.emit(
      record(
        { bench: 'attention', backend, config, metric: 'dc_mha_cpu_ratio', unit: 'x' },
        stats(dcCpu.map((t, i) => t / mhaCpu[i])),
      ),
    );
  }
};
