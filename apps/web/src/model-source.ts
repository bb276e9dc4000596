/**
 * A model folder in the browser: config.json (official keys) + model.safetensors (or a sharded
 * model.safetensors.index.json) + tokenizer.json, from a URL or from files the user picked. Float
 * checkpoints (F32 / F16 / BF16) load as float32 or with their weight matrices held as bf16 / f16 /
 * int8 / int4; quantised checkpoints (`dcformer quantize`: a `quantization` block in config.json,
 * `P.qweight` + `P.scales` tensors) in their own format. The memory each format needs is worked out
 * from config.json and stated before the weights are read (planFormats).
 */
import * as tf from '@tensorflow/tfjs-core';
import { type PackedWeight, type WeightDtype, WEIGHT_DTYPES, compactWeight } from '@dcformer/kernels';
import {
  compactSpecs,
  installCompact,
  intoPair,
  modelFromWeights,
  packSpec,
  pairStorage,
  parseConfig,
  parseQuantization,
  parseSafetensors,
  parseSafetensorsHeader,
  prefixOf,
  safetensorsPrefixLength,
  toFloat32,
  weightBytesOf,
  weightSpecs,
  type DcformerModel,
  type ModelConfig,
  type NamedArray,
  type QuantizationBlock,
  type RawTensor,
} from '@dcformer/model';
import { tokenizerFromJson, type Tokenizer } from '@dcformer/tokenizer';
import type { BackendChoice } from './backend.js';

export interface LoadedModel {
  model: DcformerModel;
  tokenizer: Tokenizer;
  source: string;
  parameters: number;
  /** The format the weights are held in. */
  dtype: WeightDtype;
  /** Bytes of the weights in memory in that format. */
  weightBytes: number;
}

/** Reads one file of the folder, or null when it is not there. */
export type Reader = (name: string) => Promise<Uint8Array | null>;

/** A file read by byte ranges (a picked File: `slice`), so a multi-GB checkpoint is never held whole. */
export interface RangeFile {
  size: number;
  /** Bytes [start, end). */
  read(start: number, end: number): Promise<Uint8Array>;
}

/** Opens one file of the folder for range reads, or null when it is not there. */
export type RangeOpener = (name: string) => Promise<RangeFile | null>;

function urlReader(base: string): Reader {
  const root = base.endsWith('/') ? base : `${base}/`;
  return async (name) => {
    const res = await fetch(new URL(name, new URL(root, location.href)));
    if (res.status === 404) return null;
    if (!res.ok) throw new Error(`${root}${name}: HTTP ${res.status}`);
    return new Uint8Array(await res.arrayBuffer());
  };
}

function fileReader(files: FileList | File[]): Reader {
  // A folder picked with webkitdirectory gives paths like "tiny/config.json": match on the base name.
  const byName = new Map(Array.from(files).map((f) => [f.name, f]));
  return async (name) => {
    const f = byName.get(name);
    return f ? new Uint8Array(await f.arrayBuffer()) : null;
  };
}

function fileOpener(files: FileList | File[]): RangeOpener {
  const byName = new Map(Array.from(files).map((f) => [f.name, f]));
  return async (name) => {
    const f = byName.get(name);
    if (f === undefined) return null;
    return { size: f.size, read: async (start, end) => new Uint8Array(await f.slice(start, end).arrayBuffer()) };
  };
}

/** The tensors of one safetensors file, read tensor by tensor through `file`'s ranges (header checked first). */
async function* rangedTensors(file: RangeFile, label: string): AsyncGenerator<[string, RawTensor]> {
  const prefixLength = safetensorsPrefixLength(await file.read(0, Math.min(8, file.size)), file.size, label);
  const header = parseSafetensorsHeader(await file.read(0, prefixLength), file.size, label);
  for (const [name, e] of header.entries)
    yield [
      name,
      { dtype: e.dtype, shape: e.shape, bytes: await file.read(header.dataStart + e.begin, header.dataStart + e.end) },
    ];
}

const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);

async function need(read: Reader, name: string, where: string): Promise<Uint8Array> {
  const bytes = await read(name);
  if (bytes === null)
    throw new Error(`${where}: no ${name} (a model folder holds config.json, model.safetensors and tokenizer.json)`);
  return bytes;
}

