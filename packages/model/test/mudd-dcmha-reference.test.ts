/**
 * MUDD×DCMHA against an independent float64 reference written here from the equations
 * (fixtures/oracle-mudd/ORACLE_README.md "Semantics as implemented" and docs/dcmha.md "Compose" / "Dynamic
 * weights"), on a small model whose q, k and v streams differ: query-wise Compose weights come from the
 * normed query stream at t, key-wise from the normed key stream at s. A reference that swaps the two
 * streams must disagree, so the test can tell them apart.
 */
import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { modelFromWeights, modelWeights, type NamedArray } from '../src/checkpoint.js';
import { dynamicRank, resolveConfig } from '../src/config.js';
import { initModel, seededNormal } from '../src/init.js';
import { ffnWidths, muddSizes } from '../src/mudd-config.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const CONFIG = resolveConfig({
  family: 'muddformer',
  dim: 8,
  nHead: 2,
  nLayer: 3,
  vocabSize: 11,
  blockSize: 16,
  intermediateSize: 256,
  normEps: 1e-6,
  useDcmha: true,
  expandLast: true,
  round64: true,
});
const IDS = [3, 7, 1, 10, 0, 5];

type Vec = number[];

/** erf to ~1e-14 (series below 3, continued fraction above): float64 throughout. */
function erf(x: number): number {
  const s = Math.sign(x);
  const a = Math.abs(x);
  if (a < 3) {
    let term = a;
    let sum = a;
    for (let n = 1; n < 200; n++) {
      term *= (-a * a) / n;
      const add = term / (2 * n + 1);
      sum += add;
      if (Math.abs(add) < 1e-17) break;
    }
    return (s * 2 * sum) / Math.sqrt(Math.PI);
  }
  // erfc by Lentz's continued fraction
  let f = a;
  let C = a;
  let D = 0;
  for (let n = 1; n < 200; n++) {
    const an = n / 2;
    D = a + an * D;
    D = 1 / D;
    C = a + an / C;
    const delta = C * D;
    f *= delta;
    if (Math.abs(delta - 1) < 1e-16) break;
  }
  return s * (1 - Math.exp(-a * a) / (f * Math.sqrt(Math.PI)));
}
const gelu = (x: number) => 0.5 * x * (1 + erf(x / Math.SQRT2));
const silu = (x: number) => x / (1 + Math.exp(-x));

