// Every generic device kernel of the `cuda` backend (src/kernels/: element-wise, layout, reductions,
// softmax, gathers, BatchMatMul) against tfjs's own cpu backend on the same inputs, through the host
// build standing in for the device. Expected values come from tfjs-backend-cpu, never from the code
// under test; each case must also run without a fallback to the cpu backend (that is the point of a
// device kernel), except the cases marked as declined on purpose.
import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerCudaBackend, type CudaBackend } from '../src/backend.js';
import type { BinaryOp, UnaryOp } from '../src/kernels/codes.js';
import { hostAddon } from './host-build.js';

const addon = hostAddon('the cuda device-kernel tests');
const NAME = 'cuda-kernels-test';

/** Deterministic values in [-2, 2) with a few exact zeros and integers among them. */
function values(n: number, seed: number): number[] {
  return Array.from({ length: n }, (_, i) => {
    const v = Math.sin(seed * 97 + i * 1.7) * 2;
    return i % 7 === 3 ? 0 : i % 5 === 1 ? Math.round(v) : v;
  });
}
const r = (shape: number[], seed: number) => tf.tensor(values(tf.util.sizeFromShape(shape), seed), shape);
const pos = (shape: number[], seed: number) => tf.add(tf.abs(r(shape, seed)), 0.1);
const ints = (shape: number[], seed: number) =>
  tf.tensor(
    values(tf.util.sizeFromShape(shape), seed).map((v) => Math.round(v * 3)),
    shape,
    'int32',
  );

type Case = [label: string, f: () => tf.Tensor | tf.Tensor[]];

/** f on the cpu backend and on cuda: same shapes, dtypes and values (float32 within 1e-6 + 1e-5·|x|; others exact). */
async function expectSame(label: string, f: Case[1]): Promise<void> {
  await tf.setBackend('cpu');
  const want = tf.tidy(() =>
    [f()].flat().map((t) => ({ shape: t.shape, dtype: t.dtype, data: Array.from(t.dataSync()) })),
  );
  await tf.setBackend(NAME);
  const got = tf.tidy(() =>
    [f()].flat().map((t) => ({ shape: t.shape, dtype: t.dtype, data: Array.from(t.dataSync()) })),
  );
  expect(got.length, label).toBe(want.length);
  for (const [k, w] of want.entries()) {
    const g = got[k];
    expect([g.shape, g.dtype], `${label} output ${k}`).toEqual([w.shape, w.dtype]);
    const bad = w.data.findIndex((e, i) => {
      const a = g.data[i];
      if (!Number.isFinite(e)) return !Object.is(a, e) && !(Number.isNaN(a) && Number.isNaN(e));
      return w.dtype === 'float32' ? !(Math.abs(a - e) <= 1e-6 + 1e-5 * Math.abs(e)) : a !== e;
    });
    expect(bad, `${label} output ${k}: at ${bad} got ${g.data[bad]}, want ${w.data[bad]}`).toBe(-1);
  }
}

const fallbacks = () => [...(tf.findBackend(NAME) as CudaBackend).fallbacks().values()].reduce((a, b) => a + b, 0);

async function expectAllOnDevice(cases: Case[]): Promise<void> {
  const before = fallbacks();
  for (const [label, f] of cases) await expectSame(label, f);
  const counts = JSON.stringify([...(tf.findBackend(NAME) as CudaBackend).fallbacks()]);
  expect(fallbacks(), `fallbacks during these cases (all so far: ${counts})`).toBe(before);
}

