// The element-wise kernels of the `cuda` tfjs backend, one thread per output element: unary float32
// ops, binary ops over a broadcast index space (strides of 0 repeat an operand), select, cast and
// fill. One generic kernel per shape of work, parameterised by an op code (UnaryOp / BinaryOp in
// src/kernels/codes.ts, the same numbers), instead of a file per op.
#include "common.cuh"
#include "kernels.h"

namespace dcf {
namespace {

// The codes of src/kernels/codes.ts (UnaryOp); a change here is a change there.
enum Unary {
  kNeg, kAbs, kSqrt, kRsqrt, kSquare, kExp, kLog, kTanh, kSigmoid, kErf, kReciprocal, kRelu, kExpm1, kLog1p,
  kSign, kFloor, kCeil, kSin, kCos, kLeakyRelu, kClip, kStep, kElu, kRelu6,
};

__host__ __device__ inline float unaryOp(int op, float x, float alpha, float beta) {
  switch (op) {
    case kNeg: return -x;
    case kAbs: return fabsf(x);
    case kSqrt: return sqrtf(x);
    case kRsqrt: return 1.0f / sqrtf(x);
    case kSquare: return x * x;
    case kExp: return expf(x);
    case kLog: return logf(x);
    case kTanh: return tanhf(x);
    case kSigmoid: return 1.0f / (1.0f + expf(-x));
    case kErf: return erff(x);
    case kReciprocal: return 1.0f / x;
    case kRelu: return x > 0 ? x : (x != x ? x : 0.0f);  // NaN stays NaN, as tfjs
    case kExpm1: return expm1f(x);
    case kLog1p: return log1pf(x);
    case kSign: return x > 0 ? 1.0f : x < 0 ? -1.0f : x != x ? x : 0.0f;
    case kFloor: return floorf(x);
    case kCeil: return ceilf(x);
    case kSin: return sinf(x);
    case kCos: return cosf(x);
    case kLeakyRelu: return x < 0 ? alpha * x : x;
    case kClip: return x < alpha ? alpha : x > beta ? beta : x;
    case kStep: return x > 0 ? 1.0f : x != x ? x : alpha;
    case kElu: return x >= 0 ? x : expf(x) - 1.0f;
    case kRelu6: return x < 0 ? 0.0f : x > 6 ? 6.0f : x;
    default: return NAN;  // unreachable: the addon checks the code
  }
}

struct UnaryF32 {
  int op;
  const float* x;
  float* y;
  float alpha, beta;
  __host__ __device__ void operator()(int64_t i) const { y[i] = unaryOp(op, x[i], alpha, beta); }
};

// The codes of src/kernels/codes.ts (BinaryOp); codes ≥ kEqual compare and write a bool (uint8).
enum Binary { kAdd, kSub, kMul, kDiv, kMax, kMin, kPow, kSquaredDifference, kFloorDiv, kEqual = 20, kNotEqual, kLess, kLessEqual, kGreater, kGreaterEqual };

template <class T>
__host__ __device__ inline T arith(int op, T a, T b);

template <>
__host__ __device__ inline float arith<float>(int op, float a, float b) {
  switch (op) {
    case kAdd: return a + b;
    case kSub: return a - b;
    case kMul: return a * b;
    case kDiv: return a / b;
    // NaN wins, as Math.max / Math.min in the cpu backend
    case kMax: return a != a || b != b ? NAN : a > b ? a : b;
    case kMin: return a != a || b != b ? NAN : a < b ? a : b;
    case kPow: return powf(a, b);
    case kSquaredDifference: return (a - b) * (a - b);
    case kFloorDiv: return floorf(a / b);
    default: return NAN;
  }
}

template <>
__host__ __device__ inline int32_t arith<int32_t>(int op, int32_t a, int32_t b) {
  // wrap-around as the cpu backend's Int32Array stores: compute in 64 bits, keep the low 32
  switch (op) {
    case kAdd: return static_cast<int32_t>(static_cast<uint32_t>(a) + static_cast<uint32_t>(b));
    case kSub: return static_cast<int32_t>(static_cast<uint32_t>(a) - static_cast<uint32_t>(b));
    case kMul: return static_cast<int32_t>(static_cast<uint32_t>(static_cast<int64_t>(a) * b));
    case kMax: return a > b ? a : b;
    case kMin: return a < b ? a : b;
    case kSquaredDifference: return static_cast<int32_t>(static_cast<uint32_t>(static_cast<int64_t>(a - b) * (a - b)));
    // floor(a / b) as tfjs (b = 0: 0, where JS would give ±Infinity stored as 0)
    case kFloorDiv: return b == 0 ? 0 : static_cast<int32_t>(floor(static_cast<double>(a) / b));
    default: return 0;
  }
}

template <class T>
__host__ __device__ inline bool compare(int op, T a, T b) {
  switch (op) {
    case kEqual: return a == b;
    case kNotEqual: return a != b;
    case kLess: return a < b;
    case kLessEqual: return a <= b;
    case kGreater: return a > b;
    case kGreaterEqual: return a >= b;
    default: return false;
  }
}

/** The element offsets into a, b and c of dense output index i. */
__host__ __device__ inline void offsets(const Strides& s, int64_t i, int64_t* oa, int64_t* ob, int64_t* oc) {
  int64_t a = 0, b = 0, c = 0;
  for (int d = s.rank - 1; d >= 0; d--) {
    const int64_t k = i % s.shape[d];
    i /= s.shape[d];
    a += k * s.a[d];
    b += k * s.b[d];
    c += k * s.c[d];
  }
  *oa = a, *ob = b, *oc = c;
}

template <class T>
struct BinaryStrided {
  int op;
  const T *a, *b;
  void* out;
  Strides s;
  __host__ __device__ void operator()(int64_t i) const {
    int64_t oa, ob, oc;
    offsets(s, i, &oa, &ob, &oc);
    if (op >= kEqual)
      static_cast<uint8_t*>(out)[i] = compare(op, a[oa], b[ob]) ? 1 : 0;
    else
      static_cast<T*>(out)[i] = arith<T>(op, a[oa], b[ob]);
  }
};

struct SelectStrided {
  const uint8_t* cond;
  const uint32_t *a, *b;
  uint32_t* out;
  Strides s;
  __host__ __device__ void operator()(int64_t i) const {
    int64_t oa, ob, oc;
    offsets(s, i, &oa, &ob, &oc);
    out[i] = cond[oc] != 0 ? a[oa] : b[ob];
  }
};

struct Cast {
  const void* x;
  int from;
  void* y;
  int to;
  __host__ __device__ void operator()(int64_t i) const {
    // through double: int32 → float32 rounds once, as Float32Array.from(Int32Array) does
    double v = from == 0 ? static_cast<const float*>(x)[i] : from == 1 ? static_cast<const int32_t*>(x)[i] : static_cast<const uint8_t*>(x)[i];
    if (to == 0) {
      static_cast<float*>(y)[i] = static_cast<float>(v);
    } else if (to == 1) {
      // truncation toward zero; NaN → 0 and saturation past int32's range (JS would wrap: out of scope)
      static_cast<int32_t*>(y)[i] = v != v ? 0 : v >= 2147483647.0 ? 2147483647 : v <= -2147483648.0 ? INT32_MIN : static_cast<int32_t>(v);
    } else {
      static_cast<uint8_t*>(y)[i] = v != 0 ? 1 : 0;  // NaN != 0: true, as tfjs
    }
  }
};

struct Fill {
  void* y;
  int dtype;
  double start, step;
  __host__ __device__ void operator()(int64_t i) const {
    const double v = start + static_cast<double>(i) * step;
    if (dtype == 0) static_cast<float*>(y)[i] = static_cast<float>(v);
    else if (dtype == 1) static_cast<int32_t*>(y)[i] = static_cast<int32_t>(v);
    else static_cast<uint8_t*>(y)[i] = v != 0 ? 1 : 0;
  }
};

int64_t count(const Strides& s) {
  int64_t n = 1;
  for (int d = 0; d < s.rank; d++) n *= s.shape[d];
  return n;
}

}  // namespace

void unaryF32(int op, const float* x, float* y, int64_t n, float alpha, float beta) { forEachIndex(UnaryF32{op, x, y, alpha, beta}, n); }

void binary(int op, int dtype, const void* a, const void* b, void* out, const Strides& s) {
  if (dtype == 0)
    forEachIndex(BinaryStrided<float>{op, static_cast<const float*>(a), static_cast<const float*>(b), out, s}, count(s));
  else
    forEachIndex(BinaryStrided<int32_t>{op, static_cast<const int32_t*>(a), static_cast<const int32_t*>(b), out, s}, count(s));
}

void select(const uint8_t* cond, const void* a, const void* b, void* out, const Strides& s) {
  forEachIndex(SelectStrided{cond, static_cast<const uint32_t*>(a), static_cast<const uint32_t*>(b), static_cast<uint32_t*>(out), s}, count(s));
}

void cast(const void* x, int from, void* y, int to, int64_t n) { forEachIndex(Cast{x, from, y, to}, n); }

void fill(void* y, int dtype, int64_t n, double start, double step) { forEachIndex(Fill{y, dtype, start, step}, n); }

}  // namespace dcf