function reference(w: Map<string, NamedArray>, swapStreams: boolean): number[][] {
  const { dim: D, nHead: N, headDim: E, vocabSize: V, normEps: eps, ropeBase } = CONFIG;
  const T = IDS.length;
  const I = dynamicRank(N);
  const K = 4 * N;
  const get = (name: string) => Array.from((w.get(name) as NamedArray).data);
  const matVec = (W: number[], rows: number, cols: number, x: Vec, bias?: number[]) =>
    Array.from({ length: rows }, (_, r) => {
      let s = bias ? bias[r] : 0;
      for (let c = 0; c < cols; c++) s += W[r * cols + c] * x[c];
      return s;
    });
  const rms = (x: Vec, weight?: number[]) => {
    const ms = x.reduce((a, v) => a + v * v, 0) / x.length;
    return x.map((v, i) => (v / Math.sqrt(ms + eps)) * (weight ? weight[i] : 1));
  };
  const rope = (x: Vec, p: number) => {
    const out = x.slice();
    const half = E / 2;
    for (let n = 0; n < N; n++) {
      for (let j = 0; j < half; j++) {
        const angle = p * ropeBase ** ((-2 * j) / E);
        const [a, b] = [x[n * E + j], x[n * E + j + half]];
        out[n * E + j] = a * Math.cos(angle) - b * Math.sin(angle);
        out[n * E + j + half] = b * Math.cos(angle) + a * Math.sin(angle);
      }
    }
    return out;
  };
  /** Per slot c: w1 [I][N] (RMS-normed over heads), w2 [I][N], dd [N]. */
  const dynamic = (layer: number, x: Vec) => {
    const p = `layers.${layer}.attention.dyn_w_proj`;
    const dw1 = get(`${p}.dw1`);
    const qkw = get(`${p}.qkw`);
    const dd = get(`${p}.dd`);
    return Array.from({ length: 4 }, (_, c) => {
      const hidden = Array.from({ length: K }, (_, k) => {
        let s = 0;
        for (let d = 0; d < D; d++) s += x[d] * dw1[d * 4 * K + c * K + k];
        return gelu(s);
      });
      const wr = Array.from({ length: 2 * I }, (_, r) =>
        Array.from({ length: N }, (_, n) => {
          let s = 0;
          for (let k = 0; k < K; k++) s += hidden[k] * qkw[((c * K + k) * 2 * I + r) * N + n];
          return s;
        }),
      );
      const w1 = wr.slice(0, I).map((row) => {
        const r = Math.sqrt(row.reduce((a, v) => a + v * v, 0) / N + 1e-6);
        return row.map((v) => v / r);
      });
      const gate = Array.from({ length: N }, (_, n) => {
        let s = 0;
        for (let d = 0; d < D; d++) s += x[d] * dd[d * 4 * N + c * N + n];
        return Math.tanh(s);
      });
      return { w1, w2: wr.slice(I), dd: gate };
    });
  };
  type Dyn = ReturnType<typeof dynamic>;
  /** Compose one (t, s) vector A[N] with query slot qc of qd and key slot kc of kd. */
  const compose = (A: Vec, qd: Dyn, kd: Dyn, qc: number, kc: number) =>
    A.map((a, m) => {
      let out = a * (1 + qd[qc].dd[m] + kd[kc].dd[m]);
      for (let i = 0; i < I; i++) {
        let sq = 0;
        let sk = 0;
        for (let n = 0; n < N; n++) {
          sq += A[n] * qd[qc].w1[i][n];
          sk += A[n] * kd[kc].w1[i][n];
        }
        out += sq * qd[qc].w2[i][m] + sk * kd[kc].w2[i][m];
      }
      return out;
    });

  const emb = get('tok_embeddings.weight');
  const hiddens: Vec[][] = [IDS.map((id) => emb.slice(id * D, (id + 1) * D))];
  let streams = { q: hiddens[0], k: hiddens[0], v: hiddens[0], r: hiddens[0] };
  const widths = ffnWidths(CONFIG);
  const sizes = muddSizes(CONFIG);
  for (let i = 0; i < CONFIG.nLayer; i++) {
    const o = `layers.${i}`;
    const norm = (j: number) => get(i === 0 ? `${o}.attention_norm.weight` : `${o}.attention_norms.${j}.weight`);
    const qn = streams.q.map((x) => rms(x, norm(0)));
    const kn = streams.k.map((x) => rms(x, norm(1)));
    const vn = streams.v.map((x) => rms(x, norm(2)));
    const q = qn.map((x, t) => rope(matVec(get(`${o}.attention.wq.weight`), D, D, x), t));
    const k = kn.map((x, t) => rope(matVec(get(`${o}.attention.wk.weight`), D, D, x), t));
    const v = vn.map((x) => matVec(get(`${o}.attention.wv.weight`), D, D, x));
    const qDyn = (swapStreams ? kn : qn).map((x) => dynamic(i, x));
    const kDyn = (swapStreams ? qn : kn).map((x) => dynamic(i, x));
    const y = Array.from({ length: T }, (_, t) => {
      // pre-Compose logits, causal mask, softmax, post-Compose, per head
      const pre = Array.from({ length: t + 1 }, (_, s) =>
        compose(
          Array.from({ length: N }, (_, n) => {
            let dot = 0;
            for (let e = 0; e < E; e++) dot += q[t][n * E + e] * k[s][n * E + e];
            return dot / Math.sqrt(E);
          }),
          qDyn[t],
          kDyn[s],
          0,
          1,
        ),
      );
      const probs = pre.map(() => new Array<number>(N).fill(0));
      for (let n = 0; n < N; n++) {
        const max = Math.max(...pre.map((a) => a[n]));
        const z = pre.reduce((acc, a) => acc + Math.exp(a[n] - max), 0);
        pre.forEach((a, s) => (probs[s][n] = Math.exp(a[n] - max) / z));
      }
      const post = probs.map((p, s) => compose(p, qDyn[t], kDyn[s], 2, 3));
      const out = new Array<number>(D).fill(0);
      post.forEach((p, s) => {
        for (let n = 0; n < N; n++) for (let e = 0; e < E; e++) out[n * E + e] += p[n] * v[s][n * E + e];
      });
      return matVec(get(`${o}.attention.wo.weight`), D, D, out);
    });
    const F = widths[i];
    const next = streams.r.map((r, t) => {
      const h = r.map((x, d) => x + y[t][d]);
      const n2 = rms(h, get(`${o}.ffn_norm.weight`));
      const a = matVec(get(`${o}.feed_forward.w1.weight`), F, D, n2);
      const b = matVec(get(`${o}.feed_forward.w3.weight`), F, D, n2);
      const ffn = matVec(
        get(`${o}.feed_forward.w2.weight`),
        D,
        F,
        a.map((x, j) => silu(x) * b[j]),
      );
      return h.map((x, d) => x + ffn[d]);
    });
    hiddens.push(next);
    // MUDD connection after block i
    const { C, L, hidden: H } = sizes[i];
    const bs = get(`dense_bs.${i}`);
    const mixed = Array.from({ length: C }, () => [] as Vec[]);
    for (let t = 0; t < T; t++) {
      const g = matVec(get(`dynamic_dense.${i}.w1.weight`), H, D, rms(next[t])).map(gelu);
      const a = matVec(get(`dynamic_dense.${i}.w2.weight`), C * L, H, g);
      for (let c = 0; c < C; c++) {
        const s = new Array<number>(D).fill(0);
        for (let j = 0; j < L; j++) {
          const coef = a[c * L + j] + bs[c * L + j];
          for (let d = 0; d < D; d++) s[d] += coef * hiddens[j][t][d];
        }
        mixed[c].push(s);
      }
    }
    streams = C === 4 ? { q: mixed[0], k: mixed[1], v: mixed[2], r: mixed[3] } : { ...streams, r: mixed[0] };
  }
  const out = get('output.weight');
  return streams.r.map((x) => matVec(out, V, D, rms(x, get('norm.weight'))));
}

