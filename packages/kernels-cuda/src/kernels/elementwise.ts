/**
 * Element-wise kernels of the `cuda` backend (native/elementwise.cu): the unary float32 ops, the
 * binary ops with broadcasting (float32, and int32 where integer arithmetic is defined), AddN,
 * Cast, Select, and the fills (Fill, ZerosLike, OnesLike, Range). Anything else — another dtype, a
 * rank past 8 — falls back to the cpu backend, counted.
 */
import { backend_util } from '@tensorflow/tfjs-core';
import type { DataType, KernelConfig, TensorInfo } from '@tensorflow/tfjs-core';
import type { CudaBackend } from '../backend.js';
import { BinaryOp, UnaryOp, dtypeCode } from './codes.js';
import { MAX_RANK, broadcastStrides, deviceKernel, sizeOf, stridesOf, type KernelArgs } from './kernel.js';

/** The attrs of the three parameterised unary kernels as the kernel's alpha and beta. */
function unaryParams(name: string, attrs: KernelArgs['attrs']): [number, number] {
  const a = attrs ?? {};
  if (name === 'LeakyRelu' || name === 'Step') return [Number(a.alpha ?? 0), 0];
  if (name === 'ClipByValue') return [Number(a.clipValueMin), Number(a.clipValueMax)];
  return [0, 0];
}

function unaryKernel(name: keyof typeof UnaryOp, backendName: string): KernelConfig {
  return deviceKernel(name, backendName, (args, be) => {
    const x = args.inputs.x as TensorInfo;
    if (x.dtype !== 'float32') return null;
    const out = be.makeOutput(x.shape, 'float32');
    be.addon.unary(UnaryOp[name], be.handle(x), be.handle(out), sizeOf(x.shape), ...unaryParams(name, args.attrs));
    return out;
  });
}

/** a op b over their broadcast shape into a new tensor, or null for what the kernel does not cover. */
export function binaryOp(be: CudaBackend, op: number, a: TensorInfo, b: TensorInfo): TensorInfo | null {
  const compare = op >= BinaryOp.Equal;
  const floatOnly = op === BinaryOp.RealDiv || op === BinaryOp.Pow;
  // the cpu backend's FloorDiv of float32 gives int32: only its int32 form is a device kernel
  if (op === BinaryOp.FloorDiv && a.dtype !== 'int32') return null;
  if (a.dtype !== b.dtype || (a.dtype !== 'float32' && (a.dtype !== 'int32' || floatOnly))) return null;
  const shape = backend_util.assertAndGetBroadcastShape(a.shape, b.shape);
  if (shape.length > MAX_RANK) return null;
  const out = be.makeOutput(shape, compare ? 'bool' : a.dtype);
  be.addon.binary(
    op,
    a.dtype === 'float32' ? 0 : 1,
    be.handle(a),
    be.handle(b),
    be.handle(out),
    shape,
    broadcastStrides(a.shape, shape),
    broadcastStrides(b.shape, shape),
  );
  return out;
}

function binaryKernel(name: keyof typeof BinaryOp, backendName: string): KernelConfig {
  return deviceKernel(name, backendName, ({ inputs }, be) =>
    binaryOp(be, BinaryOp[name], inputs.a as TensorInfo, inputs.b as TensorInfo),
  );
}

/** AddN: ((a0 + a1) + a2) + …, the cpu backend's order, the running sum updated in place. */
function addNKernel(backendName: string): KernelConfig {
  return deviceKernel('AddN', backendName, (args, be) => {
    const list = Object.values(args.inputs) as TensorInfo[];
    const first = list[0];
    if (list.some((t) => t.dtype !== first.dtype || t.shape.join() !== first.shape.join())) return null;
    if (dtypeCode(first.dtype) === null || first.dtype === 'bool') return null;
    const out = be.makeOutput(first.shape, first.dtype);
    const n = sizeOf(first.shape);
    const flat = [n];
    const dense = [1];
    if (list.length === 1) be.addon.bufferCopy(be.handle(out), be.handle(first), n * 4);
    for (let i = 1; i < list.length; i++) {
      const acc = i === 1 ? first : out;
      be.addon.binary(
        BinaryOp.Add,
        first.dtype === 'float32' ? 0 : 1,
        be.handle(acc),
        be.handle(list[i]),
        be.handle(out),
        flat,
        dense,
        dense,
      );
    }
    return out;
  });
}

