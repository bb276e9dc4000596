/**
 * Compact weights in a model (issue 18): the weight matrices of the linear layers — wqkv (or MUDD's
 * wq/wk/wv), wo, w1, w2, w3, the output projection —, DCMHA's two large dynamic projections dw1 and
 * dd, and optionally the token embedding held as bf16 / f16 / int8 / int4 (@dcformer/kernels'
 * compact formats) instead of float32 variables. Their products run through DcCompactMatMul, which
 * reads the packed words directly; embedding rows are dequantised as they are gathered. Everything
 * else (norms, qkw, biases, activations, accumulation) stays float32. A compact model is for
 * inference: its compact weights are not variables, so they take no gradient and are not saved by
 * saveModel.
 *
 * dw1 [D,1,4,K] and dd [D,1,4N] multiply as x·W with W stored input-major ([D, M]), the transpose of
 * nn.Linear's (out, in): they are packed as Wᵀ [M, D] (M = 4K or 4N), so that every compact weight
 * is [N, K] with groups along the input. Decode reads them every step (6.6 MB of float32 per layer
 * at the 2.8B shape, 13% of the int4 model's bytes when they stayed float32). qkw (4·K·2I·N) is
 * small and stays float32.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Tensor } from '@tensorflow/tfjs-core';
import {
  type CompactWeight,
  ConfigError,
  type PackedWeight,
  type WeightDtype,
  checkGroup,
  compactMatMul,
  compactWeight,
  compactWeightBytes,
  disposeCompactWeight,
  isCompactWeight,
  isHostBackend,
  isQuantized,
  packWeight,
  packedOf,
  unpackRows,
} from '@dcformer/kernels';
import type { ModelConfig } from './config.js';
import { linear as floatLinear } from './layers.js';
import type { DcformerModel } from './model.js';
import { type WeightSpec, weightSpecs } from './weights.js';

/** A weight matrix as the model holds it: a float32 tensor or a compact weight. */
export type LinearWeight = Tensor | CompactWeight;

/** y = x·Wᵀ (+ b) for W (out, in) in float32 or a compact format. */
export function linear(x: Tensor, weight: LinearWeight, bias?: Tensor): Tensor {
  if (!isCompactWeight(weight)) return floatLinear(x, weight, bias);
  return tf.tidy(() => {
    const y = compactMatMul(x, weight);
    return bias === undefined ? y : tf.add(y, bias);
  });
}

/** Rows of the token embedding for ids [B,T] → [B,T,D]; compact tables dequantise only those rows. */
export function embed(table: LinearWeight, ids_BT: Tensor): Tensor {
  if (!isCompactWeight(table)) return tf.gather(table, ids_BT);
  const ids = ids_BT.dataSync();
  const packed = packedOf(table);
  const D = table.K;
  const out = new Float32Array(ids.length * D);
  for (let i = 0; i < ids.length; i++) unpackRows(packed, ids[i], ids[i] + 1, out.subarray(i * D, (i + 1) * D));
  return tf.tensor(out, [...ids_BT.shape, D], 'float32');
}

const LINEAR_PATH = /\.(wqkv|wq|wk|wv|wo|w1|w2|w3)$/;
/** DCMHA's dw1 and dd: stored input-major, held compactly as their transposes. */
const INPUT_MAJOR_PATH = /\.attention\.(dw1|dd)$/;

/**
 * A weight a compact model holds compactly. `shape` is the packed matrix [N, K] (output rows, groups
 * along the input K); `transposed`: the official tensor is its transpose, [K, N] (dw1 as [D, 4K],
 * dd as [D, 4N]), and `officialShape` is the checkpoint's shape.
 */
export interface CompactSpec extends WeightSpec {
  transposed: boolean;
  officialShape: number[];
}

/**
 * The specs whose weights a compact model holds compactly (embedding only when asked; DCMHA's dw1 and
 * dd only when `dynamic`: the float-packing readers that do not transpose them leave it off).
 */
export function compactSpecs(config: ModelConfig, embeddings: boolean, dynamic = false): CompactSpec[] {
  const out: CompactSpec[] = [];
  for (const s of weightSpecs(config)) {
    const linear =
      s.shape.length === 2 &&
      (LINEAR_PATH.test(s.path) || s.path === 'output' || (embeddings && s.path === 'tokEmbeddings'));
    if (linear) out.push({ ...s, transposed: false, officialShape: s.shape });
    else if (dynamic && INPUT_MAJOR_PATH.test(s.path)) {
      const [D, ...rest] = s.shape;
      const M = rest.reduce((a, b) => a * b, 1);
      out.push({ ...s, shape: [M, D], transposed: true, officialShape: s.shape });
    }
  }
  return out;
}

