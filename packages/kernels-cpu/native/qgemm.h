// Weight-compact matmul (kernel DcCompactMatMul of @dcformer/kernels): y[M,N] = x[M,K] · dequant(W)ᵀ
// with W stored [N,K] row-major in one of four compact formats, read directly — each row is
// dequantised in registers inside the dot product, never copied out as float32 (decode, M ≤ 8), or
// into a small per-thread tile of 8 rows that stays in cache (prefill, M > 8).
//
// Formats (bytes of one row of K weights; the layout is the contract, see compact-format.ts):
//   bf16  2K bytes, element k = bfloat16 at bytes 2k..2k+1 (little-endian)
//   f16   2K bytes, IEEE half
//   int8  K bytes, signed; w = q · scale[n, k / G]
//   int4  K/2 bytes in blocks of 32 weights (16 bytes): weight j < 16 of a block is the low nibble of
//         byte j, weight 16 + j the high nibble of byte j; w = (nibble − 8) · scale[n, k / G]
// int8/int4 need K % 32 == 0, G % 32 == 0 and K % G == 0 (checked by the caller).
//
// Each ISA file (qgemm-avx512.cc, qgemm-avx2.cc, qgemm-neon.cc, qgemm-portable.cc) instantiates the
// one algorithm of qgemm-impl.h with its own vector type and decoders, compiled with its own target
// flags (scripts/native-flags.mjs); qgemm-avx512vnni.cc, qgemm-avx2vnni.cc and qgemm-avx2int.cc add
// an integer int4 decode on top of the avx512 and avx2 paths (ADR 0006). qgemm-driver.cc picks one at run time and
// splits N over threads.
#pragma once
#include <cstdint>
#include <type_traits>
#if defined(__x86_64__)
#include <cpuid.h>
#endif

