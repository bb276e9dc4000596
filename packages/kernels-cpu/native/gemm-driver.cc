// The GEMM driver around a Path's micro-kernel (the BLIS loop nest): C is cut into tasks of whole
// rows × columns, each task packs a KC×NC panel of B (kept in L3/L2) and MC×KC blocks of A (in L2),
// and sweeps NR-wide micro-panels of B (in L1) across MR-high micro-panels of A. Packing pads edges
// with zeros, so the micro-kernel only ever sees full tiles; edge tiles go through a small buffer.
#include <omp.h>
#include <algorithm>
#include <cstdlib>
#include <cstring>
#if defined(__SSE2__)
#include <xmmintrin.h>
#endif
#include "gemm-pool.h"
#include "gemm.h"

namespace dcf::gemm {
namespace {

constexpr int64_t KC = 256;          // depth of one packed block: a 32-wide B micro-panel is 32 KiB (L1)
constexpr int64_t MC_TARGET = 144;   // rows of A per packed block: 144×256×4 B = 144 KiB (L2)
constexpr int64_t NC_TARGET = 2048;  // columns of B per packed panel: 256×2048×4 B = 2 MiB (L3)
constexpr int64_t kParallelFlops = 1 << 19;  // below this one thread beats waking the pool

// element (i, k) of op(A) at a[i·rs + k·cs]
struct View {
  const float* p;
  int64_t rs, cs;
};

// out[k·ld + c] = src[c·stride + k] for c < cols, k < kc: the transposing copy that packing does for
// row-major A and for transposed B (both hold k contiguous). 4×4 SSE transposes on x86-64 (its
// baseline: the driver is compiled for any x86-64); a plain loop elsewhere. The attention products
// are small enough that packing them cost a sixth of their time before this.
void transposeCopy(const float* src, int64_t stride, int64_t cols, int64_t kc, float* out, int64_t ld) {
  int64_t c = 0;
#if defined(__SSE2__)
  for (; c + 4 <= cols; c += 4) {
    const float* s0 = src + c * stride;
    const float *s1 = s0 + stride, *s2 = s1 + stride, *s3 = s2 + stride;
    int64_t k = 0;
    for (; k + 4 <= kc; k += 4) {
      __m128 r0 = _mm_loadu_ps(s0 + k), r1 = _mm_loadu_ps(s1 + k), r2 = _mm_loadu_ps(s2 + k), r3 = _mm_loadu_ps(s3 + k);
      _MM_TRANSPOSE4_PS(r0, r1, r2, r3);
      _mm_storeu_ps(out + k * ld + c, r0);
      _mm_storeu_ps(out + (k + 1) * ld + c, r1);
      _mm_storeu_ps(out + (k + 2) * ld + c, r2);
      _mm_storeu_ps(out + (k + 3) * ld + c, r3);
    }
    for (; k < kc; k++) {
      out[k * ld + c] = s0[k];
      out[k * ld + c + 1] = s1[k];
      out[k * ld + c + 2] = s2[k];
      out[k * ld + c + 3] = s3[k];
    }
  }
#endif
  for (; c < cols; c++)
    for (int64_t k = 0; k < kc; k++) out[k * ld + c] = src[c * stride + k];
}

// A block (mc × kc) into MR-high micro-panels: out[panel][k][r]
void packA(View a, int64_t mc, int64_t kc, int mr, float* out) {
  for (int64_t i0 = 0; i0 < mc; i0 += mr, out += mr * kc) {
    const int64_t rows = std::min<int64_t>(mr, mc - i0);
    if (a.cs == 1) {
      transposeCopy(a.p + i0 * a.rs, a.rs, rows, kc, out, mr);
    } else {
      for (int64_t k = 0; k < kc; k++) {
        const float* src = a.p + i0 * a.rs + k * a.cs;
        for (int64_t r = 0; r < rows; r++) out[k * mr + r] = src[r * a.rs];
      }
    }
    if (rows < mr)
      for (int64_t k = 0; k < kc; k++) std::fill(out + k * mr + rows, out + (k + 1) * mr, 0.0f);
  }
}

// B panel (kc × nc, element (k, j) at b[k·rs + j·cs]) into NR-wide micro-panels: out[panel][k][c]
void packB(View b, int64_t kc, int64_t nc, int nr, float* out) {
  for (int64_t j0 = 0; j0 < nc; j0 += nr, out += nr * kc) {
    const int64_t cols = std::min<int64_t>(nr, nc - j0);
    if (b.cs == 1) {
      for (int64_t k = 0; k < kc; k++) {
        std::memcpy(out + k * nr, b.p + k * b.rs + j0, cols * sizeof(float));
        std::fill(out + k * nr + cols, out + (k + 1) * nr, 0.0f);
      }
    } else {
      if (b.rs == 1) {
        transposeCopy(b.p + j0 * b.cs, b.cs, cols, kc, out, nr);
      } else {
        for (int64_t c = 0; c < cols; c++)
          for (int64_t k = 0; k < kc; k++) out[k * nr + c] = b.p[(j0 + c) * b.cs + k * b.rs];
      }
      for (int64_t c = cols; c < nr; c++)
        for (int64_t k = 0; k < kc; k++) out[k * nr + c] = 0.0f;
    }
  }
}

// One thread's packing buffers, grown on demand and kept (64-byte aligned).
struct Scratch {
  float* p = nullptr;
  size_t n = 0;
  float* get(size_t want) {
    if (want > n) {
      std::free(p);
      n = (want + 15) / 16 * 16;
      p = static_cast<float*>(std::aligned_alloc(64, n * sizeof(float)));
    }
    return p;
  }
  ~Scratch() { std::free(p); }
};
thread_local Scratch scratchA, scratchB;

// Rows [i0, i1) × columns [j0, j1) of C for one batch item.
void task(const Path& path, View a, View b, float* c, int64_t N, int64_t K, int64_t i0, int64_t i1, int64_t j0, int64_t j1) {
  const int mr = path.mr, nr = path.nr;
  const int64_t mcMax = MC_TARGET / mr * mr;
  const int64_t nc = j1 - j0;
  const int64_t ncPad = (nc + nr - 1) / nr * nr;
  float* Bp = scratchB.get(static_cast<size_t>(std::min(K, KC) * ncPad));
  float* Ap = scratchA.get(static_cast<size_t>(std::min(K, KC) * mcMax));
  alignas(64) float edge[16 * 32];  // MR×NR of the widest path
  for (int64_t pc = 0; pc < K; pc += KC) {
    const int64_t kc = std::min(KC, K - pc);
    const bool accumulate = pc > 0;
    packB({b.p + pc * b.rs + j0 * b.cs, b.rs, b.cs}, kc, nc, nr, Bp);
    for (int64_t ic = i0; ic < i1; ic += mcMax) {
      const int64_t mc = std::min(mcMax, i1 - ic);
      packA({a.p + ic * a.rs + pc * a.cs, a.rs, a.cs}, mc, kc, mr, Ap);
      for (int64_t jr = 0; jr < nc; jr += nr) {
        const int64_t cols = std::min<int64_t>(nr, nc - jr);
        for (int64_t ir = 0; ir < mc; ir += mr) {
          const int64_t rows = std::min<int64_t>(mr, mc - ir);
          float* cp = c + (ic + ir) * N + j0 + jr;
          const float* ap = Ap + ir * kc;
          const float* bp = Bp + jr * kc;
          if (rows == mr && cols == nr) {
            path.micro(kc, ap, bp, cp, N, accumulate);
            continue;
          }
          if (accumulate)
            for (int64_t r = 0; r < rows; r++) std::memcpy(edge + r * nr, cp + r * N, cols * sizeof(float));
          path.micro(kc, ap, bp, edge, nr, accumulate);
          for (int64_t r = 0; r < rows; r++) std::memcpy(cp + r * N, edge + r * nr, cols * sizeof(float));
        }
      }
    }
  }
}

// Splits count units into parts as evenly as possible: part p is [p·count/parts, (p+1)·count/parts).
inline int64_t cut(int64_t p, int64_t count, int64_t parts) { return p * count / parts; }

// Decode-shaped products (a few rows of A against a transposed B): each row of B is read once for
// all M rows, threads split N, and the product runs at the speed of streaming B from memory.
void streamRows(const Path& path, const Problem& p) {
  static constexpr int64_t block = 64;  // rows of B per step: stays in L2 while every row of A passes
  struct Ctx {
    const Path* path;
    const Problem* p;
  } ctx{&path, &p};
  forChunks(
      [](const void* c, int64_t blk) {
        const Ctx& x = *static_cast<const Ctx*>(c);
        const Problem& q = *x.p;
        const int64_t n0 = blk * block, n = std::min(block, q.N - n0);
        for (int64_t m = 0; m < q.M; m++) x.path->dotRows(q.a + m * q.K, q.b + n0 * q.K, q.c + m * q.N + n0, n, q.K);
      },
      &ctx, (p.N + block - 1) / block, p.N * p.K >= (1 << 20) ? omp_get_max_threads() : 1);
}

// Decode-shaped products against B stored [K,N]: threads split N into column blocks and each block
// streams its part of every row of B once, 1 KiB per row (packing B for one row of A cost more than
// the read itself; a narrower block reads B in strided 64-byte pieces).
void streamColumns(const Path& path, const Problem& p) {
  static constexpr int64_t block = 256;
  struct Ctx {
    const Path* path;
    const Problem* p;
  } ctx{&path, &p};
  forChunks(
      [](const void* c, int64_t blk) {
        const Ctx& x = *static_cast<const Ctx*>(c);
        const Problem& q = *x.p;
        const int64_t j0 = blk * block, n = std::min(block, q.N - j0);
        x.path->axpyRows(q.a, q.b + j0, q.c + j0, q.M, n, q.K, q.N, q.N);
      },
      &ctx, (p.N + block - 1) / block, p.N * p.K >= (1 << 20) ? omp_get_max_threads() : 1);
}

}  // namespace

void axpyRowsScalar(const float* a, const float* b, float* c, int64_t M, int64_t n, int64_t K, int64_t ldb,
                    int64_t ldc) {
  for (int64_t m = 0; m < M; m++) {
    float* cm = c + m * ldc;
    for (int64_t j = 0; j < n; j++) cm[j] = 0.0f;
    for (int64_t k = 0; k < K; k++) {
      const float x = a[m * K + k];
      const float* bk = b + k * ldb;
      for (int64_t j = 0; j < n; j++) cm[j] = __builtin_fmaf(x, bk[j], cm[j]);
    }
  }
}

void run(const Path& path, const Problem& p) {
  const int64_t M = p.M, N = p.N, K = p.K;
  if (p.batch <= 0 || M <= 0 || N <= 0) return;
  if (K <= 0) {
    std::fill(p.c, p.c + p.batch * M * N, 0.0f);
    return;
  }
  if (skinny(p)) return streamRows(path, p);
  if (skinnyColumns(p)) return streamColumns(path, p);
  if (!p.ta && !p.tb && M <= 8 && p.batch * N * K < (1 << 16)) {
    // small few-row products against B [K,N] (DCMHA's qkw in a decode step: 4 × [1,C]·[C,2IN]):
    // row by row, the same FMA chains as the packed path without packing B on every call
    for (int64_t i = 0; i < p.batch; i++)
      path.axpyRows(p.a + i * p.strideA, p.b + i * p.strideB, p.c + i * M * N, M, N, K, N, N);
    return;
  }
  const View a0{p.a, p.ta ? 1 : K, p.ta ? M : 1};
  const View b0{p.b, p.tb ? 1 : N, p.tb ? K : 1};
  // The task grid: column panels of at most NC, then halve the longer side until every thread has
  // work. Tasks are cut in whole micro-tiles, evenly.
  const int threads = omp_get_max_threads();
  const bool parallel = threads > 1 && p.batch * M * N * K >= kParallelFlops;
  const int64_t tilesM = (M + path.mr - 1) / path.mr, tilesN = (N + path.nr - 1) / path.nr;
  int64_t nI = 1, nJ = std::min(tilesN, (N + NC_TARGET - 1) / NC_TARGET);
  if (parallel) {
    while (p.batch * nI * nJ < threads && (nI < tilesM || nJ < tilesN)) {
      if ((M / nI >= N / nJ && nI < tilesM) || nJ >= tilesN) nI = std::min(tilesM, nI * 2);
      else nJ = std::min(tilesN, nJ * 2);
    }
    // an uneven count leaves a thread idle at the end: round up to a multiple of the pool
    const int64_t total = p.batch * nI * nJ;
    if (total % threads != 0 && total < 16 * threads && p.batch == 1) {
      const int64_t want = (total + threads - 1) / threads * threads;
      if (nJ > 1 && want % nI == 0 && want / nI <= tilesN) nJ = want / nI;
      else if (want % nJ == 0 && want / nJ <= tilesM) nI = want / nJ;
    }
  }
  const int64_t perItem = nI * nJ;
  // static: with the passive wait policy the pool wakes late, and a dynamic loop then ran the small
  // batched products (attention heads) on one thread (+5–17% here)
#pragma omp parallel for schedule(static) if (parallel)
  for (int64_t t = 0; t < p.batch * perItem; t++) {
    const int64_t item = t / perItem, ti = t % perItem / nJ, tj = t % nJ;
    const int64_t i0 = cut(ti, tilesM, nI) * path.mr, i1 = std::min(M, cut(ti + 1, tilesM, nI) * path.mr);
    const int64_t j0 = cut(tj, tilesN, nJ) * path.nr, j1 = std::min(N, cut(tj + 1, tilesN, nJ) * path.nr);
    if (i0 >= i1 || j0 >= j1) continue;
    const View a{a0.p + item * p.strideA, a0.rs, a0.cs};
    const View b{b0.p + item * p.strideB, b0.rs, b0.cs};
    task(path, a, b, p.c + item * M * N, N, K, i0, i1, j0, j1);
  }
}

}  // namespace dcf::gemm
