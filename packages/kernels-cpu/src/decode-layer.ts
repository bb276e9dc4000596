/**
 * The decode layer of @dcformer/kernels for the cpu backend (native/decode-layer.cc): the block's
 * weights are handed over as the arrays the backend already holds (no copies), in the slot order
 * the addon reads. The addon checks every length against the sizes it is given.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Tensor } from '@tensorflow/tfjs-core';
import {
  type CompactWeight,
  type DecodeLayerCall,
  type DecodeLayerFn,
  FORMAT_CODE,
  isCompactWeight,
  isQuantized,
} from '@dcformer/kernels';
import { f32, i32 } from './backend-data.js';

/** [format, data, scales, N, K, G]: format −1 float32 [N,K], −2 float32 [K,N], 0..3 compact. */
type MatArg = [number, Float32Array | Int32Array, Float32Array | null, number, number, number];

export interface DecodeLayerAddon {
  /**
   * params: the layer's numbers, then each matrix's format (−3 absent), N, K, G; then, one argument
   * each, the layer's arrays and each matrix's data and scales.
   */
  decodeLayer(params: Float64Array, ...arrays: (Float32Array | Int32Array | null)[]): void;
}

function values(backend: unknown, t: Tensor, who: string): Float32Array {
  const v = f32(backend, t);
  if (v === null) throw new Error(`decodeLayer: internal: '${who}' is not a float32 array on the host`);
  return v;
}

/**
 * A float32 matrix [out, in] (nn.Linear) or, with `inputMajor` (DCMHA's dw1 / dd), [in, …out]; or a
 * compact weight, always [out, in].
 */
function matrix(backend: unknown, w: Tensor | CompactWeight, who: string, inputMajor = false): MatArg {
  if (!isCompactWeight(w)) {
    const [a, ...rest] = w.shape as number[];
    const b = rest.reduce((x, y) => x * y, 1);
    return inputMajor ? [-2, values(backend, w, who), null, b, a, 0] : [-1, values(backend, w, who), null, a, b, 0];
  }
  const data = i32(backend, w.data);
  if (data === null) throw new Error(`decodeLayer: internal: '${who}' is not packed on the host`);
  const scales = w.scales === null ? null : values(backend, w.scales, `${who}.scales`);
  return [FORMAT_CODE[w.format], data, scales, w.N, w.K, isQuantized(w.format) ? w.groupSize : 0];
}

export function decodeLayerFn(addon: DecodeLayerAddon): DecodeLayerFn {
  return (call: DecodeLayerCall) => {
    const backend = tf.backend();
    const { shape: s, weights: w, rows } = call;
    const mat = (t: Tensor | CompactWeight | undefined, who: string, major = false) =>
      t === undefined ? null : matrix(backend, t, who, major);
    const mats = [
      mat(w.wqkv, 'wqkv'),
      mat(w.wo, 'wo'),
      mat(w.w1, 'w1'),
      mat(w.w3, 'w3'),
      mat(w.w2, 'w2'),
      s.dcmha ? mat(w.dw1, 'dw1', true) : null,
      s.dcmha ? mat(w.dd, 'dd', true) : null,
    ];
    const opt = (t: Tensor | undefined, who: string) => (t === undefined ? null : values(backend, t, who));
    const side = s.dcmha && s.keyWise ? rows.side : null;
    const arrays: (Float32Array | Int32Array | null)[] = [
      call.x,
      values(backend, w.attentionNorm, 'attentionNorm'),
      values(backend, w.ffnNorm, 'ffnNorm'),
      s.qkNorm ? opt(w.qNorm, 'qNorm') : null,
      s.qkNorm ? opt(w.kNorm, 'kNorm') : null,
      call.cos,
      call.sin,
      s.dcmha ? opt(w.qkw, 'qkw') : null,
      rows.k,
      rows.v,
      ...(side ?? [null, null, null, null, null, null]),
      opt(w.attentionNormBias, 'attentionNormBias'),
      opt(w.ffnNormBias, 'ffnNormBias'),
      opt(w.wqkvBias, 'wqkvBias'),
      opt(w.woBias, 'woBias'),
      opt(w.w1Bias, 'w1Bias'),
      opt(w.w2Bias, 'w2Bias'),
      call.keyStart === null ? null : Float32Array.from(call.keyStart),
    ];
    const flags =
      (s.qkNorm ? 1 : 0) |
      (s.dcmha ? 2 : 0) |
      (s.queryWise ? 4 : 0) |
      (s.keyWise ? 8 : 0) |
      (s.layerNorm ? 16 : 0) |
      (s.parallelResidual ? 32 : 0) |
      (s.geluMlp ? 64 : 0);
    const numbers = [
      call.batch,
      s.D,
      s.N,
      s.E,
      s.R / 2,
      s.F,
      s.I,
      s.C,
      s.normEps,
      s.qkEps,
      flags,
      call.window ?? 0,
      call.position,
      rows.start,
      rows.first,
      rows.count,
      rows.cap,
    ];
    for (const m of mats) {
      arrays.push(m === null ? null : m[1], m === null ? null : m[2]);
      numbers.push(...(m === null ? [-3, 0, 0, 0] : [m[0], m[3], m[4], m[5]]));
    }
    addon.decodeLayer(new Float64Array(numbers), ...arrays);
  };
}

/** The addon's decode layer, or null for an addon built before it. */
export function decodeLayerAddon(addon: unknown): DecodeLayerAddon | null {
  return addon !== null && typeof Reflect.get(addon as object, 'decodeLayer') === 'function'
    ? (addon as DecodeLayerAddon)
    : null;
}
