#!/usr/bin/env node
// Writes the C++ driver's cases (driver/README.md): inputs drawn from a fixed-seed generator and the
// expected outputs computed by the CPU references of @dcformer/kernels (plain tfjs ops on the tfjs
// `cpu` backend), as raw little-endian float32/int32 files plus one manifest line per case. The GPU
// machine then needs neither Node nor npm: scripts/gpu-check.sh runs the driver on these files.
//
//   node scripts/make-driver-cases.mjs [OUT_DIR]      (default driver/cases; ~21 MiB)
//
// Manifest line: name kernel atol rtol k=v… | in tensor:flags… | out tensor:flags…
// flags: t = tiled along the case's leading (batch-like) dimension when the driver scales the case
// up for timing, c = constant (not tiled), s = a sum over that dimension (expected × tile factor);
// i = int32 (else float32).
import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  adamWReference,
  composeInputNames,
  composeReference,
  composeReferenceGrad,
  crossEntropyReference,
  crossEntropyReferenceGrad,
  dcmhaCompose,
  geluReference,
  geluReferenceGrad,
  rmsNormReference,
  rmsNormReferenceGrad,
  ropeReference,
} from '@dcformer/kernels';
import { dynamicWeights } from '@dcformer/compose';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const outDir = process.argv[2] ?? join(root, 'driver', 'cases');
await tf.setBackend('cpu');

let state = 0x9e3779b9;
/** xorshift32, uniform in [lo, hi): the inputs are reproducible run to run. */
function uniform(n, lo = -1, hi = 1) {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    a[i] = lo + ((state >>> 0) / 4294967296) * (hi - lo);
  }
  return a;
}

rmSync(outDir, { recursive: true, force: true });
mkdirSync(outDir, { recursive: true });
const manifest = [];
let bytes = 0;

/** One case: tensors = { name: [Float32Array | Int32Array, flags] }; dims: the kernel's numbers. */
function write(name, kernel, atol, rtol, dims, inputs, outputs) {
  mkdirSync(join(outDir, name), { recursive: true });
  const list = (group) =>
    Object.entries(group).map(([t, [data, flags]]) => {
      const buf = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
      writeFileSync(join(outDir, name, `${t}.bin`), buf);
      bytes += buf.length;
      return `${t}:${flags}${data instanceof Int32Array ? 'i' : ''}`;
    });
  const kv = Object.entries(dims).map(([k, v]) => `${k}=${v}`);
  manifest.push(
    `${name} ${kernel} ${atol} ${rtol} ${kv.join(' ')} | ${list(inputs).join(' ')} | ${list(outputs).join(' ')}`,
  );
}

const data = (t) => t.dataSync();

// GELU
{
  const n = 1 << 17;
  const x = uniform(n, -6, 6);
  const dy = uniform(n);
  const xt = tf.tensor1d(x);
  write('gelu', 'gelu', 2e-6, 0, { n }, { x: [x, 't'] }, { y: [data(geluReference(xt)), 't'] });
  write(
    'gelu_backward',
    'gelu_backward',
    2e-6,
    0,
    { n },
    { x: [x, 't'], dy: [dy, 't'] },
    { dx: [data(geluReferenceGrad(xt, tf.tensor1d(dy))), 't'] },
  );
}

// RMSNorm
{
  const rows = 128,
    D = 1024,
    eps = 1e-6;
  const x = uniform(rows * D, -2, 2),
    w = uniform(D, 0.5, 1.5),
    dy = uniform(rows * D);
  const [xt, wt] = [tf.tensor2d(x, [rows, D]), tf.tensor1d(w)];
  write(
    'rms_norm',
    'rms_norm',
    1e-5,
    1e-5,
    { rows, D, eps },
    { x: [x, 't'], w: [w, 'c'] },
    { y: [data(rmsNormReference(xt, wt, eps)), 't'] },
  );
  const [dx, dw] = rmsNormReferenceGrad(xt, wt, tf.tensor2d(dy, [rows, D]), eps);
  write(
    'rms_norm_backward',
    'rms_norm_backward',
    1e-5,
    1e-4,
    { rows, D, eps },
    { x: [x, 't'], w: [w, 'c'], dy: [dy, 't'] },
    { dx: [data(dx), 't'], dw: [data(dw), 's'] },
  );
}

