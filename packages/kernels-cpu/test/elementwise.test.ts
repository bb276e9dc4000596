// Each overridden element-wise kernel against the original tfjs cpu kernel on awkward shapes:
// broadcasting on every side, size-1 axes, permutations that collapse, non-trailing reductions.
import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import { compareClose } from '@dcformer/kernels/testing';
import { describe, expect, it } from 'vitest';
import { skipUnlessCI } from '../../../tools/test-env.mjs';
import { fastPathInfo, registerCpuKernels, unregisterCpuKernels } from '../src/index.js';

process.env.DCFORMER_QUIET = '1';
await tf.setBackend('cpu');

function both(f: () => tf.Tensor): [tf.Tensor, tf.Tensor] {
  registerCpuKernels();
  const fast = f();
  unregisterCpuKernels();
  const slow = f();
  return [fast, slow];
}

function check(label: string, f: () => tf.Tensor, atol = 1e-6): void {
  it(label, () => {
    const [fast, slow] = both(f);
    expect(fast.shape).toEqual(slow.shape);
    const rep = compareClose(fast.dataSync(), slow.dataSync(), slow.shape, { atol, rtol: 1e-6, label });
    expect(rep.ok, rep.message).toBe(true);
    tf.dispose([fast, slow]);
  });
}

const r = (shape: number[], seed: number, lo = -2, hi = 2) => tf.randomUniform(shape, lo, hi, 'float32', seed);

describe('element-wise kernels vs tfjs-backend-cpu', () => {
  it('overrides the element-wise kernels with the native ones (else fast and slow are both tfjs)', () => {
    registerCpuKernels();
    const info = fastPathInfo();
    unregisterCpuKernels();
    if (
      skipUnlessCI(
        'the native element-wise tests',
        info?.path === 'native' ? null : `the native addon is missing (${info?.detail})`,
      )
    )
      return;
    expect(info?.kernels).toEqual(expect.arrayContaining(['Add', 'Multiply', 'Transpose', 'Softmax', 'Sum', 'Exp']));
  });
  const pairs: [number[], number[]][] = [
    [
      [3, 4, 5],
      [3, 4, 5],
    ],
    [[3, 4, 5], [5]],
    [
      [3, 4, 5],
      [4, 1],
    ],
    [
      [3, 1, 5],
      [1, 4, 1],
    ],
    [[1], [2, 3]],
    [
      [2, 1, 4, 1],
      [2, 3, 1, 6],
    ],
    [[7, 33], []],
    [[0, 3], [3]],
    [
      [2, 8, 16, 24],
      [2, 1, 16, 1],
    ],
  ];
  for (const name of ['add', 'sub', 'mul', 'div', 'maximum', 'minimum', 'squaredDifference'] as const) {
    for (const [sa, sb] of pairs) {
      check(`${name} ${JSON.stringify(sa)} ${JSON.stringify(sb)}`, () =>
        tf[name](r(sa, 1), name === 'div' ? r(sb, 2, 0.5, 2) : r(sb, 2)),
      );
    }
  }
  for (const name of ['exp', 'neg', 'sigmoid', 'tanh', 'square'] as const)
    check(`${name}`, () => tf[name](r([5, 70], 3)), 1e-5);
  // the vectorised exp over its whole range: overflow to ∞, denormals, underflow to 0, NaN
  check('exp over ±120 (rtol 1e-6; denormals to 1e-44)', () => tf.exp(r([40, 257], 7, -120, 95)), 1e-44);
  check('exp special values', () => tf.exp(tf.tensor([NaN, Infinity, -Infinity, 0, -87.5, -103.9, 88.7, 88.8])), 0);
  check('sigmoid of large magnitudes', () => tf.sigmoid(r([9, 31], 8, -100, 100)), 1e-6);
  // tfjs' Erf is Abramowitz–Stegun 7.1.26 (error ≤ 1.5e-7); the native one is std::erf
  check('erf', () => tf.erf(r([5, 70], 3, -4, 4)), 3e-7);
  check('pow (x^1.5, the rsqrt gradient)', () => tf.pow(r([6, 40], 9, 0.01, 5), tf.scalar(1.5)), 1e-5);
  check('pow broadcast exponent', () => tf.pow(r([3, 4], 10, 0.1, 2), r([4], 11, -2, 2)), 1e-5);
  for (const name of ['rsqrt', 'sqrt', 'log'] as const) check(`${name}`, () => tf[name](r([5, 70], 3, 0.1, 3)), 1e-5);
  const perms: [number[], number[]][] = [
    [
      [2, 3, 4, 5],
      [0, 2, 3, 1],
    ],
    [
      [2, 3, 4, 5],
      [3, 2, 1, 0],
    ],
    [
      [2, 1, 4, 5],
      [0, 3, 2, 1],
    ],
    [
      [6, 7],
      [1, 0],
    ],
    [
      [2, 3, 4],
      [0, 1, 2],
    ],
    [
      [1, 5, 1, 3],
      [3, 1, 2, 0],
    ],
    [
      [3, 4, 5, 6, 2],
      [0, 2, 1, 4, 3],
    ],
  ];
  for (const [shape, perm] of perms)
    check(`transpose ${JSON.stringify(shape)} ${JSON.stringify(perm)}`, () => tf.transpose(r(shape, 4), perm));
  for (const shape of [
    [3, 50],
    [2, 3, 7],
    [1, 1],
    [4, 1],
  ])
    check(`softmax ${JSON.stringify(shape)}`, () => tf.softmax(r(shape, 5, -30, 30)), 1e-6);
  const reductions: [number[], number | number[], boolean][] = [
    [[3, 4, 5], -1, false],
    [[3, 4, 5], 1, true],
    [[3, 4, 5], [0, 2], false],
    [[3, 4, 5], [0, 1, 2], false],
    [[6], 0, true],
  ];
  for (const name of ['sum', 'max', 'min', 'mean'] as const) {
    for (const [shape, axis, keep] of reductions)
      check(
        `${name} ${JSON.stringify(shape)} axis ${JSON.stringify(axis)} keep ${keep}`,
        () => tf[name](r(shape, 6), axis, keep),
        1e-5,
      );
    // no axis (tfjs passes null): every axis, the form `tf.max(tf.abs(d))` in tests relies on
    check(`${name} [3, 4, 5] no axis`, () => tf[name](r([3, 4, 5], 6)), 1e-5);
    check(`${name} [1000] no axis, keep`, () => tf[name](r([1000], 12), undefined, true), 1e-5);
  }
  check('int32 add falls back to tfjs', () =>
    tf.cast(tf.add(tf.tensor([1, 2, 3], [3], 'int32'), tf.tensor([4], [1], 'int32')), 'float32'),
  );
});
