/**
 * The op and dtype codes the generic kernels of native/ take, keyed by tfjs kernel name where one
 * code is one kernel. They are the enums of native/elementwise.cu and native/reduce.cu: a change
 * here is a change there (the tests run every code against the cpu backend).
 */
import type { DataType } from '@tensorflow/tfjs-core';

export const UnaryOp = {
  Neg: 0,
  Abs: 1,
  Sqrt: 2,
  Rsqrt: 3,
  Square: 4,
  Exp: 5,
  Log: 6,
  Tanh: 7,
  Sigmoid: 8,
  Erf: 9,
  Reciprocal: 10,
  Relu: 11,
  Expm1: 12,
  Log1p: 13,
  Sign: 14,
  Floor: 15,
  Ceil: 16,
  Sin: 17,
  Cos: 18,
  LeakyRelu: 19,
  ClipByValue: 20,
  Step: 21,
  Elu: 22,
  Relu6: 23,
} as const;

/** Codes ≥ 20 compare and give a bool tensor. */
export const BinaryOp = {
  Add: 0,
  Sub: 1,
  Multiply: 2,
  RealDiv: 3,
  Maximum: 4,
  Minimum: 5,
  Pow: 6,
  SquaredDifference: 7,
  FloorDiv: 8,
  Equal: 20,
  NotEqual: 21,
  Less: 22,
  LessEqual: 23,
  Greater: 24,
  GreaterEqual: 25,
} as const;

export const ReduceOp = { Sum: 0, Mean: 1, Max: 2, Min: 3, Prod: 4, ArgMax: 5, ArgMin: 6 } as const;

/** The dtypes tensors on the device may have, as the kernels' codes (0 float32, 1 int32, 2 bool). */
export function dtypeCode(dtype: DataType): 0 | 1 | 2 | null {
  return dtype === 'float32' ? 0 : dtype === 'int32' ? 1 : dtype === 'bool' ? 2 : null;
}