/** What the page may load a picked folder as, stated before anything heavy is read. */
export interface FormatPlan {
  /** Bytes of weights in memory per format (linear weights and embedding compact, the rest float32). */
  needs: Record<WeightDtype, number>;
  /** Formats whose weights fit this backend's limit; a quantised checkpoint offers only its own. */
  fits: WeightDtype[];
  /** What the page loads: the requested format, else the checkpoint's own if it fits, else the most precise that fits. */
  choice: WeightDtype | null;
  /** The checkpoint's own format: its quantization block's, else float32 (16-bit files are widened unless asked). */
  stored: WeightDtype;
  /** One line for the page: the memory each format needs and what fits. */
  summary: string;
}

const gib = (n: number) => `${(n / 2 ** 30).toFixed(n < 2 ** 30 ? 2 : 1)} GiB`;

/**
 * Weights in memory per format for `config`, which fit `maxWeightBytes`, and the one to load. A
 * quantised checkpoint loads only in its own format; any float checkpoint (F32/F16/BF16) in any.
 */
export function planFormats(
  config: ModelConfig,
  quantization: QuantizationBlock | null,
  maxWeightBytes: number,
  requested: WeightDtype | null = null,
): FormatPlan {
  const G = quantization?.group_size ?? 64;
  const needs = Object.fromEntries(WEIGHT_DTYPES.map((d) => [d, weightBytesOf(config, d, G)])) as Record<
    WeightDtype,
    number
  >;
  const offered = quantization === null ? WEIGHT_DTYPES : [quantization.format];
  const fits = offered.filter((d) => needs[d] <= maxWeightBytes);
  const stored: WeightDtype = quantization?.format ?? 'f32';
  const choice =
    requested !== null
      ? fits.includes(requested)
        ? requested
        : null
      : fits.includes(stored)
        ? stored
        : (fits[0] ?? null);
  const listed = offered.map((d) => `${d} ${gib(needs[d])}${fits.includes(d) ? '' : ' (too large)'}`).join(' · ');
  const summary =
    `Weights in memory: ${listed}; this backend holds up to ${gib(maxWeightBytes)}. ` +
    (choice === null
      ? requested !== null && offered.includes(requested)
        ? `${requested} does not fit${fits.length > 0 ? `; formats that fit: ${fits.join(', ')}` : ''}.`
        : requested !== null
          ? `This checkpoint is quantised to ${stored}; it loads only as ${stored}.`
          : 'No format fits.'
      : `Loading as ${choice}${choice !== stored && requested === null ? ` (${stored} does not fit)` : ''}.`);
  return { needs, fits, choice, stored, summary };
}

/** The float32 values of rows [n0, n1) of a raw float tensor seen as [N, K]. */
function rowsAsFloat32(raw: RawTensor, K: number, n0: number, n1: number, name: string, file: string): Float32Array {
  const size = raw.bytes.length / raw.shape.reduce((a, b) => a * b, 1);
  const part: RawTensor = {
    dtype: raw.dtype,
    shape: [n1 - n0, K],
    bytes: raw.bytes.subarray(n0 * K * size, n1 * K * size),
  };
  return toFloat32(part, name, file);
}

/**
 * The model's weights from the folder's safetensors files, one file and one tensor at a time: float
 * tensors as float32, except the compact weights of `dtype`, packed in slices of rows (no float32 copy
 * of a whole weight); a quantised checkpoint's `P.qweight` bytes and `P.scales` become packed weights.
 */
