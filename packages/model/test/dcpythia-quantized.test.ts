// The int8 path of the 6.9B-shaped DCPythia measurement (issue 18), on a 2-layer slice small enough
// for CI: every layout choice of the official DCPythia-6.9B config (parallel residual, 25% rotary,
// linear biases, QK norm, DCMHA with key-wise Compose and 256-token windows, head dim 128), widths
// scaled from dim 4096 / FFN 16384 / vocab 50257 down to 256 / 1024 / 512. A 4096-wide slice takes
// ~400 M weights per two layers, which quantising in JavaScript alone takes ~15 s on the 2-core CI
// machine; the full shape runs only in the benchmark (docs/benchmarks.md). The checkpoint is written
// by writeQuantizedFrom (rows quantised slice by slice, never a whole float32 weight), read back
// by loadModel and decoded; its logits equal loading the same weights from float32 with
// `dtype: 'int8'`, and the float32 forward of the dequantised weights within 1e-4.
import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { configToJson, resolveConfig } from '../src/config.js';
import { compactWeightsOf, weightBytes, weightBytesOf } from '../src/compact.js';
import { generate } from '../src/generate.js';
import type { DcformerModel } from '../src/model.js';
import { loadModel, writeFileAtomic, writeQuantizedFrom, writeSafetensorsWeights } from '../src/node.js';
import { presetConfig } from '../src/presets.js';
import { rowsOf } from '../src/compact-load.js';
import { weightSpecs } from '../src/weights.js';
import { assignDequantised } from './dequantised.js';

const work = await mkdtemp(join(tmpdir(), 'dcf-dcpythia-q-'));
afterAll(() => rm(work, { recursive: true, force: true }));
beforeAll(async () => {
  await tf.setBackend('cpu');
});

const full = presetConfig('dcpythia-6.9b');
const config = resolveConfig({
  ...configToJsonless(full),
  nLayer: 2,
  dim: 256,
  nHead: 2, // head dim 128, as 4096 / 32
  intermediateSize: 1024,
  vocabSize: 512,
});

/** The preset's own fields, minus those resolveConfig derives from the widths. */
function configToJsonless(c: typeof full) {
  const { family, ropeBase, normEps, useQkNorm, useDcmha, keyWise, windowSize, windowType, qChunkSize, blockSize } = c;
  return {
    family,
    ropeBase,
    normEps,
    useQkNorm,
    useDcmha,
    keyWise,
    windowSize,
    windowType,
    qChunkSize,
    blockSize,
    rotaryPct: c.rotaryPct,
    useParallelResidual: c.useParallelResidual,
    useLinearBias: c.useLinearBias,
  };
}

/** Deterministic weights: norms 1, everything else a small hash-seeded pattern. */
function rows(name: string, shape: readonly number[], n0: number, n1: number): Float32Array {
  const [, K] = rowsOf(shape);
  const out = new Float32Array((n1 - n0) * K);
  if (/norm.*weight$/.test(name)) return out.fill(1);
  let h = 0;
  for (const c of name) h = (h * 31 + c.charCodeAt(0)) >>> 0;
  for (let i = 0; i < out.length; i++) out[i] = Math.sin((n0 * K + i) * 0.61803 + h) * 0.04;
  return out;
}

function logits(model: DcformerModel, ids: number[][]): Float32Array {
  const y = model.forward(ids);
  const out = y.dataSync() as Float32Array;
  y.dispose();
  return out;
}

function maxDiff(a: Float32Array, b: Float32Array): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

it('the slice keeps the 6.9B layout: same weight names per layer, shapes scaled', () => {
  const names = (c: typeof full) => weightSpecs({ ...c, nLayer: 1 }).map((s) => s.official);
  expect(names(config)).toEqual(names(full));
  expect(config).toMatchObject({ family: 'dcpythia', useParallelResidual: true, useLinearBias: true, rotaryPct: 0.25 });
  expect(config.dim / config.nHead).toBe(full.dim / full.nHead);
});

it('writeQuantizedFrom → loadModel → decode: int8 weights, logits = loading from float32 and ≈ the dequantised forward', async () => {
  const qDir = join(work, 'int8');
  const block = await writeQuantizedFrom(qDir, config, 'int8', rows);
  expect(block).toMatchObject({ format: 'int8', group_size: 64, scales_dtype: 'F32' });
  expect(JSON.parse(await readFile(join(qDir, 'config.json'), 'utf8')).quantization.modules).toEqual(block.modules);

  // the same weights as a float32 checkpoint
  const fDir = join(work, 'f32');
  await writeSafetensorsWeights(
    fDir,
    new Map(
      weightSpecs(config).map((s) => [
        s.official,
        { shape: s.shape, data: rows(s.official, s.shape, 0, rowsOf(s.shape)[0]) },
      ]),
    ),
  );
  await writeFileAtomic(join(fDir, 'config.json'), JSON.stringify(configToJson(config)));

  const model = await loadModel(qDir);
  expect(compactWeightsOf(model).size).toBe(block.modules.length);
  expect(weightBytes(model).total).toBe(weightBytesOf(config, 'int8', 64));
  const packedOnLoad = await loadModel(fDir, { dtype: 'int8' });
  const ids = [[5, 300, 17, 511, 42, 8]];
  expect(maxDiff(logits(model, ids), logits(packedOnLoad, ids))).toBe(0);

  const twin = await loadModel(fDir);
  for (const [name, w] of compactWeightsOf(model)) {
    const v = twin.variables.get(name) as tf.Variable;
    assignDequantised(v, name, w);
  }
  expect(maxDiff(logits(model, ids), logits(twin, ids))).toBeLessThanOrEqual(1e-4);

  const before = tf.memory().numTensors;
  const a = generate(model, ids, { maxNewTokens: 6 });
  const b = generate(twin, ids, { maxNewTokens: 6 });
  expect(tf.memory().numTensors).toBe(before);
  expect(a.ids[0].length).toBe(12);
  expect(a.ids).toEqual(b.ids);
  for (const m of [model, packedOnLoad, twin]) m.dispose();
});