namespace dcf::qgemm {

enum Format : int { kBf16 = 0, kF16 = 1, kInt8 = 2, kInt4 = 3 };

struct Problem {
  int format;
  const float* x;        // [M,K]
  const uint8_t* w;      // [N, rowBytes]
  const float* scales;   // [N, K/G] for int8/int4, else unused
  float* y;              // [M,N]
  int64_t M, N, K, G;
  // x rearranged by the path's `arrange` (decode of int8/int4 on paths that have one), else nullptr
  const float* xp = nullptr;
};

// Rows of tile scratch each thread needs when M > kFusedRows: kTileRows · K floats.
constexpr int64_t kFusedRows = 8;
constexpr int64_t kTileRows = 8;

// y[:, n0:n1] of the problem; scratch holds kTileRows·K floats (used only when M > kFusedRows).
using RowsFn = void (*)(const Problem& p, int64_t n0, int64_t n1, float* scratch);

// Writes x in the order the path's int8/int4 decode reads weights out of a vector register (the
// order of bytes and nibbles in memory), M·K floats into xp; false when the path has no such order
// for this problem (then xp stays unused). Run once per call, before the threads split N.
using ArrangeFn = bool (*)(const Problem& p, float* xp);

struct Path {
  const char* name;
  RowsFn rows;
  ArrangeFn arrange = nullptr;
};

inline int64_t rowBytes(int format, int64_t K) { return format <= kF16 ? 2 * K : format == kInt8 ? K : K / 2; }

// int4 decoders that read W in chunks of 128 weights (one 64-byte load: avx512's Nibbles and the
// integer paths) need each chunk to lie in one group or to hold whole groups.
constexpr int64_t kInt4Chunk = 128;
inline bool groupsFitChunks(int64_t G) { return G % kInt4Chunk == 0 || kInt4Chunk % G == 0; }

// The most paths a build has (runnablePaths fills at most this many).
constexpr int kMaxPaths = 8;

// nullptr when this build or this CPU cannot run the path
const Path* avx512VnniPath();
const Path* avx512Path();
const Path* avx2VnniPath();
const Path* avx2IntPath();
const Path* avx2Path();
const Path* neonPath();
const Path* portablePath();

// Every path this build and CPU can run, fastest first; the one in use; switching (tests, benchmarks).
int runnablePaths(const Path** out, int max);
const Path& currentPath();
bool setPath(const char* name);
// Splits N over OpenMP's threads (contiguous ranges: each thread streams its own part of W).
void run(const Problem& p);

// The helpers below are `static`: each ISA file gets its own copy compiled with its own flags (an
// inline function shared across them could be linked as the AVX-512 copy and run on any CPU).

// IEEE half → float, exact (normals, subnormals, inf, NaN); the portable path and the tails use it.
static inline float halfToFloat(uint16_t h) {
  const uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
  uint32_t exp = (h >> 10) & 0x1fu, man = h & 0x3ffu, bits;
  if (exp == 0x1f) {
    bits = sign | 0x7f800000u | (man << 13);
  } else if (exp != 0) {
    bits = sign | ((exp + 112) << 23) | (man << 13);
  } else if (man == 0) {
    bits = sign;
  } else {  // subnormal: normalise
    int e = 113;
    while ((man & 0x400u) == 0) {
      man <<= 1;
      e--;
    }
    bits = sign | (static_cast<uint32_t>(e) << 23) | ((man & 0x3ffu) << 13);
  }
  float f;
  __builtin_memcpy(&f, &bits, 4);
  return f;
}

static inline float bf16ToFloat(uint16_t h) {
  const uint32_t bits = static_cast<uint32_t>(h) << 16;
  float f;
  __builtin_memcpy(&f, &bits, 4);
  return f;
}

// Software prefetch of the decode streams, kPrefetchAhead bytes past the load (issue 18), into L2
// (T1) on most x86 CPUs and into L1 (T0) on AMD Zen 5 — whichever each CPU streamed faster, measured
// with qgemm-bench (2 threads, rows of 2560 and 6912 weights; 6912 is FFN w2, whose x is 27 KB):
// - AMD EPYC Zen 5 (48 KB L1): the hardware prefetchers alone left one thread's int8 stream at
//   12–13 GB/s on rows of 6912 (with x wrapped to 8–16 KB the same rows streamed at 20) and 20–21 on
//   rows of 2560; T0 2–16 KB ahead brought both to 21–23 GB/s (int4 on rows of 6912 8 → 14–17, AVX2
//   int8 8 → 14). The 16-bit formats gained nothing there (bf16 rows of 2560 lost ~8%) and keep the
//   hardware's alone.
// - Intel Xeon (family 6 model 167): one core's stream stalls at ~9–10 GB/s with the hardware's
//   prefetch alone, whatever the format; T1 took two threads' bf16 from 18–19 to 26–28 GB/s and int8
//   from 17–22 to 24–26.
// - AMD EPYC Zen 4 (32 KB L1): T0 lines evict the 27 KB x of w2's rows — two threads' int8 streamed
//   at 20–21 GB/s there, int4 21 — and T1 took them to 32–34 and 30–32 (rows of 2560: int4 22–24 →
//   30, int8 27–30 → 34–38; bf16 on rows of 6912 26 → 27–28, on rows of 2560 unchanged).
// So everything but Zen 5 prefetches every format into L2. The price: one more load-unit instruction
// per line, ~15% of int8's rate when W sits in L2 (a decode step's weights never fit in L2). Never
// faults, so reading past the end of W is harmless: the address is formed as an integer, not as a
// pointer past the object. Other architectures keep T0 for int8/int4 (not measured).
// always_inline: GCC takes a function that only prefetches for one without side effects and drops
// calls to it that it did not inline early (a larger wrapper lost every prefetch at -O1 and up).
constexpr int64_t kPrefetchAhead = 6144;
#if defined(__x86_64__)
static inline bool prefetchIntoL2() {
  __builtin_cpu_init();  // runs during static initialisation, before the compiler's own may have
  if (!__builtin_cpu_is("amd")) return true;
  unsigned a = 0, b = 0, c = 0, d = 0;
  if (!__get_cpuid(1, &a, &b, &c, &d)) return true;
  const unsigned family = ((a >> 8) & 15) + (((a >> 8) & 15) == 15 ? (a >> 20) & 255 : 0);
  return family != 0x1a;  // Zen 5
}
#else
static inline bool prefetchIntoL2() { return false; }
#endif
// Once per file that includes this (each ISA file has its own copy; all read the same CPU).
static const bool kPrefetchToL2 = prefetchIntoL2();
__attribute__((always_inline)) static inline void prefetchLine(uintptr_t a) {
  if (kPrefetchToL2) {
    __builtin_prefetch(reinterpret_cast<const void*>(a), 0, 2);
  } else {
    __builtin_prefetch(reinterpret_cast<const void*>(a), 0, 3);
  }
}
__attribute__((always_inline)) static inline void prefetchAhead(const uint8_t* p) {
  prefetchLine(reinterpret_cast<uintptr_t>(p) + kPrefetchAhead);
}
// The 16-bit formats: the same prefetch where it helps (above), none elsewhere.
__attribute__((always_inline)) static inline void prefetchAhead16(const uint8_t* p) {
  if (kPrefetchToL2) prefetchAhead(p);
}

// The row's scales are a second, slower stream (int4 with G = 64: 4 bytes per 32 of weights, int8:
// per 64) that the hardware prefetchers followed poorly beside the weights: prefetching the scales of
// the row kPrefetchAhead bytes of W further on, once per row, took one thread's int4 stream from
// 16.5 to 20 GB/s and int8's from 21 to 25 (rows of 2560; two threads int4 25–30 → 30–34; AMD EPYC
// Zen 5, AVX-512, measured). perRow: scales per row; the address is an integer, like prefetchAhead's.
__attribute__((always_inline)) static inline void prefetchScales(const float* s, int64_t rowBytes, int64_t perRow) {
  const uintptr_t bytes = 4 * static_cast<uintptr_t>(perRow);
  const uintptr_t a = reinterpret_cast<uintptr_t>(s) + bytes * static_cast<uintptr_t>(kPrefetchAhead / rowBytes + 1);
  for (uintptr_t b = a & ~uintptr_t(63); b < a + bytes; b += 64) prefetchLine(b);
}

// Weight rows n0..n1 of a decode problem with x rows in blocks of 4, 2 and 1 (each weight row is
// decoded once per block): `row(std::integral_constant<int, MB>, n, m0)`.
template <class Row>
static inline void decodeRows(const Problem& p, int64_t n0, int64_t n1, Row row) {
  int64_t m = 0;
  for (; m + 4 <= p.M; m += 4)
    for (int64_t n = n0; n < n1; n++) row(std::integral_constant<int, 4>{}, n, m);
  for (; m + 2 <= p.M; m += 2)
    for (int64_t n = n0; n < n1; n++) row(std::integral_constant<int, 2>{}, n, m);
  for (; m < p.M; m++)
    for (int64_t n = n0; n < n1; n++) row(std::integral_constant<int, 1>{}, n, m);
}

// Weight k of row `row` (not scaled), for tails and the portable path.
template <int F>
static inline float rawWeight(const uint8_t* row, int64_t k) {
  if constexpr (F == kBf16 || F == kF16) {
    uint16_t h;
    __builtin_memcpy(&h, row + 2 * k, 2);
    return F == kBf16 ? bf16ToFloat(h) : halfToFloat(h);
  } else if constexpr (F == kInt8) {
    return static_cast<float>(static_cast<int8_t>(row[k]));
  } else {
    const int64_t j = k & 31;
    const uint8_t b = row[(k >> 5) * 16 + (j & 15)];
    return static_cast<float>(static_cast<int>(j < 16 ? (b & 15) : (b >> 4)) - 8);
  }
}

}  // namespace dcf::qgemm
