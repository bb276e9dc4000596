/**
 * runComposeConformance of @dcformer/kernels/testing with asynchronous reads. The suite reads with
 * dataSync(), which tfjs-backend-webgpu implements through OffscreenCanvas: browsers only, so in Node
 * every synchronous read of a GPU tensor throws. Same cases, same loops, same tolerances; to be
 * replaced by `runComposeConformanceAsync` once @dcformer/kernels/testing exports it.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Tensor } from '@tensorflow/tfjs-core';
import { composeInputNames, dcmhaCompose, type ComposeInputs } from '@dcformer/kernels';
import { COMPOSE_CONFORMANCE_CASES, compareClose, composeByLoops, type ComposeCase, type ConformanceResult } from '@dcformer/kernels/testing';

function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return ((s >>> 0) / 4294967296) * 2 - 1;
  };
}

export async function runComposeConformanceAsync(cases: ComposeCase[] = COMPOSE_CONFORMANCE_CASES, atol = 2e-5): Promise<ConformanceResult[]> {
  const results: ConformanceResult[] = [];
  for (const c of cases) {
    const { B, N, T, S, I } = c;
    const shapes: Record<string, number[]> = {
      x: [B, N, T, S], qw1: [B, T, I, N], qw2: [B, T, I, N], qdd: [B, T, N], kw1: [B, S, I, N], kw2: [B, S, I, N], kdd: [B, S, N],
    };
    const random = rng(c.seed);
    const arrays: Record<string, Float32Array> = {};
    for (const [name, shape] of Object.entries(shapes)) {
      arrays[name] = Float32Array.from({ length: shape.reduce((p, q) => p * q, 1) }, () => random() * (name === 'x' ? 1 : 0.7));
    }
    const r = Float32Array.from({ length: arrays.x.length }, () => random());
    const expected = composeByLoops(c, arrays, r);
    const names = composeInputNames(c.attrs);
    const label = `B${B} N${N} T${T} S${S} I${I} q${+c.attrs.queryWise}k${+c.attrs.keyWise}`;
    const tensors = tf.tidy(() => {
      const ts = names.map((n) => tf.tensor(arrays[n], shapes[n]));
      const rT = tf.tensor(r, shapes.x);
      const asInputs = (xs: Tensor[]) => Object.fromEntries(names.map((n, i) => [n, xs[i]])) as unknown as ComposeInputs;
      const out = dcmhaCompose(asInputs(ts), c.attrs);
      const grads = tf.grads((...xs: Tensor[]) => tf.sum(tf.mul(dcmhaCompose(asInputs(xs), c.attrs), rT)))(ts);
      return [out, ...grads];
    });
    const [out, ...grads] = await Promise.all(tensors.map((t) => t.data() as Promise<Float32Array>));
    tf.dispose(tensors);
    const fwd = compareClose(out, expected.out, shapes.x, { atol, label: `${label} out` });
    results.push({ name: `${label} forward`, ok: fwd.ok, message: fwd.message });
    names.forEach((n, i) => {
      const rep = compareClose(grads[i], expected.grads[n], shapes[n], { atol: atol * 10, label: `${label} d${n}` });
      results.push({ name: `${label} grad ${n}`, ok: rep.ok, message: rep.message });
    });
  }
  return results;
}