async function readWeights(
  read: Reader,
  where: string,
  config: ModelConfig,
  dtype: WeightDtype,
  quantization: QuantizationBlock | null,
  backend: BackendChoice,
  sliceValues: number,
  open: RangeOpener | undefined,
): Promise<{ weights: Map<string, NamedArray>; packed: Map<string, PackedWeight> }> {
  // With range reads only the header is read up front; without, the single file is read whole.
  const singleRanged = open === undefined ? null : await open('model.safetensors');
  const single = open === undefined ? await read('model.safetensors') : null;
  const files: string[] = [];
  if (single !== null || singleRanged !== null) {
    files.push('model.safetensors');
  } else {
    const index = await read('model.safetensors.index.json');
    if (index === null) throw new Error(`${where}: no model.safetensors or model.safetensors.index.json`);
    const map = (JSON.parse(text(index)) as { weight_map?: Record<string, string> }).weight_map ?? {};
    files.push(...new Set(Object.values(map)));
  }
  const compact = new Map(
    (dtype === 'f32' ? [] : compactSpecs(config, true, true))
      .filter((s) => quantization === null || quantization.modules.includes(s.official))
      .map((s) => [s.official, s]),
  );
  const byPrefix = new Map([...compact.values()].map((s) => [prefixOf(s.official), s]));
  // fused pairs (w1|w3, dw1|dd) on host backends: each half moved into one buffer per pair as it is
  // packed, so installCompact fuses them without copying the pair
  const pairs = pairStorage([...compact.values()]);
  const weights = new Map<string, NamedArray>();
  const packed = new Map<string, PackedWeight>();
  const words = new Map<string, Int32Array>();
  const checkBuffer = (name: string, bytes: number) => {
    if (bytes > backend.maxTensorBytes)
      throw new Error(
        `${where}: tensor '${name}' needs ${(bytes / 2 ** 20).toFixed(0)} MiB as ${dtype}, more than ${backend.name} allows per buffer (${(backend.maxTensorBytes / 2 ** 20).toFixed(0)} MiB)`,
      );
  };
  const tensorsOf = async function* (file: string): AsyncGenerator<[string, RawTensor]> {
    if (open !== undefined) {
      const ranged = file === 'model.safetensors' ? singleRanged : await open(file);
      if (ranged === null) throw new Error(`${where}: no ${file}`);
      yield* rangedTensors(ranged, `${where}/${file}`);
      return;
    }
    const bytes = single !== null && file === 'model.safetensors' ? single : await need(read, file, where);
    yield* parseSafetensors(bytes, file).tensors;
  };
  for (const file of files) {
    for await (const [name, raw] of tensorsOf(file)) {
      const spec = compact.get(name);
      if (quantization !== null && name.endsWith('.qweight')) {
        const s = byPrefix.get(name.slice(0, -'.qweight'.length));
        const [N, K] = s?.shape ?? [0, 0];
        const want = quantization.format === 'int8' ? ['I8', N * K] : ['U8', (N * K) / 2];
        if (s === undefined || raw.dtype !== want[0] || raw.bytes.length !== want[1])
          throw new Error(
            `${where}/${file}: tensor '${name}' must be ${want[0]} for [${N},${K}]; found ${raw.dtype} [${raw.shape}]`,
          );
        checkBuffer(name, raw.bytes.length);
        const w = new Int32Array(raw.bytes.length / 4);
        new Uint8Array(w.buffer).set(raw.bytes); // the file's buffer is dropped after this file
        words.set(s.official, w);
        continue;
      }
      if (spec === undefined || quantization !== null) {
        weights.set(name, { shape: raw.shape, data: toFloat32(raw, name, file) });
        continue;
      }
      // a float weight held compactly: pack slices of rows as they are converted (DCMHA's dw1 / dd,
      // stored input-major, whole: packSpec transposes them; one layer's is a few MB)
      const [N, K] = spec.shape;
      const rows = Math.max(1, Math.floor(sliceValues / K));
      const parts: PackedWeight[] = [];
      if (spec.transposed) parts.push(packSpec(spec, toFloat32(raw, name, file), dtype as Exclude<WeightDtype, 'f32'>));
      else
        for (let n0 = 0; n0 < N; n0 += rows) {
          const n1 = Math.min(N, n0 + rows);
          parts.push(
            packSpec(
              { ...spec, shape: [n1 - n0, K] },
              rowsAsFloat32(raw, K, n0, n1, name, file),
              dtype as Exclude<WeightDtype, 'f32'>,
            ),
          );
        }
      const p = joinRows(parts, N, K, dtype as Exclude<WeightDtype, 'f32'>);
      checkBuffer(name, p.data.byteLength);
      packed.set(name, intoPair(pairs, spec, p));
      weights.set(name, { shape: spec.officialShape, data: new Float32Array(0) });
    }
  }
  if (quantization !== null) {
    for (const [name, spec] of compact) {
      const [N, K] = spec.shape;
      const G = quantization.group_size;
      const scales = weights.get(`${prefixOf(name)}.scales`);
      const data = words.get(name);
      if (data === undefined || scales === undefined || scales.data.length !== (N * K) / G)
        throw new Error(
          `${where}: '${name}' needs ${prefixOf(name)}.qweight and ${prefixOf(name)}.scales [${N},${K / G}] (group size ${G})`,
        );
      weights.delete(`${prefixOf(name)}.scales`);
      packed.set(
        name,
        intoPair(pairs, spec, { format: quantization.format, N, K, groupSize: G, data, scales: scales.data }),
      );
      weights.set(name, { shape: spec.officialShape, data: new Float32Array(0) });
    }
  }
  return { weights, packed };
}

