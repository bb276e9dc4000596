// What the integer int4 decode paths share (qgemm-avx512vnni.cc, and through qgemm-avx2-int4.h
// qgemm-avx2vnni.cc and qgemm-avx2int.cc; ADR 0006): the layout of x arranged as integers, the scalar
// parts of arranging it, and the walk over x rows. Each path includes it and compiles its own copy
// with its own flags (everything here is `static`).
//
// x arranged, per x row, per chunk of 128 weights (one 64-byte load of W, 4 blocks of 32), 512 bytes:
//   [128·d + 64·r + i]  digit plane d (0 = most significant) of the x value that meets byte i of W's
//                       chunk in register r: r = 0 its low nibble (weight 32·(i/16) + i%16), r = 1 its
//                       high nibble (weight 32·(i/16) + 16 + i%16)
//   [384 + 4·L]         int32: 8 · Σ X over the 8 weights of lane L (bytes 4L..4L+3 of both registers)
//   [448 + 4·L]         float: the power of two of lane L's block (L/4)
// then x[K/128·128 .. K) in order (the K tail, summed by scalar code).
#pragma once
#include <cmath>
#include <cstdint>
#include <cstring>
#include "qgemm.h"

namespace dcf::qgemm::vnni {

constexpr int64_t kChunk = kInt4Chunk;
constexpr int64_t kChunkBytes = 512;
constexpr int32_t kMaxX = 127 * 65536 + 127 * 256 + 127;  // the largest X three signed bytes hold

// The power of two of a block whose largest |x| is `big`: x·`toInt` are the block's integers (23
// significant bits for `big`, 22 where 23 would round past kMaxX), x ≈ X·`blockScale`. False where the
// block scale would leave float32's normal range (big below 2⁻¹⁰³).
static inline bool blockExponent(float big, float* toInt, float* blockScale) {
  if (!(big > 0)) {
    *toInt = *blockScale = 0.0f;
    return true;
  }
  int E = 0;
  std::frexp(big, &E);  // big < 2^E
  int bits = 23;
  if (std::lrint(std::ldexp(static_cast<double>(big), bits - E)) > kMaxX) bits = 22;
  if (E - bits < -126) return false;
  *toInt = std::ldexp(1.0f, bits - E);  // x·2^(bits−E) is exact in float32: a power of two, < 2^24
  *blockScale = std::ldexp(1.0f, E - bits);
  return true;
}

// Lanes 4b..4b+3 of chunk `o`'s correction and block scales, from `both` = X of the block's value j
// plus X of its value 16 + j (j = 0..15): lane 4b + l holds values j = 4l..4l+3 of both registers.
static inline void blockLanes(uint8_t* o, int b, const int32_t* both, float blockScale) {
  for (int l = 0; l < 4; l++) {
    const int32_t corr = 8 * (both[4 * l] + both[4 * l + 1] + both[4 * l + 2] + both[4 * l + 3]);  // Σ X·q − 8·Σ X
    std::memcpy(o + 384 + 4 * (4 * b + l), &corr, 4);
    std::memcpy(o + 448 + 4 * (4 * b + l), &blockScale, 4);
  }
}

// The weight scales of row n's chunks, in order (prefetched ahead with the row): `next()` is where
// the chunk's scales start, and `count` of them are read (groups of 32 or 64: 4 or 2 per chunk;
// G ≥ 128: one, shared by G/128 chunks). The chunk's block b (lanes 4b..4b+3) takes scale `ofBlock(b)`.
struct ChunkScales {
  const float* s;
  int count;
  int64_t chunksPerScale, left;
  int64_t G;
  ChunkScales(const Problem& p, int64_t n)
      : s(p.scales + n * (p.K / p.G)),
        count(p.G < kChunk ? static_cast<int>(kChunk / p.G) : 1),
        chunksPerScale(p.G < kChunk ? 1 : p.G / kChunk),
        left(chunksPerScale),
        G(p.G) {
    prefetchScales(s, rowBytes(kInt4, p.K), p.K / p.G);
  }
  int ofBlock(int b) const { return G < kChunk ? static_cast<int>(32 * b / G) : 0; }
  const float* next() {
    const float* at = s;
    if (--left == 0) s += count, left = chunksPerScale;
    return at;
  }
};

// Every x row of the problem arranged by the path's `row` (one row of x into its bytes).
template <class ArrangeRow>
static inline bool arrange(const Problem& p, float* xp, ArrangeRow row) {
  if (p.format != kInt4 || p.M > kFusedRows || !groupsFitChunks(p.G)) return false;
  for (int64_t m = 0; m < p.M; m++) {
    const float* x = p.x + m * p.K;
    if (!row(x, p.K, reinterpret_cast<uint8_t*>(xp + m * p.K))) return false;
    const int64_t KC = p.K / kChunk * kChunk;
    for (int64_t k = KC; k < p.K; k++) xp[m * p.K + k] = x[k];  // the K tail in order
  }
  return true;
}

// y[m0 + m, n] of the chunks' total `t` plus the K tail, for one x row.
static inline void finish(const Problem& p, int64_t n, int64_t row, float t) {
  const int64_t K = p.K, G = p.G, KC = K / kChunk * kChunk;
  const uint8_t* w = p.w + n * rowBytes(kInt4, K);
  const float* s = p.scales + n * (K / G);
  const float* tail = p.xp + row * K;
  for (int64_t k = KC; k < K; k++) t += tail[k] * rawWeight<kInt4>(w, k) * s[k / G];
  p.y[row * p.N + n] = t;
}

}  // namespace dcf::qgemm::vnni