// RoPE: one cos/sin table for every row (tableRows 1), so the batch can be tiled
{
  const B = 2,
    T = 128,
    N = 8,
    E = 64,
    H = 32;
  const x = uniform(B * T * N * E);
  const angle = uniform(T * H, 0, 6.28);
  const cos = angle.map(Math.cos),
    sin = angle.map(Math.sin);
  const y = ropeReference(tf.tensor4d(x, [B, T, N, E]), tf.tensor4d(cos, [1, T, 1, H]), tf.tensor4d(sin, [1, T, 1, H]));
  write(
    'rope',
    'rope',
    1e-6,
    0,
    { B, T, N, E, H, tableRows: 1 },
    { x: [x, 't'], cos: [cos, 'c'], sin: [sin, 'c'] },
    { y: [data(y), 't'] },
  );
}

// AdamW
{
  const n = 1 << 16;
  const attrs = {
    gradScale: 0.5,
    decay: 1 - 1e-3 * 0.1,
    beta1: 0.9,
    beta2: 0.95,
    eps: 1e-8,
    stepSize: 1e-3 / (1 - 0.9 ** 3),
    bc2Sqrt: Math.sqrt(1 - 0.95 ** 3),
  };
  const p = uniform(n),
    g = uniform(n),
    m = uniform(n, -0.1, 0.1),
    v = uniform(n, 0, 0.01);
  const [p1, m1, v1] = adamWReference(tf.tensor1d(p), tf.tensor1d(g), tf.tensor1d(m), tf.tensor1d(v), attrs).map(data);
  write(
    'adamw',
    'adamw',
    1e-7,
    2e-6,
    { n, ...attrs },
    { p: [p, 't'], g: [g, 't'], m: [m, 't'], v: [v, 't'] },
    { p1: [p1, 't'], m1: [m1, 't'], v1: [v1, 't'] },
  );
}

// Softmax cross-entropy over a GPT-NeoX-sized vocabulary (50304, padded)
{
  const R = 4,
    V = 50304;
  const logits = uniform(R * V, -6, 6);
  const labels = Int32Array.from({ length: R }, (_, r) => (r * 7919) % V);
  const dy = uniform(R, 0, 1);
  const [lt, lb] = [tf.tensor2d(logits, [R, V]), tf.tensor1d(labels, 'int32')];
  const [loss, lse] = crossEntropyReference(lt, lb);
  write(
    'cross_entropy',
    'cross_entropy',
    1e-5,
    1e-6,
    { R, V },
    { logits: [logits, 't'], labels: [labels, 't'] },
    { loss: [data(loss), 't'], lse: [data(lse), 't'] },
  );
  const dl = crossEntropyReferenceGrad(lt, lb, lse, tf.tensor1d(dy));
  write(
    'cross_entropy_backward',
    'cross_entropy_backward',
    1e-6,
    1e-5,
    { R, V },
    { logits: [logits, 't'], labels: [labels, 't'], lse: [data(lse), 't'], dy: [dy, 't'] },
    { dlogits: [data(dl), 't'] },
  );
}

