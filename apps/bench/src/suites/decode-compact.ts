/**
 * Decode at batch 1 with compact weights against the machine's read bandwidth (issue 18). Configs
 * `bench-small@bf16|int8|int4` (bench-small itself, float32, is the decode suite's) and, unless
 * --smoke or DCFORMER_BENCH_2P8B=0, `2.8b-shape@int4|int8|bf16|f32`: the DCFormer-2.8B shape (dim 2560,
 * 32 layers, 32 heads, vocab 50257) with random weights generated here, in memory, in the target
 * format directly (never as float32 first; nothing is written to disk). Per config:
 *
 *   decode_tokens_per_s_b1   median of the runs: 4-token prompt, then NEW greedy steps
 *   decode_cpu_ms_per_token  process CPU time (all threads) per decode step, median: the work done,
 *                            steadier than wall time when other processes share the cores
 *   weight_bytes_per_token   bytes of weights one decode step reads (every weight once; one embedding row)
 *   achieved_gb_per_s        weight_bytes_per_token × tokens/s
 *   bandwidth_fraction       achieved / read_gb_per_s
 *   peak_rss_mb              process peak so far (the 2.8B formats run smallest first, so each peak is its own)
 *
 * and once, `read_gb_per_s`: Σ over a 1 GiB float32 buffer on all threads (native readSum), median.
 */
import * as tf from '@tensorflow/tfjs';
import { compactAddon, loadNative } from '@dcformer/kernels-cpu';
import { type CompactFormat, compactWeight, isQuantized, wordsPerRow, type WeightDtype } from '@dcformer/kernels';
import {
  DcformerModel,
  type ModelConfig,
  compactModel,
  compactSpecs,
  generate,
  initModel,
  installCompact,
  intoPair,
  pairStorage,
  presetConfig,
  weightBytes,
  weightSpecs,
} from '@dcformer/model';
import { peakRssMb, record, stats, useBackend, type SuiteOptions, type Suite } from './common.js';

/** xorshift32 words. */
function fillRandom(words: Uint32Array, seed: number): void {
  let s = seed >>> 0 || 1;
  for (let i = 0; i < words.length; i++) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    words[i] = s >>> 0;
  }
}

/** Random float32 values uniform in ±amp. */
function randomF32(n: number, seed: number, amp: number): Float32Array {
  const out = new Float32Array(n);
  const bits = new Uint32Array(out.buffer);
  fillRandom(bits, seed);
  for (let i = 0; i < n; i++) out[i] = ((bits[i] >>> 8) / 16777216 - 0.5) * 2 * amp;
  return out;
}

/**
 * Packed words of random weights of magnitude ~0.01 in `format`, made bitwise: 16-bit formats get a
 * fixed exponent (2^-7) and random sign and mantissa; int8/int4 random codes and a constant scale.
 */
function randomPacked(format: CompactFormat, N: number, K: number, groupSize: number, seed: number) {
  const data = new Int32Array(N * wordsPerRow(format, K));
  const words = new Uint32Array(data.buffer);
  fillRandom(words, seed);
  if (format === 'bf16') for (let i = 0; i < words.length; i++) words[i] = (words[i] & 0x807f807f) | 0x3c003c00;
  if (format === 'f16') for (let i = 0; i < words.length; i++) words[i] = (words[i] & 0x83ff83ff) | 0x20002000;
  const scales = isQuantized(format)
    ? new Float32Array((N * K) / groupSize).fill(format === 'int8' ? 1e-4 : 2e-3)
    : null;
  return { format, N, K, groupSize: isQuantized(format) ? groupSize : 0, data, scales };
}

/** A model of `config` with random weights, the compact ones generated in their format directly. */
export function randomModel(config: ModelConfig, dtype: WeightDtype, seed = 1): DcformerModel {
  const compact =
    dtype === 'f32' ? new Set<string>() : new Set(compactSpecs(config, true, true).map((s) => s.official));
  const tensors = new Map<string, tf.Tensor>();
  let i = 0;
  for (const s of weightSpecs(config)) {
    i++;
    const n = s.shape.reduce((a, b) => a * b, 1);
    if (compact.has(s.official))
      tensors.set(s.official, tf.zeros([0])); // placeholder, replaced below
    else if (s.shape.length === 1) tensors.set(s.official, tf.ones(s.shape));
    else tensors.set(s.official, tf.tensor(randomF32(n, seed * 7919 + i, 0.02), s.shape));
  }
  const model = new DcformerModel(config, tensors);
  i = 0;
  const specs = compactSpecs(config, true, true).filter((s) => compact.has(s.official));
  const pairs = pairStorage(specs); // fused pairs (w1|w3, dw1|dd) packed into one buffer, as loadModel does
  for (const s of specs) {
    const [N, K] = s.shape;
    const packed = randomPacked(dtype as CompactFormat, N, K, 64, seed * 104729 + i++);
    installCompact(model, s, compactWeight(intoPair(pairs, s, packed)));
  }
  return model;
}

