#!/usr/bin/env node
// The project's main job until the training runner lands: run DCFormer++, DCPythia and Transformer++
// on the bundled official checkpoints (fixtures/oracle) and print how far our logits, loss and
// gradients are from the official PyTorch code's, against DESIGN.md's tolerances.
import * as tf from '@tensorflow/tfjs';
import { readFileSync } from 'node:fs';
import { loadModel } from '@dcformer/model/node';
import { parseSafetensors, splitDw, toFloat32 } from '@dcformer/model';

const ORACLE = new URL('../fixtures/oracle/', import.meta.url).pathname;
const CASES = ['case1_dcformer_lgll', 'case2_dcformer_lg', 'case3_dcformer_mha', 'case4_dcpythia'];

const flat = (v) => Float32Array.from(v.flat(Infinity));
const maxDiff = (a, b) => a.reduce((m, x, i) => Math.max(m, Math.abs(x - b[i])), 0);
const maxAbs = (a) => a.reduce((m, x) => Math.max(m, Math.abs(x)), 0);

await tf.setBackend('cpu');
let ok = true;
for (const name of CASES) {
  const dir = `${ORACLE}${name}`;
  const golden = JSON.parse(readFileSync(`${dir}/golden.json`, 'utf8'));
  const t0 = performance.now();
  const model = await loadModel(dir, { onWarning: () => {} });
  const logits = tf.tidy(() => model.forward(golden.input_ids).dataSync());
  const logitsDiff = maxDiff(logits, flat(golden.train_as_infer.logits));
  const { loss, grads } = model.lossAndGrads(golden.input_ids);
  const stored = parseSafetensors(new Uint8Array(readFileSync(`${dir}/grads.safetensors`)));
  const { dim: D, nHead: N } = model.config;
  let worstGrad = 0;
  for (const [full, raw] of stored.tensors) {
    if (!full.startsWith('train_as_infer.')) continue;
    const key = full.slice('train_as_infer.'.length);
    const ref = toFloat32(raw, full);
    const scale = maxAbs(ref) || 1;
    const pairs = key.endsWith('.dw_m')
      ? (() => {
          const base = key.slice(0, -5);
          const { dw1, dd } = splitDw(ref, D, 4 * N, N);
          return [
            [`${base}.dw1`, dw1],
            [`${base}.dd`, dd],
          ];
        })()
      : [[key.endsWith('.qkw_m') ? `${key.slice(0, -6)}.qkw` : key, ref]];
    for (const [param, expected] of pairs)
      worstGrad = Math.max(worstGrad, maxDiff(grads.get(param).dataSync(), expected) / scale);
  }
  tf.dispose([...grads.values()]);
  model.dispose();
  const lossDiff = Math.abs(loss - golden.train_as_infer.loss);
  const pass = logitsDiff <= 1e-4 && lossDiff <= 1e-5 && worstGrad <= 1e-3;
  ok &&= pass;
  console.log(
    `${pass ? 'PASS' : 'FAIL'} ${name.padEnd(26)} logits max|Δ| ${logitsDiff.toExponential(2)} (≤1e-4)  loss |Δ| ${lossDiff.toExponential(2)} (≤1e-5)  grads max|Δ|/max|g| ${worstGrad.toExponential(2)} (≤1e-3)  ${((performance.now() - t0) / 1000).toFixed(1)} s`,
  );
}
process.exitCode = ok ? 0 : 1;