// Compose, both sides, with and without a band (x and dy are 0 out of band, so the reference — which
// ignores the band — and a kernel that skips it agree everywhere).
for (const band of [null, { queryOffset: 0, keyOffset: 0, window: 64 }]) {
  const B = 1,
    N = 8,
    T = 96,
    S = 128,
    I = 2;
  const attrs = { queryWise: true, keyWise: true };
  const inBand = (t, s) =>
    band === null ||
    (s <= t + band.queryOffset - band.keyOffset && s > t + band.queryOffset - band.keyOffset - band.window);
  const mask = (a) => {
    for (let b = 0; b < B * N; b++)
      for (let t = 0; t < T; t++) for (let s = 0; s < S; s++) if (!inBand(t, s)) a[(b * T + t) * S + s] = 0;
    return a;
  };
  const shapes = {
    x: [B, N, T, S],
    qw1: [B, T, I, N],
    qw2: [B, T, I, N],
    qdd: [B, T, N],
    kw1: [B, S, I, N],
    kw2: [B, S, I, N],
    kdd: [B, S, N],
  };
  const arrays = {};
  for (const n of composeInputNames(attrs))
    arrays[n] =
      n === 'x'
        ? mask(uniform(B * N * T * S))
        : uniform(
            shapes[n].reduce((a, b) => a * b),
            -0.5,
            0.5,
          );
  const dy = mask(uniform(B * N * T * S));
  const inputs = Object.fromEntries(Object.entries(arrays).map(([n, a]) => [n, tf.tensor(a, shapes[n])]));
  const dims = {
    B,
    N,
    T,
    S,
    I,
    q: 1,
    k: 1,
    bandQ: band?.queryOffset ?? 0,
    bandK: band?.keyOffset ?? 0,
    bandW: band === null ? -1 : band.window,
  };
  const suffix = band === null ? '' : '_band';
  const ins = Object.fromEntries(Object.entries(arrays).map(([n, a]) => [n, [a, 't']]));
  write(`compose${suffix}`, 'compose', 2e-5, 1e-5, dims, ins, { y: [data(composeReference(inputs, attrs)), 't'] });
  const grads = composeReferenceGrad(inputs, tf.tensor(dy, shapes.x), attrs);
  const gOut = Object.fromEntries(composeInputNames(attrs).map((n) => [`d${n}`, [data(grads[n]), 't']]));
  write(`compose_backward${suffix}`, 'compose_backward', 5e-5, 1e-5, dims, { ...ins, dy: [dy, 't'] }, gOut);
}

// GEMM: a [batch,M,K] against one b shared by the batch (stride 0), every transpose combination
for (const [ta, tb] of [
  [0, 0],
  [1, 0],
  [0, 1],
]) {
  const batch = 2,
    M = 192,
    N = 256,
    K = 320;
  const a = uniform(batch * M * K),
    b = uniform(K * N);
  const at = tf.tensor3d(a, ta ? [batch, K, M] : [batch, M, K]);
  const bt = tf.tensor2d(b, tb ? [N, K] : [K, N]);
  const c = tf.matMul(at, tf.tile(tf.expandDims(bt, 0), [batch, 1, 1]), Boolean(ta), Boolean(tb));
  write(
    `gemm_${ta ? 't' : 'n'}${tb ? 't' : 'n'}`,
    'gemm',
    1e-4,
    1e-5,
    { batch, M, N, K, transA: ta, transB: tb, strideA: M * K, strideB: 0 },
    { a: [a, 't'], b: [b, 'c'] },
    { c: [data(c), 't'] },
  );
}