function castKernel(backendName: string): KernelConfig {
  return deviceKernel('Cast', backendName, (args, be) => {
    const x = args.inputs.x as TensorInfo;
    const to = args.attrs?.dtype as DataType;
    const from = dtypeCode(x.dtype);
    const code = dtypeCode(to);
    if (from === null || code === null) return null;
    if (x.dtype === to) return be.shareAs(x, x.shape);
    const out = be.makeOutput(x.shape, to);
    be.addon.cast(be.handle(x), from, be.handle(out), code, sizeOf(x.shape));
    return out;
  });
}

/**
 * Select(condition, t, e) with a condition of t's shape (what tf.where passes: it broadcasts first).
 * Other condition shapes fall back: the cpu kernel's rank-1 case repeats t[i] / e[i] over row i
 * rather than choosing rows, and the device should give the cpu backend's answer.
 */
function selectKernel(backendName: string): KernelConfig {
  return deviceKernel('Select', backendName, ({ inputs }, be) => {
    const { condition: c, t, e } = inputs as Record<'condition' | 't' | 'e', TensorInfo>;
    if (t.dtype !== e.dtype || t.dtype === 'bool' || dtypeCode(t.dtype) === null || c.dtype !== 'bool') return null;
    if (t.shape.join() !== e.shape.join() || t.shape.length > MAX_RANK || t.shape.length === 0) return null;
    if (c.shape.join() !== t.shape.join()) return null;
    const out = be.makeOutput(t.shape, t.dtype);
    const dense = stridesOf(t.shape);
    be.addon.select(be.handle(c), be.handle(t), be.handle(e), be.handle(out), t.shape, dense, dense, dense);
    return out;
  });
}

function filled(be: CudaBackend, shape: number[], dtype: DataType, start: number, step = 0): TensorInfo | null {
  const code = dtypeCode(dtype);
  if (code === null) return null;
  const out = be.makeOutput(shape, dtype);
  be.addon.fill(be.handle(out), code, sizeOf(shape), start, step);
  return out;
}

function fillKernels(backendName: string): KernelConfig[] {
  return [
    deviceKernel('Fill', backendName, ({ attrs }, be) =>
      typeof attrs?.value === 'number'
        ? filled(be, attrs.shape as number[], (attrs.dtype as DataType) ?? 'float32', attrs.value)
        : null,
    ),
    deviceKernel('ZerosLike', backendName, ({ inputs }, be) => {
      const x = inputs.x as TensorInfo;
      return filled(be, x.shape, x.dtype, 0);
    }),
    deviceKernel('OnesLike', backendName, ({ inputs }, be) => {
      const x = inputs.x as TensorInfo;
      return filled(be, x.shape, x.dtype, 1);
    }),
    // The cpu kernel adds `step` to a float32 running value; start + i·step computed once matches
    // it only when every value is an exact integer, so other float ranges fall back.
    deviceKernel('Range', backendName, ({ attrs }, be) => {
      const { start, stop } = attrs as { start: number; stop: number };
      // as the cpu kernel: a decreasing range with step 1 counts down
      const step = stop < start && attrs?.step === 1 ? -1 : (attrs?.step as number);
      const dtype = (attrs?.dtype as DataType) ?? 'float32';
      if (!Number.isInteger(start) || !Number.isInteger(step)) return null;
      const empty = start === stop || (start < stop && step < 0) || (stop < start && step > 1);
      const n = empty ? 0 : Math.abs(Math.ceil((stop - start) / step));
      if (dtype === 'float32' && Math.max(Math.abs(start), Math.abs(start + n * step)) > 2 ** 24) return null;
      return filled(be, [n], dtype, start, step);
    }),
  ];
}

export function elementwiseKernels(backendName: string): KernelConfig[] {
  return [
    ...(Object.keys(UnaryOp) as (keyof typeof UnaryOp)[]).map((n) => unaryKernel(n, backendName)),
    ...(Object.keys(BinaryOp) as (keyof typeof BinaryOp)[]).map((n) => binaryKernel(n, backendName)),
    addNKernel(backendName),
    castKernel(backendName),
    selectKernel(backendName),
    ...fillKernels(backendName),
  ];
}