describe('MUDD×DCMHA vs a float64 reference', () => {
  it('logits within 1e-4 with distinct q/k/v streams; swapping the query and key streams is detected', () => {
    const init = initModel(CONFIG, 8);
    const w = modelWeights(init);
    init.dispose();
    const normal = seededNormal(21);
    for (const [name, a] of w) {
      // off the residual init (streams differ) and a Compose that matters
      if (/^(dense_bs|dynamic_dense\.\d+\.w2)/.test(name))
        for (let i = 0; i < a.data.length; i++) a.data[i] += 0.4 * normal();
      if (/dyn_w_proj\.(qkw|dd)$/.test(name)) for (let i = 0; i < a.data.length; i++) a.data[i] = 0.5 * normal();
    }
    const model = modelFromWeights(CONFIG, w);
    const got = tf.tidy(() => Array.from(model.forward([IDS]).dataSync()));
    model.dispose();
    const want = reference(w, false).flat();
    const swapped = reference(w, true).flat();
    const maxDiff = (a: number[], b: number[]) => Math.max(...a.map((x, i) => Math.abs(x - b[i])));
    console.log(
      `MUDD×DCMHA vs float64: max |diff| ${maxDiff(got, want)}; swapped streams move it ${maxDiff(want, swapped)}`,
    );
    expect(maxDiff(got, want)).toBeLessThanOrEqual(1e-4);
    expect(maxDiff(want, swapped)).toBeGreaterThan(1e-2);
  });
});