// Dynamic weight projection, decode-shaped (8 positions, D 1024, N 32); not tiled (its
// outputs are slot-major), so timed as stored
{
  const X = 8,
    D = 1024,
    K = 64,
    I = 2,
    N = 32;
  const x = uniform(X * D),
    dw1 = uniform(D * 4 * K, -0.05, 0.05),
    qkw = uniform(4 * K * 2 * I * N, -0.2, 0.2),
    dd = uniform(D * 4 * N, -0.05, 0.05);
  const w = dynamicWeights(tf.tensor3d(x, [X, 1, D]), {
    dw1: tf.tensor4d(dw1, [D, 1, 4, K]),
    qkw: tf.tensor(qkw, [1, 4, K, 2 * I, N]),
    dd: tf.tensor3d(dd, [D, 1, 4 * N]),
  });
  // the addon's slot order (SLOTS of @dcformer/compose): pre query, pre key, post query, post key
  const slots = [w.query.pre, w.key.pre, w.query.post, w.key.post];
  const cat = (key) => Float32Array.from(slots.flatMap((s) => Array.from(data(s[key]))));
  const ddOut = new Float32Array(X * 4 * N);
  slots.forEach((s, c) => data(s.dd).forEach((v, j) => (ddOut[(Math.floor(j / N) * 4 + c) * N + (j % N)] = v)));
  write(
    'dynamic_weights',
    'dynamic_weights',
    1e-5,
    1e-4,
    { X, D, K, I, N, notile: 1 },
    { x: [x, 'c'], dw1: [dw1, 'c'], qkw: [qkw, 'c'], dd: [dd, 'c'] },
    { w1: [cat('w1'), 'c'], w2: [cat('w2'), 'c'], ddOut: [ddOut, 'c'] },
  );
}

// One decode step over a 192-key cache (N 16, E 64, I 2); rows see keys
// from lo[b] on. Every tensor leads with B, so the driver tiles it into a decode batch.
{
  const B = 2,
    N = 16,
    S = 192,
    E = 64,
    I = 2,
    lo = [0, 100];
  const attrs = { queryWise: true, keyWise: true };
  const q = uniform(B * N * E),
    k = uniform(B * N * S * E),
    v = uniform(B * N * S * E);
  const side = () => ({
    qw1: uniform(B * I * N, -0.4, 0.4),
    qw2: uniform(B * I * N, -0.4, 0.4),
    qdd: uniform(B * N, -0.4, 0.4),
    kw1: uniform(B * S * I * N, -0.4, 0.4),
    kw2: uniform(B * S * I * N, -0.4, 0.4),
    kdd: uniform(B * S * N, -0.4, 0.4),
  });
  const pre = side(),
    post = side();
  const shapes = {
    qw1: [B, 1, I, N],
    qw2: [B, 1, I, N],
    qdd: [B, 1, N],
    kw1: [B, S, I, N],
    kw2: [B, S, I, N],
    kdd: [B, S, N],
  };
  const tensors = (w) => Object.fromEntries(Object.entries(w).map(([n, a]) => [n, tf.tensor(a, shapes[n])]));
  const scale = 1 / Math.sqrt(E);
  const scores = tf.mul(tf.matMul(tf.tensor4d(q, [B, N, 1, E]), tf.tensor4d(k, [B, N, S, E]), false, true), scale);
  const logits = dcmhaCompose({ x: scores, ...tensors(pre) }, attrs);
  const mask = tf.tensor4d(
    Array.from({ length: B * S }, (_, j) => (j % S < lo[Math.floor(j / S)] ? -Infinity : 0)),
    [B, 1, 1, S],
  );
  const probs = dcmhaCompose({ x: tf.softmax(tf.add(logits, mask)), ...tensors(post) }, attrs);
  const out = data(tf.matMul(probs, tf.tensor4d(v, [B, N, S, E])));
  const named = (prefix, w) =>
    Object.fromEntries(Object.entries(w).map(([n, a]) => [`${prefix}${n[0].toUpperCase()}${n.slice(1)}`, [a, 't']]));
  write(
    'decode_attention',
    'decode_attention',
    2e-5,
    1e-4,
    { B, N, S, E, I, scale },
    {
      q: [q, 't'],
      k: [k, 't'],
      v: [v, 't'],
      ...named('pre', pre),
      ...named('post', post),
      lo: [Int32Array.from(lo), 't'],
    },
    { out: [out, 't'] },
  );
}

writeFileSync(join(outDir, 'manifest.txt'), `${manifest.join('\n')}\n`);
console.log(`wrote ${manifest.length} cases (${(bytes / 2 ** 20).toFixed(1)} MiB) to ${outDir}`);
