/**
 * DCMHA inside MUDD blocks (issue 21): Compose with query-wise weights from the query stream and
 * key-wise weights from the key stream. Pinned down three ways: with use_dcmha off the model is the
 * official MUDD oracle; with the dense connections set to the plain residual and weights mapped from a
 * DCFormer model it is that DCFormer model; and its cached path equals its full forward.
 */
import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-core/dist/register_all_gradients';
import { beforeAll, describe, expect, it } from 'vitest';
import { compareClose, flattenNested } from '@dcformer/kernels/testing';
import { modelFromWeights, modelWeights, type NamedArray } from '../src/checkpoint.js';
import { parseConfig, resolveConfig, type ModelConfig } from '../src/config.js';
import { cachedLogits, generate } from '../src/generate.js';
import { initModel, seededNormal } from '../src/init.js';
import { readCheckpointWeights } from '../src/node.js';
import { weightSpecs } from '../src/weights.js';
import { MUDD_TOL, muddCaseDir, muddGolden } from './mudd-oracle.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const shared = { dim: 64, nHead: 4, nLayer: 4, vocabSize: 96, blockSize: 64, useQkNorm: true, normEps: 1e-6 };
// Global attention and no mgate, so every DCFormer layer has a MUDD counterpart.
const DC = resolveConfig({ ...shared, family: 'dcformer', intermediateSize: 128, windowSize: null, mgate: false });
// MUDD FFN widths are 128·round(256·(i/3 + 0.5)/128) = 128, 256, 256, 384 ≥ DCFormer's 128.
const MUDD = resolveConfig({
  ...shared,
  family: 'muddformer',
  intermediateSize: 256,
  useDcmha: true,
  expandLast: true,
  round64: true,
});

function logitsOf(model: { forward: (ids: number[][]) => tf.Tensor }, ids: number[][]): Float32Array {
  return tf.tidy(() => model.forward(ids).dataSync() as Float32Array);
}

/** Zero rows (or columns) appended: extra SwiGLU units with zero weights add exact zeros. */
function padRows(w: NamedArray, rows: number): NamedArray {
  const [r, c] = w.shape;
  const data = new Float32Array(rows * c);
  data.set(w.data);
  expect(rows).toBeGreaterThanOrEqual(r);
  return { shape: [rows, c], data };
}
function padCols(w: NamedArray, cols: number): NamedArray {
  const [r, c] = w.shape;
  const data = new Float32Array(r * cols);
  for (let i = 0; i < r; i++) data.set(w.data.subarray(i * c, (i + 1) * c), i * cols);
  return { shape: [r, cols], data };
}

/** The DCFormer weights laid out as a MUDD×DCMHA model whose dense connections are the plain residual. */
function muddFromDcformer(dc: Map<string, NamedArray>, mudd: ModelConfig): Map<string, NamedArray> {
  const D = mudd.dim;
  const out = new Map<string, NamedArray>();
  const get = (name: string) => dc.get(name) as NamedArray;
  for (const spec of weightSpecs(mudd)) {
    const name = spec.official;
    let m: RegExpMatchArray | null;
    let w: NamedArray;
    if ((m = name.match(/^layers\.(\d+)\.attention\.w([qkv])\.weight$/))) {
      const part = 'qkv'.indexOf(m[2]); // wqkv rows: [q | k | v]
      const all = get(`layers.${m[1]}.attention.wqkv.weight`);
      w = { shape: [D, D], data: all.data.slice(part * D * D, (part + 1) * D * D) };
    } else if ((m = name.match(/^layers\.(\d+)\.attention\.([qk])_norm\.weight$/))) {
      w = get(`layers.${m[1]}.attention.${m[2]}_norm.scale`);
    } else if ((m = name.match(/^layers\.(\d+)\.attention_norms\.\d\.weight$/))) {
      w = get(`layers.${m[1]}.attention_norm.weight`); // one norm copied to the three streams
    } else if ((m = name.match(/^layers\.(\d+)\.feed_forward\.(w1|w3)\.weight$/))) {
      w = padRows(get(name), spec.shape[0]);
    } else if ((m = name.match(/^layers\.(\d+)\.feed_forward\.w2\.weight$/))) {
      w = padCols(get(name), spec.shape[1]);
    } else if (name.startsWith('dense_bs.')) {
      const [C, L] = spec.shape;
      const data = new Float32Array(C * L);
      for (let c = 0; c < C; c++) data[c * L + L - 1] = 1; // every stream takes X_{i+1}
      w = { shape: spec.shape, data };
    } else if (name.startsWith('dynamic_dense.')) {
      const data = new Float32Array(spec.shape.reduce((a, b) => a * b, 1));
      if (name.endsWith('w1.weight')) data.fill(0.25); // anything: w2 = 0 makes the dynamic part zero
      w = { shape: spec.shape, data };
    } else {
      w = get(name);
    }
    expect(w.shape, name).toEqual(spec.shape);
    out.set(name, w);
  }
  return out;
}