/** User + system CPU time of this process (all threads), ms. */
function cpuNowMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

let probeBuffer: Float32Array | null = null;

/**
 * Read bandwidth in GB/s (1e9 bytes) of `runs` sums over a 1 GiB buffer (kept for the next call, so
 * that probes can be interleaved with the decode runs); null without the addon.
 */
export function readBandwidth(runs: number, smoke: boolean): { gbs: number[] } | null {
  const addon = compactAddon(loadNative().addon);
  if (addon === null) return null;
  const n = (smoke ? 16 : 1024) << 18;
  let buf = probeBuffer;
  if (buf === null || buf.length !== n) {
    buf = probeBuffer = new Float32Array(n).fill(1);
    addon.readSum(buf, buf.length);
  }
  const gbs: number[] = [];
  for (let r = 0; r < runs; r++) {
    // an untimed pass first: after a decode run the probe's threads (and the buffer) have sat idle,
    // and probes taken cold read 18–30 GB/s against 40–50 warm on the 2-core VM
    addon.readSum(buf, buf.length);
    const t0 = performance.now();
    addon.readSum(buf, buf.length);
    gbs.push((buf.length * 4) / ((performance.now() - t0) * 1e6));
  }
  return { gbs };
}

async function measure(
  o: SuiteOptions,
  backend: string,
  name: string,
  model: DcformerModel,
  steps: number,
): Promise<void> {
  const V = model.config.vocabSize;
  const prompt = [Array.from({ length: 4 }, (_, i) => (i * 131 + 7) % V)];
  const rates: number[] = [];
  const cpuMs: number[] = [];
  // this VM's bandwidth moves from minute to minute: a probe before each measured run, and the
  // config's fraction against the median of its own probes
  const reads: number[] = [];
  for (let i = 0; i < o.warmup + o.runs; i++) {
    if (i >= o.warmup) reads.push(...(readBandwidth(1, o.smoke)?.gbs ?? []));
    // process CPU time from the first new token (the prefill's) to the end: the decode steps only
    let first: number | null = null;
    const r = generate(model, prompt, { maxNewTokens: steps, onToken: () => (first ??= cpuNowMs()) });
    if (i < o.warmup) continue;
    rates.push(r.decodeTokensPerS);
    if (first !== null && steps > 1) cpuMs.push((cpuNowMs() - first) / (steps - 1));
  }
  const bytes = weightBytes(model).perToken;
  const base = { bench: 'decode', backend, config: name };
  const s = stats(rates);
  o.emit(record({ ...base, metric: 'decode_tokens_per_s_b1', unit: 'tokens/s' }, s));
  if (cpuMs.length > 0) o.emit(record({ ...base, metric: 'decode_cpu_ms_per_token', unit: 'ms' }, stats(cpuMs)));
  o.emit(record({ ...base, metric: 'weight_bytes_per_token', unit: 'bytes' }, stats([bytes])));
  const achieved = stats(rates.map((r) => (r * bytes) / 1e9));
  o.emit(record({ ...base, metric: 'achieved_gb_per_s', unit: 'GB/s' }, achieved));
  if (reads.length > 0) {
    const read = stats(reads);
    o.emit(record({ ...base, metric: 'read_gb_per_s', unit: 'GB/s' }, read));
    o.emit(record({ ...base, metric: 'bandwidth_fraction', unit: 'ratio' }, stats([achieved.median / read.median])));
  }
  o.emit(record({ ...base, metric: 'peak_rss_mb', unit: 'MiB' }, stats([peakRssMb()])));
}

export const decodeCompactSuite: Suite = async (o) => {
  const backend = await useBackend(o.backend);
  const bw = readBandwidth(Math.max(3, o.runs), o.smoke);
  if (bw !== null)
    o.emit(
      record({ bench: 'decode', backend, config: 'machine', metric: 'read_gb_per_s', unit: 'GB/s' }, stats(bw.gbs)),
    );
  const small = o.smoke ? 'tiny' : 'bench-small';
  for (const dtype of ['f32', 'bf16', 'int8', 'int4'] as const) {
    const model = compactModel(initModel(presetConfig(small), 0), dtype);
    await measure(o, backend, dtype === 'f32' ? small : `${small}@${dtype}`, model, o.smoke ? 4 : 64);
    model.dispose();
  }
  if (o.smoke || process.env.DCFORMER_BENCH_2P8B === '0') return;
  const big = presetConfig('dcformer-2.8b');
  for (const dtype of ['int4', 'int8', 'bf16', 'f32'] as const) {
    const model = randomModel(big, dtype);
    await measure(o, backend, `2.8b-shape@${dtype}`, model, 16);
    model.dispose();
    tf.disposeVariables();
  }
};