/** Concatenates packed slices of rows (rows pack independently) into one packed weight. */
function joinRows(parts: PackedWeight[], N: number, K: number, format: Exclude<WeightDtype, 'f32'>): PackedWeight {
  if (parts.length === 1) return parts[0];
  const data = new Int32Array(parts.reduce((n, p) => n + p.data.length, 0));
  const withScales = parts[0].scales !== null;
  const scales = withScales ? new Float32Array(parts.reduce((n, p) => n + (p.scales as Float32Array).length, 0)) : null;
  let at = 0;
  let sat = 0;
  for (const p of parts) {
    data.set(p.data, at);
    at += p.data.length;
    if (scales !== null) {
      scales.set(p.scales as Float32Array, sat);
      sat += (p.scales as Float32Array).length;
    }
  }
  return { format, N, K, groupSize: parts[0].groupSize, data, scales };
}

export interface LoadOptions {
  /** Weights in memory; default: the checkpoint's own format if it fits, else the most precise that does. */
  dtype?: WeightDtype | null;
  /** Called with the plan (memory per format) before the weights are read. */
  onPlan?: (plan: FormatPlan) => void;
  /** Float32 values converted (and packed) at a time for a compact weight; default 4 Mi (16 MiB). */
  sliceValues?: number;
  /** Range reads of the safetensors files (picked files): tensor by tensor instead of whole files. */
  open?: RangeOpener;
}

export async function loadFolder(
  read: Reader,
  where: string,
  backend: BackendChoice,
  options: LoadOptions = {},
): Promise<LoadedModel> {
  const json = JSON.parse(text(await need(read, 'config.json', where)));
  const config = parseConfig(json, { onWarning: (m) => console.warn(m) });
  const quantization = parseQuantization(json, config, `${where}/config.json`);
  const plan = planFormats(config, quantization, backend.maxWeightBytes, options.dtype ?? null);
  options.onPlan?.(plan);
  if (plan.choice === null) throw new Error(`${where}: ${plan.summary}`);
  const tokenizer = tokenizerFromJson(JSON.parse(text(await need(read, 'tokenizer.json', where))));
  const { weights, packed } = await readWeights(
    read,
    where,
    config,
    plan.choice,
    quantization,
    backend,
    options.sliceValues ?? 1 << 22,
    options.open,
  );
  const model = modelFromWeights(config, weights, {
    source: where,
    onWarning: (m) => console.warn(m),
    placeholders: new Set(packed.keys()),
  });
  for (const spec of model.specs) {
    const p = packed.get(spec.official);
    if (p !== undefined) installCompact(model, spec, compactWeight(p));
  }
  // Touch every float weight now (upload to the GPU), so the first generation does not pay for it.
  const sums = tf.tidy(() => [...model.variables.values()].map((v) => tf.sum(v)));
  await Promise.all(sums.map((s) => s.data()));
  tf.dispose(sums);
  const parameters = weightSpecs(config).reduce((n, s) => n + s.shape.reduce((a, b) => a * b, 1), 0);
  return { model, tokenizer, source: where, parameters, dtype: plan.choice, weightBytes: plan.needs[plan.choice] };
}

/** A folder given as a map of file name → bytes (tests, and anything already in memory). */
export function memoryReader(files: ReadonlyMap<string, Uint8Array>): Reader {
  return async (name) => files.get(name) ?? null;
}

/** Range reads over the same map (tests of the picked-file path). */
export function memoryOpener(files: ReadonlyMap<string, Uint8Array>): RangeOpener {
  return async (name) => {
    const bytes = files.get(name);
    return bytes === undefined ? null : { size: bytes.length, read: async (a, b) => bytes.slice(a, b) };
  };
}

export function loadFromUrl(base: string, backend: BackendChoice, options: LoadOptions = {}): Promise<LoadedModel> {
  return loadFolder(urlReader(base), base, backend, options);
}

export function loadFromFiles(
  files: FileList | File[],
  backend: BackendChoice,
  options: LoadOptions = {},
): Promise<LoadedModel> {
  const first = Array.from(files)[0] as (File & { webkitRelativePath?: string }) | undefined;
  const folder = first?.webkitRelativePath?.split('/')[0] || 'picked files';
  return loadFolder(fileReader(files), folder, backend, { open: fileOpener(files), ...options });
}
