import type { KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';
import type { WebGPUBackend, WebGPUProgram } from '@tensorflow/tfjs-backend-webgpu';
import {
  type CompactFormat,
  type CompactMatMulAttrs,
  DcCompactMatMul,
  compactMatMulAttrsOf,
  wordsPerRow,
} from '@dcformer/kernels';
import { flatDispatch } from '../program-util.js';

const WG = 64;

/**
 * DcCompactMatMul (@dcformer/kernels) in WGSL: y [M,N] = x [M,K] · dequant(W)ᵀ, W read as the packed
 * u32 words of compact-format.ts. One workgroup of 64 per output element: consecutive invocations
 * read consecutive words of the weight row (coalesced), decode them in registers and the workgroup
 * sums its 64 partial dot products. bf16 is a 16-bit shift, f16 `unpack2x16float` (core WGSL, no
 * shader-f16 needed; the sums stay float32 as the contract says), int8/int4 shifts and masks with
 * the group's scale applied once per word. K, G and the format are compiled in (few distinct shapes
 * per model); M and N come from the shape uniforms.
 */
export class CompactMatMulProgram implements WebGPUProgram {
  variableNames: string[];
  outputShape: number[];
  shaderKey: string;
  dispatchLayout: { x: number[] };
  dispatch: [number, number, number];
  workgroupSize: [number, number, number] = [WG, 1, 1];
  private readonly attrs: CompactMatMulAttrs;

  constructor(M: number, attrs: CompactMatMulAttrs) {
    this.attrs = attrs;
    const quantized = attrs.format === 'int8' || attrs.format === 'int4';
    this.variableNames = quantized ? ['x', 'wq', 'wscale'] : ['x', 'wq'];
    this.outputShape = [M, attrs.N];
    this.dispatchLayout = { x: [0, 1] };
    this.dispatch = flatDispatch(M * attrs.N * WG, this.workgroupSize);
    this.shaderKey = `dcCompactMatMul_${attrs.format}_K${attrs.K}_G${attrs.groupSize}`;
  }

  getUserCode(): string {
    const { format, K, groupSize: G } = this.attrs;
    const words = wordsPerRow(format as CompactFormat, K);
    const body: Record<CompactFormat, string> = {
      bf16: `
          let k = xb + 2 * w;
          acc += x[k] * bitcast<f32>(word << 16u) + x[k + 1] * bitcast<f32>(word & 0xffff0000u);`,
      f16: `
          let k = xb + 2 * w;
          let v = unpack2x16float(word);
          acc += x[k] * v.x + x[k + 1] * v.y;`,
      int8: `
          let k = 4 * w;
          let s = wscale[n * ${K / (G || 1)} + k / ${G || 1}];
          var d = 0.0;
          for (var i = 0u; i < 4u; i++) {
            let q = f32(bitcast<i32>(word << (24u - 8u * i)) >> 24u);
            d += x[xb + k + i32(i)] * q;
          }
          acc += d * s;`,
      int4: `
          let kb = (w / 4) * 32;
          let j0 = (w % 4) * 4;
          let s = wscale[n * ${K / (G || 1)} + kb / ${G || 1}];
          var d = 0.0;
          for (var i = 0u; i < 4u; i++) {
            let b = (word >> (8u * i)) & 0xffu;
            d += x[xb + kb + j0 + i32(i)] * (f32(b & 15u) - 8.0) + x[xb + kb + 16 + j0 + i32(i)] * (f32(b >> 4u) - 8.0);
          }
          acc += d * s;`,
    };
    return `
      var<workgroup> partial : array<f32, ${WG}>;

      fn main(index : i32) {
        let row = index / ${WG};
        let tid = index % ${WG};
        let N = uniforms.outShape[1];
        let valid = row < uniforms.xShape[0] * N;
        let m = row / N;
        let n = row % N;
        let xb = m * ${K};
        var acc = 0.0;
        if (valid) {
          for (var w = tid; w < ${words}; w += ${WG}) {
            let word = bitcast<u32>(wq[n * ${words} + w]);
            ${body[format as CompactFormat]}
          }
        }
        partial[tid] = acc;
        workgroupBarrier();
        for (var half = ${WG / 2}; half > 0; half = half / 2) {
          if (tid < half) { partial[tid] += partial[tid + half]; }
          workgroupBarrier();
        }
        if (valid && tid == 0) { result[row] = partial[0]; }
      }
    `;
  }
}

export const compactMatMulWebGPU: KernelFunc = ({ inputs, backend, attrs }) => {
  const webgpu = backend as WebGPUBackend;
  if (typeof webgpu.runWebGPUProgram !== 'function')
    throw new Error(`${DcCompactMatMul}: registered for 'webgpu' but run by another backend`);
  const { x, data, scales } = inputs as { x: TensorInfo; data: TensorInfo; scales?: TensorInfo };
  const a = compactMatMulAttrsOf(attrs);
  const program = new CompactMatMulProgram(x.shape[0], a);
  return webgpu.runWebGPUProgram(program, scales === undefined ? [x, data] : [x, data, scales], 'float32');
};

export const compactMatMulWebGPUConfig: KernelConfig = {
  kernelName: DcCompactMatMul,
  backendName: 'webgpu',
  kernelFunc: compactMatMulWebGPU,
};