/**
 * The dequantised values of `w`, the compact form of the official tensor `name`, in that tensor's
 * own layout (dw1 / dd turned back from their packed transposes): what a float32 twin of a compact
 * model assigns to its variable.
 */
export function dequantisedOfficial(name: string, w: CompactWeight): Float32Array {
  const rows = unpackRows(packedOf(w));
  return /\.dyn_w_proj\.(dw1|dd)$/.test(name) ? transposeRows(rows, w.N, w.K) : rows;
}

/** The [K, N] row-major matrix `data` (an input-major weight) as [N, K]. */
export function transposeRows(data: Float32Array, K: number, N: number): Float32Array {
  const out = new Float32Array(N * K);
  for (let k = 0; k < K; k++) {
    const row = data.subarray(k * N, (k + 1) * N);
    for (let n = 0; n < N; n++) out[n * K + k] = row[n];
  }
  return out;
}

export interface CompactOptions {
  /** int8/int4 group size along the input dimension (default 64; the input dimension: per channel). */
  groupSize?: number;
  /** Also hold the token embedding compactly (rows dequantised when gathered). Default true. */
  embeddings?: boolean;
}

const compactByModel = new WeakMap<DcformerModel, Map<string, CompactWeight>>();
/** Fused pairs (see fusePair) by model: disposed with it. */
const fusedByModel = new WeakMap<DcformerModel, CompactWeight[]>();

/** The compact weights of `model` by official name (empty for a float32 model). */
export function compactWeightsOf(model: DcformerModel): ReadonlyMap<string, CompactWeight> {
  return compactByModel.get(model) ?? new Map();
}

/** Disposes the compact weights of `model` (DcformerModel.dispose calls it). */
export function releaseCompact(model: DcformerModel): void {
  for (const w of compactByModel.get(model)?.values() ?? []) disposeCompactWeight(w);
  for (const w of fusedByModel.get(model) ?? []) disposeCompactWeight(w);
  compactByModel.delete(model);
  fusedByModel.delete(model);
}

/**
 * Weights read by the same input whose products one DcCompactMatMul computes when both are compact
 * alike: SwiGLU's w1 and w3 ([w1; w3] → feedForward.w13) and DCMHA's dw1 and dd ([dw1ᵀ; ddᵀ] →
 * attention.dwdd). One call instead of two per layer and decode step: each call wakes the thread
 * pool and splits its rows over the threads, which small N (dd: 4N = 128 rows) does badly.
 */
function fusionOf(path: string): { first: string; second: string; fused: string } | null {
  const ffn = /^(layers\.\d+\.feedForward)\.(w1|w3)$/.exec(path);
  if (ffn) return { first: `${ffn[1]}.w1`, second: `${ffn[1]}.w3`, fused: `${ffn[1]}.w13` };
  const dyn = /^(layers\.\d+\.attention)\.(dw1|dd)$/.exec(path);
  if (dyn) return { first: `${dyn[1]}.dw1`, second: `${dyn[1]}.dd`, fused: `${dyn[1]}.dwdd` };
  return null;
}

/**
 * Storage for fused pairs, allocated before their halves are packed (issue 18): the loaders and
 * compactModel pack each half straight into its row range of one buffer per pair, so fusePair finds
 * the halves adjacent and makes the fused weight as a view (no copy: concatenating after the fact held
 * every pair twice while loading, +1.4 GB of peak RSS at the 2.8B shape in bf16). `slot` returns the
 * range of `spec` (allocating the pair's buffers when the first half asks; words / scales per row as
 * its packing gives them), or null where fusePair would not fuse it: not a host backend, no partner
 * among `specs`, or a partner packed in another format, group size or row width.
 */
