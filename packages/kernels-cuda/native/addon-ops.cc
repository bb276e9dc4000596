// The N-API entry points of the `cuda` tfjs backend's storage and generic kernels (both builds):
// device buffers (alloc, free, upload, download, copy, accounting) and the element-wise, layout,
// reduction, softmax and gather kernels, which take buffer handles only — their operands live on
// the device between kernels. Every size is checked against the buffers' bytes before a launch,
// so a wrong stride or shape from JS is an error naming the argument, never an out-of-bounds access.
#include <node_api.h>
#include <cstdint>
#include <string>
#include "buffers.h"
#include "call.h"
#include "kernels.h"
#include "runtime.h"

namespace dcf {
namespace {

napi_value num(napi_env env, double v) {
  napi_value out;
  napi_create_double(env, v, &out);
  return out;
}

/** A typed array's bytes (any element type), or null after failing with why. */
void* typedBytes(Call& c, napi_env env, napi_value v, const char* name, size_t* bytes) {
  napi_typedarray_type type;
  size_t length = 0, offset = 0;
  void* data = nullptr;
  napi_value buffer;
  if (napi_get_typedarray_info(env, v, &type, &length, &data, &buffer, &offset) != napi_ok) {
    c.fail("shape", std::string("'") + name + "' must be a typed array");
    return nullptr;
  }
  size_t elem = 1;
  switch (type) {
    case napi_int16_array: case napi_uint16_array: elem = 2; break;
    case napi_int32_array: case napi_uint32_array: case napi_float32_array: elem = 4; break;
    case napi_float64_array: case napi_bigint64_array: case napi_biguint64_array: elem = 8; break;
    default: elem = 1;
  }
  *bytes = length * elem;
  return data;
}

/** A JS array of at most kMaxRank integers (shape or strides); returns its length or −1 after failing. */
int dims(Call& c, napi_env env, napi_value v, const char* name, int64_t* out) {
  bool isArray = false;
  uint32_t n = 0;
  if (napi_is_array(env, v, &isArray) != napi_ok || !isArray || napi_get_array_length(env, v, &n) != napi_ok || n > kMaxRank) {
    c.fail("shape", std::string("'") + name + "' must be an array of at most " + std::to_string(kMaxRank) + " integers");
    return -1;
  }
  for (uint32_t d = 0; d < n; d++) {
    napi_value e;
    napi_get_element(env, v, d, &e);
    if (napi_get_value_int64(env, e, &out[d]) != napi_ok) {
      c.fail("shape", std::string("'") + name + "[" + std::to_string(d) + "]' must be an integer");
      return -1;
    }
  }
  return static_cast<int>(n);
}

/** The lowest and highest element offsets `strides` reach over `shape` (each index < min(shape, mod) when mod > 0). */
void reach(const Strides& s, const int64_t* strides, const int64_t* mod, int64_t* lo, int64_t* hi) {
  *lo = 0, *hi = 0;
  for (int d = 0; d < s.rank; d++) {
    const int64_t top = (mod != nullptr && mod[d] > 0 && mod[d] < s.shape[d] ? mod[d] : s.shape[d]) - 1;
    const int64_t span = top * strides[d];
    if (span > 0) *hi += span;
    else *lo += span;
  }
}

int64_t count(const Strides& s) {
  int64_t n = 1;
  for (int d = 0; d < s.rank; d++) n *= s.shape[d];
  return n;
}

/** Reads shape and the given stride arrays (a, b, c of Strides; null to skip) from consecutive arguments. */
bool readStrides(Call& c, napi_env env, const napi_value* argv, Strides* s, bool a, bool b, bool cc) {
  *s = Strides{};
  s->rank = dims(c, env, argv[0], "shape", s->shape);
  if (s->rank < 0) return false;
  for (int d = 0; d < s->rank; d++)
    if (s->shape[d] < 0) {
      c.fail("shape", "'shape' must not be negative");
      return false;
    }
  int k = 1;
  int64_t* targets[3] = {a ? s->a : nullptr, b ? s->b : nullptr, cc ? s->c : nullptr};
  const char* names[3] = {"stridesA", "stridesB", "stridesC"};
  for (int j = 0; j < 3; j++) {
    if (targets[j] == nullptr) continue;
    if (dims(c, env, argv[k++], names[j], targets[j]) != s->rank) {
      c.fail("shape", std::string("'") + names[j] + "' must have one stride per dimension of 'shape'");
      return false;
    }
  }
  return true;
}

/** A handle operand reaching elements [lo, hi] of `elemBytes` each; null after failing. */
void* operand(Call& c, size_t i, const char* name, int64_t lo, int64_t hi, int elemBytes, int64_t offset = 0) {
  if (!c.isHandle(i)) {
    c.fail("shape", std::string("'") + name + "' must be a device buffer handle");
    return nullptr;
  }
  if (offset + lo < 0) {
    c.fail("shape", std::string("'") + name + "' would be read before its start (offset " + std::to_string(offset + lo) + ")");
    return nullptr;
  }
  return c.buffer(i, name, (offset + hi + 1) * elemBytes);
}

napi_value BufferAlloc(napi_env env, napi_callback_info info) {
  Call c(env, info, "bufferAlloc", 1);
  const int64_t bytes = c.i64(0, "bytes");
  int64_t handle = 0;
  if (c.ready()) c.check(bufferAlloc(static_cast<size_t>(bytes), &handle));
  c.finish();
  return c.failed() ? nullptr : num(env, static_cast<double>(handle));
}

napi_value BufferFree(napi_env env, napi_callback_info info) {
  Call c(env, info, "bufferFree", 1);
  const int64_t handle = c.i64(0, "handle");
  if (!c.failed() && !bufferFree(handle)) c.fail("input", "'handle' " + std::to_string(handle) + " is not a live device buffer");
  return c.finish();
}

// bufferUpload(handle, typedArray): the array's bytes to the start of the buffer
napi_value BufferUpload(napi_env env, napi_callback_info info) {
  Call c(env, info, "bufferUpload", 2);
  size_t bytes = 0;
  void* host = typedBytes(c, env, c.arg(1), "values", &bytes);
  void* dev = c.failed() ? nullptr : c.buffer(0, "handle", static_cast<int64_t>(bytes));
  if (dev != nullptr) c.check(copyToDevice(dev, host, bytes));
  return c.finish();
}

// bufferDownload(handle, typedArray): the buffer's first bytes into the array
napi_value BufferDownload(napi_env env, napi_callback_info info) {
  Call c(env, info, "bufferDownload", 2);
  size_t bytes = 0;
  void* host = typedBytes(c, env, c.arg(1), "out", &bytes);
  void* dev = c.failed() ? nullptr : c.buffer(0, "handle", static_cast<int64_t>(bytes));
  if (dev != nullptr) c.check(deviceSync("bufferDownload"));
  if (dev != nullptr && !c.failed()) c.check(copyToHost(host, dev, bytes));
  return c.finish();
}

// bufferCopy(dst, src, bytes)
napi_value BufferCopy(napi_env env, napi_callback_info info) {
  Call c(env, info, "bufferCopy", 3);
  const int64_t bytes = c.i64(2, "bytes");
  void* dst = c.failed() ? nullptr : c.buffer(0, "dst", bytes);
  void* src = c.failed() ? nullptr : c.buffer(1, "src", bytes);
  if (dst != nullptr && src != nullptr) c.check(copyOnDevice(dst, src, static_cast<size_t>(bytes)));
  return c.finish();
}

// bufferStats() → { bytes, count }
napi_value BufferStats(napi_env env, napi_callback_info) {
  napi_value o;
  napi_create_object(env, &o);
  napi_set_named_property(env, o, "bytes", num(env, static_cast<double>(bufferBytes())));
  napi_set_named_property(env, o, "count", num(env, static_cast<double>(bufferCount())));
  return o;
}

constexpr int kUnaryOps = 24;     // UnaryOp of src/kernels/codes.ts
constexpr int kReduceOps = 7;     // ReduceOp

// unary(op, x, y, n, alpha, beta)
napi_value Unary(napi_env env, napi_callback_info info) {
  Call c(env, info, "unary", 6);
  const int64_t op = c.i64(0, "op"), n = c.i64(3, "n");
  const double alpha = c.f64(4, "alpha"), beta = c.f64(5, "beta");
  if (!c.failed() && op >= kUnaryOps) c.fail("input", "'op' must be a UnaryOp code < " + std::to_string(kUnaryOps) + "; got " + std::to_string(op));
  const void* x = operand(c, 1, "x", 0, n - 1, 4);
  void* y = operand(c, 2, "y", 0, n - 1, 4);
  if (c.ready() && n > 0) unaryF32(static_cast<int>(op), static_cast<const float*>(x), static_cast<float*>(y), n, float(alpha), float(beta));
  return c.finish();
}

bool binaryCode(int64_t op) { return (op >= 0 && op <= 8) || (op >= 20 && op <= 25); }

// binary(op, dtype, a, b, out, shape, stridesA, stridesB): out dense over shape (bool for comparisons)
napi_value Binary(napi_env env, napi_callback_info info) {
  Call c(env, info, "binary", 8);
  const int64_t op = c.i64(0, "op"), dtype = c.i64(1, "dtype");
  if (!c.failed() && (!binaryCode(op) || dtype > 1)) c.fail("input", "'op' must be a BinaryOp code and 'dtype' 0 or 1");
  Strides s;
  if (!c.failed()) readStrides(c, env, c.args() + 5, &s, true, true, false);
  const int64_t n = c.failed() ? 0 : count(s);
  int64_t lo, hi;
  if (!c.failed() && n > 0) {
    reach(s, s.a, nullptr, &lo, &hi);
    const void* a = operand(c, 2, "a", lo, hi, 4);
    reach(s, s.b, nullptr, &lo, &hi);
    const void* b = operand(c, 3, "b", lo, hi, 4);
    void* out = operand(c, 4, "out", 0, n - 1, op >= 20 ? 1 : 4);
    if (c.ready()) binary(static_cast<int>(op), static_cast<int>(dtype), a, b, out, s);
  }
  return c.finish();
}

// select(cond, a, b, out, shape, stridesA, stridesB, stridesCond): 4-byte elements, cond bool
napi_value Select(napi_env env, napi_callback_info info) {
  Call c(env, info, "select", 8);
  Strides s;
  readStrides(c, env, c.args() + 4, &s, true, true, true);
  const int64_t n = c.failed() ? 0 : count(s);
  int64_t lo, hi;
  if (!c.failed() && n > 0) {
    reach(s, s.c, nullptr, &lo, &hi);
    const void* cond = operand(c, 0, "cond", lo, hi, 1);
    reach(s, s.a, nullptr, &lo, &hi);
    const void* a = operand(c, 1, "a", lo, hi, 4);
    reach(s, s.b, nullptr, &lo, &hi);
    const void* b = operand(c, 2, "b", lo, hi, 4);
    void* out = operand(c, 3, "out", 0, n - 1, 4);
    if (c.ready()) select(static_cast<const uint8_t*>(cond), a, b, out, s);
  }
  return c.finish();
}

int dtypeBytes(int64_t dtype) { return dtype == 2 ? 1 : 4; }

// cast(x, from, y, to, n): dtype codes 0 float32, 1 int32, 2 bool
napi_value CastEntry(napi_env env, napi_callback_info info) {
  Call c(env, info, "cast", 5);
  const int64_t from = c.i64(1, "from"), to = c.i64(3, "to"), n = c.i64(4, "n");
  if (!c.failed() && (from > 2 || to > 2)) c.fail("input", "'from' and 'to' must be dtype codes 0, 1 or 2");
  const void* x = operand(c, 0, "x", 0, n - 1, dtypeBytes(from));
  void* y = operand(c, 2, "y", 0, n - 1, dtypeBytes(to));
  if (c.ready() && n > 0) cast(x, static_cast<int>(from), y, static_cast<int>(to), n);
  return c.finish();
}

// fill(y, dtype, n, start, step): y[i] = start + i·step
napi_value FillEntry(napi_env env, napi_callback_info info) {
  Call c(env, info, "fill", 5);
  const int64_t dtype = c.i64(1, "dtype"), n = c.i64(2, "n");
  const double start = c.f64(3, "start"), step = c.f64(4, "step");
  if (!c.failed() && dtype > 2) c.fail("input", "'dtype' must be 0, 1 or 2");
  void* y = operand(c, 0, "y", 0, n - 1, dtypeBytes(dtype));
  if (c.ready() && n > 0) fill(y, static_cast<int>(dtype), n, start, step);
  return c.finish();
}

// stridedCopy(elemBytes, src, srcOffset, dst, dstOffset, shape, srcStrides, dstStrides, mod | null)
napi_value StridedCopy(napi_env env, napi_callback_info info) {
  Call c(env, info, "stridedCopy", 9);
  const int64_t elem = c.i64(0, "elemBytes"), srcOffset = c.i64(2, "srcOffset"), dstOffset = c.i64(4, "dstOffset");
  if (!c.failed() && elem != 4 && elem != 1) c.fail("input", "'elemBytes' must be 4 or 1; got " + std::to_string(elem));
  Strides s;
  if (!c.failed()) {
    // shape, srcStrides → s.a, dstStrides → s.c
    napi_value three[3] = {c.args()[5], c.args()[6], c.args()[7]};
    readStrides(c, env, three, &s, true, false, true);
  }
  int64_t mod[kMaxRank] = {};
  const bool hasMod = !c.failed() && !c.isNull(8);
  if (hasMod && dims(c, env, c.args()[8], "mod", mod) != s.rank) c.fail("shape", "'mod' must have one entry per dimension of 'shape'");
  const int64_t n = c.failed() ? 0 : count(s);
  int64_t lo, hi;
  if (!c.failed() && n > 0) {
    reach(s, s.a, hasMod ? mod : nullptr, &lo, &hi);
    const void* src = operand(c, 1, "src", lo, hi, static_cast<int>(elem), srcOffset);
    reach(s, s.c, nullptr, &lo, &hi);
    void* dst = operand(c, 3, "dst", lo, hi, static_cast<int>(elem), dstOffset);
    if (c.ready()) stridedCopy(static_cast<int>(elem), src, srcOffset, dst, dstOffset, s, hasMod ? mod : nullptr);
  }
  return c.finish();
}

// reduceRows(op, x, y, rows, cols)
napi_value ReduceRows(napi_env env, napi_callback_info info) {
  Call c(env, info, "reduceRows", 5);
  const int64_t op = c.i64(0, "op"), rows = c.i64(3, "rows"), cols = c.i64(4, "cols");
  if (!c.failed() && op >= kReduceOps) c.fail("input", "'op' must be a ReduceOp code < " + std::to_string(kReduceOps));
  if (!c.failed() && rows > 0 && cols == 0) c.fail("shape", "'cols' must be ≥ 1 when there are rows");
  const void* x = operand(c, 1, "x", 0, rows * cols - 1, 4);
  void* y = operand(c, 2, "y", 0, rows - 1, 4);
  if (c.ready() && rows > 0) reduceRows(static_cast<int>(op), static_cast<const float*>(x), y, rows, cols);
  return c.finish();
}

// softmaxRows(x, y, rows, cols, logSoftmax)
napi_value SoftmaxRows(napi_env env, napi_callback_info info) {
  Call c(env, info, "softmaxRows", 5);
  const int64_t rows = c.i64(2, "rows"), cols = c.i64(3, "cols");
  const bool log = c.boolean(4, "logSoftmax");
  const void* x = operand(c, 0, "x", 0, rows * cols - 1, 4);
  void* y = operand(c, 1, "y", 0, rows * cols - 1, 4);
  if (c.ready() && rows * cols > 0) softmaxRows(static_cast<const float*>(x), static_cast<float*>(y), rows, cols, log);
  return c.finish();
}

// gather(elemBytes, x, idx, out, outer, N, nIdx, inner)
napi_value GatherEntry(napi_env env, napi_callback_info info) {
  Call c(env, info, "gather", 8);
  const int64_t elem = c.i64(0, "elemBytes"), outer = c.i64(4, "outer"), N = c.i64(5, "N"), nIdx = c.i64(6, "nIdx"), inner = c.i64(7, "inner");
  if (!c.failed() && elem != 4 && elem != 1) c.fail("input", "'elemBytes' must be 4 or 1");
  const int64_t total = outer * nIdx * inner;
  if (!c.failed() && total > 0) {
    const void* x = operand(c, 1, "x", 0, outer * N * inner - 1, static_cast<int>(elem));
    const void* idx = operand(c, 2, "idx", 0, nIdx - 1, 4);
    void* out = operand(c, 3, "out", 0, total - 1, static_cast<int>(elem));
    if (c.ready()) gather(static_cast<int>(elem), x, static_cast<const int32_t*>(idx), out, outer, N, nIdx, inner);
  }
  return c.finish();
}

// segmentSum(x, ids, out, n, inner, segments)
napi_value SegmentSum(napi_env env, napi_callback_info info) {
  Call c(env, info, "segmentSum", 6);
  const int64_t n = c.i64(3, "n"), inner = c.i64(4, "inner"), segments = c.i64(5, "segments");
  if (!c.failed() && inner * segments > 0) {
    const void* x = operand(c, 0, "x", 0, n * inner - 1, 4);
    const void* ids = operand(c, 1, "ids", 0, n - 1, 4);
    void* out = operand(c, 2, "out", 0, segments * inner - 1, 4);
    if (c.ready())
      unsortedSegmentSum(static_cast<const float*>(x), static_cast<const int32_t*>(ids), static_cast<float*>(out), n, inner, segments);
  }
  return c.finish();
}

}  // namespace

void defineOps(napi_env env, napi_value exports) {
  const napi_property_descriptor props[] = {
      {"bufferAlloc", nullptr, BufferAlloc, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"bufferFree", nullptr, BufferFree, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"bufferUpload", nullptr, BufferUpload, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"bufferDownload", nullptr, BufferDownload, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"bufferCopy", nullptr, BufferCopy, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"bufferStats", nullptr, BufferStats, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"unary", nullptr, Unary, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"binary", nullptr, Binary, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"select", nullptr, Select, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"cast", nullptr, CastEntry, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"fill", nullptr, FillEntry, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"stridedCopy", nullptr, StridedCopy, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"reduceRows", nullptr, ReduceRows, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"softmaxRows", nullptr, SoftmaxRows, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"gather", nullptr, GatherEntry, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"segmentSum", nullptr, SegmentSum, nullptr, nullptr, nullptr, napi_default, nullptr},
  };
  napi_define_properties(env, exports, sizeof(props) / sizeof(props[0]), props);
}

}  // namespace dcf