describe.skipIf(addon === null)('the cuda backend device kernels against the cpu backend', () => {
  beforeAll(() => {
    expect(registerCudaBackend({ addon: addon!, name: NAME, log: () => {} })).toMatchObject({ registered: true });
  });
  afterAll(async () => {
    await tf.setBackend('cpu');
    tf.removeBackend(NAME);
  });

  it('unary float32 ops (every UnaryOp code)', async () => {
    const x = () => r([3, 17], 1);
    const ops: Record<keyof typeof UnaryOp, () => tf.Tensor> = {
      Neg: () => tf.neg(x()),
      Abs: () => tf.abs(x()),
      Sqrt: () => tf.sqrt(pos([3, 17], 2)),
      Rsqrt: () => tf.rsqrt(pos([3, 17], 3)),
      Square: () => tf.square(x()),
      Exp: () => tf.exp(x()),
      Log: () => tf.log(pos([3, 17], 4)),
      Tanh: () => tf.tanh(x()),
      Sigmoid: () => tf.sigmoid(x()),
      Erf: () => tf.erf(x()),
      Reciprocal: () => tf.reciprocal(pos([3, 17], 5)),
      Relu: () => tf.relu(x()),
      Expm1: () => tf.expm1(x()),
      Log1p: () => tf.log1p(pos([3, 17], 6)),
      Sign: () => tf.sign(x()),
      Floor: () => tf.floor(x()),
      Ceil: () => tf.ceil(x()),
      Sin: () => tf.sin(x()),
      Cos: () => tf.cos(x()),
      LeakyRelu: () => tf.leakyRelu(x(), 0.2),
      ClipByValue: () => tf.clipByValue(x(), -0.5, 0.7),
      Step: () => tf.step(x(), 0.3),
      Elu: () => tf.elu(x()),
      Relu6: () => tf.relu6(tf.mul(x(), 4)),
    };
    await expectAllOnDevice(Object.entries(ops));
  });

  it('binary ops with broadcasting (every BinaryOp code; float32 and int32)', async () => {
    const a = () => r([2, 3, 4], 7);
    const b = () => r([3, 1], 8);
    const ia = () => ints([2, 3, 4], 9);
    const ib = () => tf.tensor1d([3, -2, 1, 5], 'int32'); // non-zero divisors
    const ops: Record<keyof typeof BinaryOp, [(p: tf.Tensor, q: tf.Tensor) => tf.Tensor, boolean]> = {
      Add: [tf.add, true],
      Sub: [tf.sub, true],
      Multiply: [tf.mul, true],
      RealDiv: [tf.div, false],
      Maximum: [tf.maximum, true],
      Minimum: [tf.minimum, true],
      Pow: [(p, q) => tf.pow(tf.abs(p), q), false],
      SquaredDifference: [tf.squaredDifference, true],
      FloorDiv: [tf.floorDiv, true],
      Equal: [tf.equal, true],
      NotEqual: [tf.notEqual, true],
      Less: [tf.less, true],
      LessEqual: [tf.lessEqual, true],
      Greater: [tf.greater, true],
      GreaterEqual: [tf.greaterEqual, true],
    };
    const cases: Case[] = [];
    for (const [name, [op, int]] of Object.entries(ops)) {
      // FloorDiv of float32 is int32 on the cpu backend: only its int32 form is a device kernel
      if (name !== 'FloorDiv')
        cases.push([`${name} float32`, () => op(a(), b())], [`${name} scalar`, () => op(tf.scalar(0.5), a())]);
      if (int) cases.push([`${name} int32`, () => op(ia(), ib())]);
    }
    cases.push(
      ['AddN', () => tf.addN([a(), tf.mul(a(), 2), tf.sub(a(), 1)])],
      ['AddN int32', () => tf.addN([ia(), ia()])],
    );
    await expectAllOnDevice(cases);
  });

  it('cast, select and fills', async () => {
    const x = () => tf.mul(r([2, 5], 11), 3);
    await expectAllOnDevice([
      ['float32 → int32', () => tf.cast(x(), 'int32')],
      ['int32 → float32', () => tf.cast(ints([2, 5], 12), 'float32')],
      ['float32 → bool', () => tf.cast(x(), 'bool')],
      ['bool → float32', () => tf.cast(tf.greater(x(), 0), 'float32')],
      ['int32 → bool → int32', () => tf.cast(tf.cast(ints([2, 5], 13), 'bool'), 'int32')],
      ['select', () => tf.where(tf.greater(x(), 0), x(), tf.neg(x()))],
      ['select int32', () => tf.where(tf.less(ints([2, 5], 14), 0), ints([2, 5], 15), ints([2, 5], 16))],
      ['fill', () => tf.fill([2, 3], 1.5)],
      ['fill int32', () => tf.fill([4], -3, 'int32')],
      ['zerosLike / onesLike', () => [tf.zerosLike(x()), tf.onesLike(ints([3], 1)), tf.onesLike(tf.greater(x(), 0))]],
      [
        'range',
        () => [tf.range(0, 10, 3, 'int32'), tf.range(-2, 7, 2), tf.range(5, 0, 1), tf.range(4, -3, -2, 'int32')],
      ],
    ]);
  });

  it('layout: transpose, slices, joins, splits, pad, tile, broadcast, reshape (float32, int32, bool)', async () => {
    const x = () => r([2, 3, 4], 21);
    await expectAllOnDevice([
      ['transpose', () => tf.transpose(x(), [2, 0, 1])],
      ['transpose bool', () => tf.transpose(tf.greater(x(), 0), [1, 2, 0])],
      ['slice', () => tf.slice(x(), [0, 1, 1], [-1, 2, 2])],
      ['slice int32', () => tf.slice(ints([5, 6], 22), [1, 0], [3, -1])],
      ['stridedSlice', () => tf.stridedSlice(x(), [1, 2, 0], [2, 0, 4], [1, -1, 2])],
      ['stridedSlice masks', () => tf.stridedSlice(x(), [0, 1, 0], [0, 3, 3], [1, 1, 1], 1, 4, 0, 0, 0)],
      ['stridedSlice shrink', () => tf.stridedSlice(x(), [1, 0, 2], [2, 3, 3], [1, 1, 1], 0, 0, 0, 0, 5)],
      ['concat', () => tf.concat([x(), r([2, 1, 4], 23), r([2, 2, 4], 24)], 1)],
      ['concat int32 last axis', () => tf.concat([ints([2, 3], 25), ints([2, 1], 26)], -1)],
      ['stack', () => tf.stack([x(), x(), tf.neg(x())], 1)],
      ['unstack', () => tf.unstack(x(), 2)],
      ['split', () => tf.split(x(), [1, 2, 1], 2)],
      ['split even', () => tf.split(x(), 3, 1)],
      [
        'pad',
        () =>
          tf.pad(
            x(),
            [
              [1, 0],
              [0, 2],
              [1, 1],
            ],
            7,
          ),
      ],
      [
        'pad int32',
        () =>
          tf.pad(
            ints([2, 2], 27),
            [
              [0, 1],
              [2, 0],
            ],
            -1,
          ),
      ],
      ['tile', () => tf.tile(x(), [2, 1, 3])],
      ['broadcastTo', () => tf.broadcastTo(r([3, 1], 28), [2, 3, 4])],
      [
        'reshape, expandDims, squeeze',
        () => [tf.reshape(x(), [4, -1]), tf.expandDims(x(), -1), tf.squeeze(r([1, 3, 1], 29))],
      ],
      ['stridedSlice new axis and ellipsis', () => tf.stridedSlice(x(), [0, 1], [0, 3], [1, 1], 0, 0, 1, 2, 0)],
      [
        'stack negative axis, tile int32, pad bool',
        () => [
          tf.stack([x(), x()], -1),
          tf.tile(ints([2, 3], 30), [3, 2]),
          tf.pad(tf.greater(r([2, 2], 31), 0), [
            [1, 1],
            [0, 1],
          ]),
        ],
      ],
    ]);
  });

  it('reductions, softmax, gathers and batched matmul', async () => {
    const x = () => r([3, 4, 5], 31);
    await expectAllOnDevice([
      ['sum all', () => tf.sum(x())],
      ['sum axes 0,2 keepDims', () => tf.sum(x(), [0, 2], true)],
      ['mean', () => tf.mean(x(), 1)],
      ['max last', () => tf.max(x(), -1)],
      ['min first', () => tf.min(x(), 0)],
      ['prod', () => tf.prod(x(), 2)],
      ['argMax', () => tf.argMax(x(), 1)],
      ['argMin', () => tf.argMin(x(), 0)],
      [
        'max and min let NaN through',
        () => [tf.max(tf.tensor2d([1, NaN, 3, 4, 5, 6], [2, 3]), 1), tf.min(tf.tensor1d([2, NaN, -1]))],
      ],
      ['softmax', () => tf.softmax(tf.mul(x(), 5))],
      ['logSoftmax', () => tf.logSoftmax(x())],
      ['softmax long rows', () => tf.softmax(r([2, 700], 32))],
      ['gather', () => tf.gather(r([5, 3], 33), tf.tensor2d([1, 4, 0, 0], [2, 2], 'int32'))],
      ['gather axis 1 int32', () => tf.gather(ints([2, 6, 2], 34), tf.tensor1d([5, 0, 2], 'int32'), 1)],
      ['unsortedSegmentSum', () => tf.unsortedSegmentSum(r([6, 3], 35), tf.tensor1d([0, 2, 0, 1, 2, 2], 'int32'), 4)],
      ['matMul batched', () => tf.matMul(r([2, 5, 7], 36), r([2, 7, 3], 37))],
      ['matMul transposed', () => tf.matMul(r([2, 7, 5], 38), r([2, 3, 7], 39), true, true)],
      ['matMul broadcast b', () => tf.matMul(r([3, 4, 6], 40), r([6, 2], 41))],
      ['matMul with K = 0', () => tf.matMul(tf.zeros([2, 0]), tf.zeros([0, 3]))],
      [
        'softmax of a vector, sum of a cast mask',
        () => [tf.softmax(r([9], 42)), tf.sum(tf.cast(tf.greater(x(), 0), 'float32'), 1)],
      ],
    ]);
  });

  it('declines what it does not cover and falls back, counted, to the same values', async () => {
    const be = tf.findBackend(NAME) as CudaBackend;
    const before = new Map(be.fallbacks());
    await expectSame('int32 Neg', () => tf.neg(ints([5], 51)));
    await expectSame('int32 Sum', () => tf.sum(ints([2, 3], 52), 1));
    await expectSame('float32 FloorDiv', () => tf.floorDiv(r([2, 3], 53), tf.add(tf.abs(r([3], 54)), 0.5)));
    await expectSame('gather with batchDims', () =>
      tf.gather(r([2, 3, 2], 55), tf.tensor2d([2, 0, 1, 1], [2, 2], 'int32'), 1, 1),
    );
    // the Select kernel itself (tf.where broadcasts first): the cpu kernel's own rank-1 condition rule
    await expectSame(
      'select with a rank-1 condition',
      () =>
        tf.engine().runKernel('Select', {
          condition: tf.tensor1d([true, false], 'bool'),
          t: r([2, 3], 56),
          e: r([2, 3], 57),
        }) as tf.Tensor,
    );
    const after = be.fallbacks();
    for (const name of ['Neg', 'Sum', 'FloorDiv', 'GatherV2', 'Select'])
      expect(after.get(name), name).toBe((before.get(name) ?? 0) + 1);
  });
});