export function pairStorage(specs: readonly WeightSpec[]): {
  slot(
    spec: WeightSpec,
    format: WeightDtype,
    groupSize: number,
    wordsPerRow: number,
    scalesPerRow: number,
  ): { data: Int32Array; scales: Float32Array | null } | null;
} {
  const byPath = new Map(specs.map((s) => [s.path, s]));
  interface Pair {
    format: WeightDtype;
    groupSize: number;
    words: number;
    perRow: number;
    data: Int32Array;
    scales: Float32Array | null;
    taken: Set<string>;
  }
  const pairs = new Map<string, Pair>();
  return {
    slot(spec, format, groupSize, wordsPerRow, scalesPerRow) {
      const f = fusionOf(spec.path);
      if (f === null || !isHostBackend(tf.backend())) return null;
      const [first, second] = [byPath.get(f.first), byPath.get(f.second)];
      if (first === undefined || second === undefined) return null;
      const [N1, N2] = [first.shape[0], second.shape[0]];
      let pair = pairs.get(f.fused);
      if (pair === undefined) {
        pair = {
          format,
          groupSize,
          words: wordsPerRow,
          perRow: scalesPerRow,
          data: new Int32Array((N1 + N2) * wordsPerRow),
          scales: scalesPerRow > 0 ? new Float32Array((N1 + N2) * scalesPerRow) : null,
          taken: new Set(),
        };
        pairs.set(f.fused, pair);
      } else if (
        pair.format !== format ||
        pair.groupSize !== groupSize ||
        pair.words !== wordsPerRow ||
        pair.perRow !== scalesPerRow
      )
        return null;
      pair.taken.add(spec.path);
      if (pair.taken.size === 2) pairs.delete(f.fused); // both halves handed out: hold nothing after loading
      const [n0, n1] = spec.path === f.first ? [0, N1] : [N1, N1 + N2];
      return {
        data: pair.data.subarray(n0 * wordsPerRow, n1 * wordsPerRow),
        scales: pair.scales === null ? null : pair.scales.subarray(n0 * scalesPerRow, n1 * scalesPerRow),
      };
    },
  };
}

/** `b` directly follows `a` in one buffer: the view of both; else null. */
function adjacentView<T extends Int32Array | Float32Array>(a: T, b: T): T | null {
  if (a.buffer !== b.buffer || a.byteOffset + a.byteLength !== b.byteOffset) return null;
  return new (a.constructor as new (buffer: ArrayBufferLike, offset: number, length: number) => T)(
    a.buffer,
    a.byteOffset,
    a.length + b.length,
  );
}

let pairCopies = 0;
/** How many arrays of fused pairs were made by copying their halves (tests: the loaders pack in place). */
export function fusedPairCopies(): number {
  return pairCopies;
}

