// Dev tool: per-kernel wall time of one training step, a 128-token prefill and one decode step on
// the tfjs cpu backend. `node scripts/profile-step.mjs [preset] [B] [T]`; FAST=@dcformer/kernels-cpu/register
// profiles with the fast path (how docs/adr/0001-cpu-fast-path.md's tables were made).
import * as tf from '@tensorflow/tfjs';
import { initModel, presetConfig, prefill, decodeOne } from '@dcformer/model';
tf.enableProdMode();
await tf.setBackend('cpu');
if (process.env.FAST) {
  await import(process.env.FAST);
}
const stats = new Map();
// CPU=1: CPU time of the process (all threads) per kernel instead of wall time — steadier when other
// processes share the cores
const now = process.env.CPU
  ? () => {
      const u = process.cpuUsage();
      return (u.user + u.system) / 1000;
    }
  : () => performance.now();
// FAMILY=1: one line per op family (the tables of docs/benchmarks.md) instead of per kernel and shape
const FAMILIES = [
  ['GEMM', /^BatchMatMul$|^_FusedMatMul$/],
  ['fused attention', /^DcmhaAttention/],
  ['Compose', /^DcmhaCompose/],
  ['softmax', /^Softmax$/],
  ['cross-entropy', /^DcSoftmaxCrossEntropy/],
  ['RMSNorm, RoPE, GELU', /^Dc(RmsNorm|Rope|Gelu)/],
  ['AdamW', /^DcAdamW/],
  [
    'element-wise',
    /^(Multiply|Add|AddN|Sub|RealDiv|Sigmoid|Exp|Tanh|Neg|Sqrt|Rsqrt|Square|Maximum|Minimum|Mul|Pow|Erf|Log|Abs|Relu|Step|Cast|OnesLike|ZerosLike|Fill)$/,
  ],
  ['reductions', /^(Sum|Max|Min|Mean|Prod|ArgMax)$/],
  [
    'copies and layout',
    /^(Transpose|Slice|SplitV|Concat|PadV2|Pack|Unpack|Reshape|GatherV2|Tile|Identity|UnsortedSegmentSum|StridedSlice|Reverse)$/,
  ],
];
function family(name) {
  for (const [label, re] of FAMILIES) if (re.test(name)) return label;
  return `other (${name})`;
}
let depth = 0;
for (const k of tf.getKernelsForBackend('cpu')) {
  const f = k.kernelFunc;
  tf.unregisterKernel(k.kernelName, 'cpu');
  tf.registerKernel({
    ...k,
    kernelFunc: (args) => {
      depth++;
      const t0 = now();
      try {
        return f(args);
      } finally {
        depth--;
        const dt = now() - t0;
        let key = k.kernelName;
        if (key.includes('MatMul'))
          key +=
            ' ' +
            args.inputs.a.shape +
            (args.attrs.transposeA ? 'T' : '') +
            ' x ' +
            args.inputs.b.shape +
            (args.attrs.transposeB ? 'T' : '');
        if (process.env.SHAPES && dt > +process.env.SHAPES && !key.includes('MatMul'))
          key +=
            ' ' +
            Object.values(args.inputs)
              .map((t) => `${t.dtype}[${t.shape}]`)
              .join(' , ');
        if (process.env.FAMILY) key = family(k.kernelName);
        if (depth === 0) {
          const e = stats.get(key) ?? { ms: 0, n: 0 };
          e.ms += dt;
          e.n++;
          stats.set(key, e);
        }
      }
    },
  });
}
const name = process.argv[2] ?? 'bench-small';
const B = +(process.argv[3] ?? 2),
  T = +(process.argv[4] ?? 256);
const cfg = presetConfig(name);
const model = initModel(cfg, 0);
const vars = [...model.variables.values()];
const ids = tf.randomUniform([B, T], 0, cfg.vocabSize, 'int32');
function report(label, wall) {
  let tot = 0;
  for (const e of stats.values()) tot += e.ms;
  let calls = 0;
  for (const e of stats.values()) calls += e.n;
  console.log(`== ${label}: wall ${wall.toFixed(0)} ms, in kernels ${tot.toFixed(0)} ms, ${calls} kernel calls`);
  for (const [k, e] of [...stats.entries()].sort((a, b) => b[1].ms - a[1].ms).slice(0, +(process.env.TOP ?? 25)))
    console.log(e.ms.toFixed(0).padStart(7), String(e.n).padStart(5), k);
  stats.clear();
}
if (!process.env.NOTRAIN) {
  // one unprofiled step first: the first step page-faults its way through fresh memory
  {
    const { value, grads } = tf.variableGrads(() => model.loss(ids), vars);
    value.dataSync();
    tf.dispose(grads);
    value.dispose();
    stats.clear();
  }
  const t0 = performance.now();
  const { value, grads } = tf.variableGrads(() => model.loss(ids), vars);
  value.dataSync();
  tf.dispose(grads);
  value.dispose();
  report(`train step B${B} T${T}`, performance.now() - t0);
}
{
  const prompt = [Array.from({ length: 128 }, (_, i) => (i * 7) % 1000)];
  stats.clear();
  let t0 = performance.now();
  const { cache } = prefill(model, prompt);
  report('prefill 128', performance.now() - t0);
  decodeOne(model, cache, [5]);
  stats.clear();
  t0 = performance.now();
  decodeOne(model, cache, [6]);
  report('decode step b1', performance.now() - t0);
}
