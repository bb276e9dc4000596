/**
 * Generation on bench-small: prefill 128 prompt tokens, then 128 greedy decode steps with the
 * KV+KW cache, at batch 1 and 4. decode tokens/s counts new tokens of all rows over decode time.
 */
import * as tf from '@tensorflow/tfjs';
import { generate, initModel, presetConfig } from '@dcformer/model';
import { peakRssMb, record, stats, useBackend, type Suite } from './common.js';

export const decodeSuite: Suite = async (o) => {
  const backend = await useBackend(o.backend);
  const config = o.smoke ? 'tiny' : 'bench-small';
  const [P, NEW] = o.smoke ? [8, 4] : [128, 128];
  const cfg = presetConfig(config);
  const model = initModel(cfg, 0);
  const prompt = (row: number) => Array.from({ length: P }, (_, i) => (i * 131 + row * 17 + 7) % cfg.vocabSize);
  const prefill: number[] = [];
  for (const batch of [1, 4]) {
    const prompts = Array.from({ length: batch }, (_, b) => prompt(b));
    const rates: number[] = [];
    for (let i = 0; i < o.warmup + o.runs; i++) {
      const r = generate(model, prompts, { maxNewTokens: NEW });
      if (i < o.warmup) continue;
      rates.push(r.decodeTokensPerS);
      if (batch === 1) prefill.push(r.prefillMs);
    }
    o.emit(
      record(
        { bench: 'decode', backend, config, metric: `decode_tokens_per_s_b${batch}`, unit: 'tokens/s' },
        stats(rates),
      ),
    );
  }
  o.emit(record({ bench: 'decode', backend, config, metric: `prefill_ms_${P}`, unit: 'ms' }, stats(prefill)));
  o.emit(record({ bench: 'decode', backend, config, metric: 'peak_rss_mb', unit: 'MiB' }, stats([peakRssMb()])));
  model.dispose();
  tf.disposeVariables();
};