/** DCFormer weights whose Compose clearly matters: the dynamic projections scaled up from their tiny init. */
function dcformerWeights(): Map<string, NamedArray> {
  const init = initModel(DC, 11);
  const w = modelWeights(init);
  init.dispose();
  // the merged compatibility copies would disagree with the edited dw1/qkw/dd
  for (const name of [...w.keys()]) if (/\.(dw_m|qkw_m)$/.test(name)) w.delete(name);
  const normal = seededNormal(5);
  for (const [name, a] of w) {
    if (/dyn_w_proj\.(qkw|dd)$/.test(name)) for (let i = 0; i < a.data.length; i++) a.data[i] = 0.3 * normal();
  }
  return w;
}

const ids = [
  [3, 17, 91, 4, 4, 60, 22, 8, 71, 35, 2, 19, 88, 40, 5, 63, 30, 11, 77, 9],
  [50, 1, 45, 12, 33, 33, 7, 90, 26, 14, 58, 3, 69, 81, 0, 24, 47, 16, 95, 38],
];

describe('MUDD×DCMHA', () => {
  it('with use_dcmha off (stated explicitly) is the official MUDD model', async () => {
    const name = 'case_m1_muddformer';
    const g = muddGolden(name);
    const { readFileSync } = await import('node:fs');
    const json = JSON.parse(readFileSync(`${muddCaseDir(name)}/config.json`, 'utf8'));
    const config = parseConfig({ ...json, use_dcmha: false }, { onWarning: () => {} });
    const model = modelFromWeights(config, await readCheckpointWeights(muddCaseDir(name)));
    try {
      const expected = flattenNested(g.train.logits);
      const rep = compareClose(logitsOf(model, g.input_ids), expected.data, expected.shape, {
        atol: MUDD_TOL.logits,
        label: 'use_dcmha false',
      });
      expect(rep.ok, rep.message).toBe(true);
    } finally {
      model.dispose();
    }
  });

  it('with the dense connections set to the plain residual equals the DCFormer model it was mapped from (1e-5)', () => {
    const dcW = dcformerWeights();
    const dc = modelFromWeights(DC, dcW);
    const mudd = modelFromWeights(MUDD, muddFromDcformer(dcW, MUDD));
    const noCompose = modelFromWeights(
      { ...DC, useDcmha: false },
      new Map([...dcW].filter(([n]) => !n.includes('dyn_w_proj'))),
      { onWarning: () => {} },
    );
    try {
      const want = logitsOf(dc, ids);
      const got = logitsOf(mudd, ids);
      const rep = compareClose(got, want, [2, ids[0].length, DC.vocabSize], {
        atol: 1e-5,
        label: 'MUDD×DCMHA vs DCFormer',
      });
      console.log(rep.message);
      expect(rep.ok, rep.message).toBe(true);
      // and Compose is doing something here: without it the logits move far beyond 1e-5
      const plain = logitsOf(noCompose, ids);
      let moved = 0;
      for (let i = 0; i < want.length; i++) moved = Math.max(moved, Math.abs(plain[i] - want[i]));
      expect(moved).toBeGreaterThan(1e-2);
    } finally {
      [dc, mudd, noCompose].forEach((m) => m.dispose());
    }
  });

  it('with random dense connections: cached prefill + decode equals the full forward, gradients for every parameter', async () => {
    const model = initModel(MUDD, 4);
    // move the MUDD weights off their residual init so q, k and v streams differ
    const w = modelWeights(model);
    model.dispose();
    const normal = seededNormal(9);
    for (const [name, a] of w) {
      if (/^(dense_bs|dynamic_dense\.\d+\.w2)/.test(name))
        for (let i = 0; i < a.data.length; i++) a.data[i] += 0.3 * normal();
      if (/dyn_w_proj\.(qkw|dd)$/.test(name)) for (let i = 0; i < a.data.length; i++) a.data[i] = 0.3 * normal();
    }
    const m = modelFromWeights(MUDD, w);
    try {
      const full = logitsOf(m, ids);
      const cached = await cachedLogits(m, ids, 7);
      // left-padded batches: a row's greedy tokens do not depend on its neighbour
      const long = ids[0].slice(0, 9);
      const short = ids[1].slice(0, 3);
      const batched = generate(m, [long, short], { maxNewTokens: 5 }).ids;
      expect(batched[0]).toEqual(generate(m, [long], { maxNewTokens: 5 }).ids[0]);
      expect(batched[1]).toEqual(generate(m, [short], { maxNewTokens: 5 }).ids[0]);
      const rep = compareClose(cached, full, [2, ids[0].length, MUDD.vocabSize], {
        atol: 1e-4,
        label: 'cached vs full',
      });
      expect(rep.ok, rep.message).toBe(true);
      const before = tf.memory().numTensors;
      const { grads } = m.lossAndGrads(ids);
      expect([...grads.keys()].sort()).toEqual([...m.variables.keys()].sort());
      for (const [name, g] of grads) {
        const d = g.dataSync();
        expect(d.every(Number.isFinite), name).toBe(true);
        expect(
          d.some((v) => v !== 0),
          `${name} has a zero gradient`,
        ).toBe(true);
      }
      tf.dispose([...grads.values()]);
      expect(tf.memory().numTensors).toBe(before);
    } finally {
      m.dispose();
    }
  });
});