function concatArrays<T extends Int32Array | Float32Array>(a: T, b: T): T {
  pairCopies++;
  const out = new (a.constructor as new (n: number) => T)(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

/**
 * When `spec`'s fusion partner is compact too (same format, group size and input size) on a host
 * backend: one compact weight of both row blocks, and the two weights re-made as views of its arrays
 * (tfjs's cpu backend keeps a typed array it is given, so the bytes exist once; GPU backends would
 * upload three copies, so they are left unfused).
 */
function fusePair(model: DcformerModel, spec: WeightSpec, map: Map<string, CompactWeight>): void {
  const f = fusionOf(spec.path);
  if (f === null || !isHostBackend(tf.backend())) return;
  const specs = [f.first, f.second].map((path) => model.specs.find((s) => s.path === path));
  if (specs.some((s) => s === undefined)) return;
  const [sa, sb] = specs as WeightSpec[];
  const [A, B] = [map.get(sa.official), map.get(sb.official)];
  if (A === undefined || B === undefined) return;
  if (A.format !== B.format || A.groupSize !== B.groupSize || A.K !== B.K) return;
  const [a, b] = [packedOf(A), packedOf(B)];
  // halves packed into one pair's storage (pairStorage) are fused as they lie; others are copied
  const data = adjacentView(a.data, b.data) ?? concatArrays(a.data, b.data);
  const scales =
    a.scales !== null && b.scales !== null
      ? (adjacentView(a.scales, b.scales) ?? concatArrays(a.scales, b.scales))
      : null;
  const fused = compactWeight({ ...a, N: a.N + b.N, data, scales });
  const view = (p: PackedWeight, at: number, atScale: number): CompactWeight =>
    compactWeight({
      ...p,
      data: data.subarray(at, at + p.data.length),
      scales: scales === null ? null : scales.subarray(atScale, atScale + (p.scales as Float32Array).length),
    });
  const [A2, B2] = [view(a, 0, 0), view(b, a.data.length, a.scales?.length ?? 0)];
  disposeCompactWeight(A);
  disposeCompactWeight(B);
  map.set(sa.official, A2);
  map.set(sb.official, B2);
  setParam(model.params, sa.path, A2);
  setParam(model.params, sb.path, B2);
  setParam(model.params, f.fused, fused);
  let list = fusedByModel.get(model);
  if (list === undefined) fusedByModel.set(model, (list = []));
  list.push(fused);
}

function setParam(root: unknown, path: string, value: unknown): void {
  const keys = path.split('.');
  let node = root as Record<string, unknown>;
  for (const key of keys.slice(0, -1)) node = node[key] as Record<string, unknown>;
  node[keys[keys.length - 1]] = value;
}

/** Replaces the float32 variable of `spec` by `w` (the variable is disposed). */
export function installCompact(model: DcformerModel, spec: WeightSpec, w: CompactWeight): void {
  const v = model.variables.get(spec.official);
  if (v === undefined)
    throw new Error(`installCompact: internal: '${spec.official}' is not a float32 variable of the model`);
  v.dispose();
  model.variables.delete(spec.official);
  setParam(model.params, spec.path, w); // linear() and embed() take a compact weight where a tensor was
  let map = compactByModel.get(model);
  if (map === undefined) compactByModel.set(model, (map = new Map()));
  map.set(spec.official, w);
  fusePair(model, spec, map);
}

/**
 * Packs one float32 weight of `spec` into `dtype`; a bad group size is a ConfigError naming the tensor.
 * `data` is in the official layout: a transposed spec's is [K, N] (turned here).
 */
export function packSpec(
  spec: WeightSpec | CompactSpec,
  data: Float32Array,
  dtype: Exclude<WeightDtype, 'f32'>,
  groupSize?: number,
): PackedWeight {
  const [N, K] = spec.shape;
  const rows = 'transposed' in spec && spec.transposed ? transposeRows(data, K, N) : data;
  try {
    return packWeight(rows, N, K, dtype, isQuantized(dtype) ? (groupSize ?? Math.min(64, K)) : undefined);
  } catch (e) {
    if (e instanceof ConfigError) throw new ConfigError(`${spec.official}: ${e.message}`, 'group_size');
    throw e;
  }
}

/**
 * Converts the linear weights (and by default the embedding) of a float32 model to `dtype` in
 * place, one tensor at a time (each float32 variable is freed as soon as its packed form exists).
 */
export function compactModel(model: DcformerModel, dtype: WeightDtype, options: CompactOptions = {}): DcformerModel {
  if (dtype === 'f32') return model;
  const specs = compactSpecs(model.config, options.embeddings ?? true, true).filter((s) =>
    model.variables.has(s.official),
  ); // the rest is already compact
  const pairs = pairStorage(specs);
  for (const spec of specs) {
    const v = model.variables.get(spec.official) as Tensor;
    installCompact(
      model,
      spec,
      compactWeight(intoPair(pairs, spec, packSpec(spec, v.dataSync() as Float32Array, dtype, options.groupSize))),
    );
  }
  return model;
}

/**
 * `p` (the packed weight of `spec`) moved into its pair's storage where it has one (a copy of one
 * half, so that fusePair need not copy the pair), else `p` itself.
 */
export function intoPair(pairs: ReturnType<typeof pairStorage>, spec: WeightSpec, p: PackedWeight): PackedWeight {
  if (p.N === 0) return p;
  const slot = pairs.slot(spec, p.format, p.groupSize, p.data.length / p.N, (p.scales?.length ?? 0) / p.N);
  if (slot === null) return p;
  slot.data.set(p.data);
  if (slot.scales !== null && p.scales !== null) slot.scales.set(p.scales);
  return { ...p, data: slot.data, scales: slot.scales };
}

/** Bytes the model's weights occupy: compact data + scales, float32 for the rest. */
export function weightBytes(model: DcformerModel): { total: number; perToken: number } {
  let total = 0;
  let embedding = 0;
  for (const [name, v] of model.variables) {
    total += v.size * 4;
    if (name === 'tok_embeddings.weight') embedding = v.size * 4;
  }
  for (const [name, w] of compactWeightsOf(model)) {
    total += compactWeightBytes(w);
    if (name === 'tok_embeddings.weight') embedding = compactWeightBytes(w);
  }
  // a decode step reads every weight once, except the embedding (one row)
  return { total, perToken: total - embedding + embedding / model.config.vocabSize };
}

/** Bytes the weights of `config` take in `dtype` (linear weights and embedding compact, the rest float32). */
export function weightBytesOf(config: ModelConfig, dtype: WeightDtype, groupSize = 64): number {
  const compact = new Map(
    dtype === 'f32' ? [] : compactSpecs(config, true, true).map((s): [string, CompactSpec] => [s.official, s]),
  );
  const bits = dtype === 'int8' ? 8 : dtype === 'int4' ? 4 : dtype === 'f32' ? 32 : 16;
  let bytes = 0;
  for (const s of weightSpecs(config)) {
    const n = s.shape.reduce((a, b) => a * b, 1);
    const c = compact.get(s.official);
    if (c === undefined) bytes += 4 * n;
    else bytes += (n * bits) / 8 + (bits <= 8 ? (4 * n) / Math.min(groupSize, c.shape[1]) : 0);
  }
  return bytes;
}

/** config.json's `quantization` block as `dcformer quantize` writes it. */
export interface QuantizationBlock {
  /** 'int8' | 'int4'. */
  format: 'int8' | 'int4';
  group_size: number;
  /**
   * Official names of the weights stored as `<prefix>.qweight` + `<prefix>.scales` (prefix = name less
   * `.weight`). DCMHA's `layers.i.attention.dyn_w_proj.dw1` / `.dd` may be among them: their qweight
   * and scales are those of the transpose, [4K, D] and [4N, D] (see compactSpecs); checkpoints
   * written before they were quantised (not listed) keep them float32 under their official names.
   */
  modules: string[];
  scales_dtype: 'F32';
  /** One line naming the byte layout (documentation for readers of the file). */
  layout: string;
}

const TRANSPOSED_NOTE = '; dyn_w_proj.dw1 / .dd: [N, K] is the transpose of the official [D, 1, ...] (K = D)';
export const INT4_LAYOUT = `int4: U8 [N, K/2], blocks of 32 weights in 16 bytes, weight j < 16 = low nibble of byte j, weight 16+j = high nibble; w = (nibble - 8) * scale[n, k / group_size]${TRANSPOSED_NOTE}`;
export const INT8_LAYOUT = `int8: I8 [N, K]; w = q * scale[n, k / group_size]${TRANSPOSED_NOTE}`;

/** `P.weight` → `P` (the stored tensors are `P.qweight`, `P.scales`). */
export function prefixOf(official: string): string {
  return official.endsWith('.weight') ? official.slice(0, -'.weight'.length) : official;
}

/**
 * config.json's `quantization` block (the parsed JSON of the whole config) validated against
 * `config`: format, scales dtype, modules (weight matrices of this model), group size for each
 * module's input dimension; null when the config has none. `who` names the file in errors.
 */
export function parseQuantization(json: unknown, config: ModelConfig, who0: string): QuantizationBlock | null {
  const q = (json as Record<string, unknown> | null)?.quantization;
  if (q === undefined) return null;
  const who = `${who0}: quantization`;
  if (typeof q !== 'object' || q === null)
    throw new ConfigError(`${who} must be an object; got ${JSON.stringify(q)}`, 'quantization');
  const b = q as Record<string, unknown>;
  if (b.format !== 'int8' && b.format !== 'int4')
    throw new ConfigError(`${who}.format: unknown dtype '${String(b.format)}'; expected int8 or int4`, 'quantization');
  if (b.scales_dtype !== 'F32')
    throw new ConfigError(`${who}.scales_dtype must be 'F32'; got ${JSON.stringify(b.scales_dtype)}`, 'quantization');
  const compactable = new Map(compactSpecs(config, true, true).map((s) => [s.official, s]));
  if (!Array.isArray(b.modules) || b.modules.some((m) => typeof m !== 'string' || !compactable.has(m)))
    throw new ConfigError(
      `${who}.modules must list weight matrices of this model; got ${JSON.stringify(b.modules)?.slice(0, 120)}`,
      'quantization',
    );
  const G = b.group_size;
  if (typeof G !== 'number')
    throw new ConfigError(`${who}.group_size must be a number; got ${JSON.stringify(G)}`, 'quantization');
  for (const m of b.modules as string[])
    checkGroup(`${who} (${m})`, b.format, (compactable.get(m) as CompactSpec).shape[1], G);
  return {
    ...b,
    format: b.format,
    group_size: G,
    modules: b.modules as string[],
    scales_dtype: b.scales_dtype,
    layout: b.layout as string,
  };
}
