/**
 * Peak memory of one bench-small training step (forward, backward, AdamW) at a fixed number of tokens
 * per step: B = 8 × T = 512 against B = 2 × T = 2048. Attention memory linear in T keeps the two
 * close; quadratic attention memory would show as a large ratio. Each shape runs in a fresh child
 * process (peak RSS only grows within a process): this module re-runs itself with
 * DCF_BENCH_MEMORY_CHILD set, the child reports its peak RSS after one warm-up step and one measured step.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { initModel, presetConfig } from '@dcformer/model';
import { AdamW } from '@dcformer/train';
import { record, stats, useBackend, type Suite, type SuiteOptions } from './common.js';

const CHILD = 'DCF_BENCH_MEMORY_CHILD';

function rssMb(): number {
  return process.memoryUsage().rss / 2 ** 20;
}

/** Peak RSS (MiB) after a warm-up and a measured training step, and the RSS before them. */
async function stepPeak(
  backend: string,
  config: string,
  B: number,
  T: number,
): Promise<{ peakMb: number; modelMb: number }> {
  await useBackend(backend as SuiteOptions['backend']);
  // long enough for T (bench-small's block_size is 1024); the parameters do not depend on it
  const preset = presetConfig(config);
  const cfg = { ...preset, blockSize: Math.max(preset.blockSize, T) };
  const model = initModel(cfg, 0);
  const vars = [...model.variables.values()];
  const optimizer = new AdamW(model.variables);
  const ids = tf.randomUniform([B, T], 0, cfg.vocabSize, 'int32', 1);
  const before = rssMb();
  for (let i = 0; i < 2; i++) {
    const { value, grads } = tf.variableGrads(() => model.loss(ids) as tf.Scalar, vars);
    value.dataSync();
    optimizer.apply(new Map([...model.variables].map(([n, v]) => [n, grads[v.name]])), 1e-3);
    tf.dispose([value, ...Object.values(grads)]);
  }
  ids.dispose();
  optimizer.dispose();
  model.dispose();
  return { peakMb: process.resourceUsage().maxRSS / 1024, modelMb: before };
}

async function child(spec: string): Promise<void> {
  const [backend, config, B, T] = spec.split(',');
  process.stdout.write(`${JSON.stringify(await stepPeak(backend, config, +B, +T))}\n`);
}

/** The child process's figures (--smoke: in this process; the figures then mean nothing). */
async function measure(o: SuiteOptions, config: string, B: number, T: number) {
  if (o.smoke) return stepPeak(o.backend, config, B, T);
  const r = spawnSync(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url)], {
    env: { ...process.env, [CHILD]: [o.backend, config, B, T].join(','), DCFORMER_QUIET: '1' },
    encoding: 'utf8',
    maxBuffer: 1 << 20,
  });
  const line = r.stdout
    .trim()
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .pop();
  if (r.status !== 0 || line === undefined) {
    throw new Error(
      `bench memory: the child for B ${B} × T ${T} failed (status ${r.status}): ${r.stderr.trim().split('\n').pop()}`,
    );
  }
  return JSON.parse(line) as { peakMb: number; modelMb: number };
}

export const memorySuite: Suite = async (o) => {
  const config = o.smoke ? 'tiny' : 'bench-small';
  const shapes: [number, number][] = o.smoke
    ? [
        [4, 16],
        [1, 64],
      ]
    : [
        [8, 512],
        [2, 2048],
      ];
  const backend = await useBackend(o.backend);
  const peaks: number[] = [];
  for (const [B, T] of shapes) {
    const { peakMb, modelMb } = await measure(o, config, B, T);
    peaks.push(peakMb);
    const label = `${config} B${B} T${T}`;
    o.emit(
      record({ bench: 'memory', backend, config: label, metric: 'step_peak_rss_mb', unit: 'MiB' }, stats([peakMb])),
    );
    o.emit(
      record({ bench: 'memory', backend, config: label, metric: 'before_step_rss_mb', unit: 'MiB' }, stats([modelMb])),
    );
  }
  o.emit(
    record(
      { bench: 'memory', backend, config, metric: 'peak_rss_ratio_long_short', unit: 'x' },
      stats([peaks[1] / peaks[0]]),
    ),
  );
};

if (process.env[CHILD] !== undefined) await child(process.env[CHILD]);
