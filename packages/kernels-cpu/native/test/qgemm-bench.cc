// Stand-alone speed probe of the compact matmul (qgemm*.cc) at decode shape (M = 1 by default):
// per format, weights streamed from memory (a set far beyond the caches) on all threads and on one,
// and the same kernel on a set that stays in L2 on one thread, timed in thread CPU time, which shows the
// instruction cost per weight without memory (and is steadier when other processes share the cores).
// A plain float32 read of the big set is timed in the same minute for comparison.
// Usage: qgemm-bench [--path NAME] [--runs R] [--m M] [--mib MIB] [--xoff FLOATS] [--woff BYTES] [--n N] [--k K] [--small-kib KIB]  (dev tool; not run by the tests)
// Build it as the addon is built, or its figures are not the addon's: each qgemm-*.cc with its flags
// from scripts/native-flags.mjs plus -O3 -fno-math-errno -fopenmp -std=c++17 (at -O2 the avx2 int8
// decoder ran at 10 instead of 19 G weights/s in L2 on AMD Zen 4), this file with -march=x86-64.
#include <omp.h>
#include <time.h>
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>
#include "../qgemm.h"

using namespace dcf::qgemm;

namespace {

double wallNow() { return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count(); }
double threadCpuNow() {
  timespec t;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return t.tv_sec + t.tv_nsec * 1e-9;
}

int64_t woff = 16;  // W at a 64-byte boundary plus --woff bytes (malloc gives 16)

struct Set {
  int fmt;
  int64_t N, K, G, mats;
  std::vector<uint8_t> w;
  std::vector<float> s;
  int64_t bytes() const { return static_cast<int64_t>(w.size() - 128 + s.size() * 4); }
  const uint8_t* base() const {
    return reinterpret_cast<const uint8_t*>((reinterpret_cast<uintptr_t>(w.data()) + 63) & ~uintptr_t(63)) + woff;
  }
};

Set makeSet(int fmt, int64_t N, int64_t K, int64_t G, int64_t mats) {
  Set set{fmt, N, K, G, mats, std::vector<uint8_t>(mats * N * rowBytes(fmt, K) + 128),
          std::vector<float>(fmt >= kInt8 ? mats * N * (K / G) : 0, 1e-3f)};
  uint32_t r = 12345;
  for (auto& b : set.w) {
    r ^= r << 13, r ^= r >> 17, r ^= r << 5;
    b = static_cast<uint8_t>(r);
  }
  if (fmt <= kF16)  // 16-bit formats: moderate exponents
    for (size_t i = 1; i < set.w.size(); i += 2) set.w[i] = (set.w[i] & 0x80) | 0x3c;
  return set;
}

// `reps` passes over every matrix of the set, timed together; returns seconds per pass (best of runs)
double pass(const Set& set, const float* x, std::vector<float>& y, int64_t M, int runs, bool cpuTime, int reps = 1,
            float* arranged = nullptr) {
  double best = 1e30;
  const int64_t wm = set.N * rowBytes(set.fmt, set.K), sm = set.fmt >= kInt8 ? set.N * (set.K / set.G) : 0;
  for (int r = 0; r < runs; r++) {
    const double t0 = cpuTime ? threadCpuNow() : wallNow();
    for (int rep = 0; rep < reps; rep++)
      for (int64_t i = 0; i < set.mats; i++) {
        const Problem p{set.fmt, x, set.base() + i * wm, set.s.empty() ? nullptr : set.s.data() + i * sm,
                        y.data(), M, set.N, set.K, set.G};
        if (arranged == nullptr) {
          run(p);
        } else {  // the path's row kernel alone: no thread team, no rearranging x per call
          Problem q = p;
          if (currentPath().arrange != nullptr && currentPath().arrange(p, arranged)) q.xp = arranged;
          currentPath().rows(q, 0, set.N, nullptr);
        }
      }
    best = std::min(best, ((cpuTime ? threadCpuNow() : wallNow()) - t0) / reps);
  }
  return best;
}

}  // namespace

int main(int argc, char** argv) {
  int runs = 5;
  int64_t M = 1, mib = 1024, xoff = 0, smallKib = 600;
  const char* path = nullptr;
  int64_t shapeN = 6912, shapeK = 2560;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--runs")) runs = std::atoi(argv[i + 1]);
    if (!std::strcmp(argv[i], "--m")) M = std::atoll(argv[i + 1]);
    if (!std::strcmp(argv[i], "--mib")) mib = std::atoll(argv[i + 1]);
    if (!std::strcmp(argv[i], "--small-kib")) smallKib = std::max<int64_t>(8, std::atoll(argv[i + 1]));
    if (!std::strcmp(argv[i], "--xoff")) xoff = std::atoll(argv[i + 1]) & 15;
    if (!std::strcmp(argv[i], "--path")) path = argv[i + 1];
    if (!std::strcmp(argv[i], "--n")) shapeN = std::max<int64_t>(1, std::atoll(argv[i + 1]));
    if (!std::strcmp(argv[i], "--k")) shapeK = std::max<int64_t>(128, std::atoll(argv[i + 1]) / 128 * 128);
    if (!std::strcmp(argv[i], "--woff")) woff = std::atoll(argv[i + 1]) & 63;
  }
  if (path != nullptr && !setPath(path)) {
    std::fprintf(stderr, "qgemm-bench: path '%s' cannot run here\n", path);
    return 2;
  }
  const int64_t N = shapeN, K = shapeK, G = 64;
  // x at a 64-byte boundary plus --xoff floats (tfjs buffers are only 8- or 16-byte aligned)
  std::vector<float> xbuf(M * K + 32), y(M * N);
  float* x = reinterpret_cast<float*>((reinterpret_cast<uintptr_t>(xbuf.data()) + 63) & ~uintptr_t(63)) + xoff;
  for (int64_t i = 0; i < M * K; i++) x[i] = static_cast<float>(i % 17) * 0.01f - 0.08f;
  std::vector<float> xbuf2(M * K + 16);  // x in the path's order (M ≤ 8; rearranged once per pass)
  float* xarr = reinterpret_cast<float*>((reinterpret_cast<uintptr_t>(xbuf2.data()) + 63) & ~uintptr_t(63));
  // plain float32 read of `mib` MiB, all threads
  {
    std::vector<float> buf((mib << 20) / 4, 1.0f);
    double best = 1e30, sum = 0;
    for (int r = 0; r < runs; r++) {
      const double t0 = wallNow();
      double tot = 0;
#pragma omp parallel for schedule(static) reduction(+ : tot)
      for (int64_t b = 0; b < static_cast<int64_t>(buf.size()); b += 4096) {
        float s0 = 0;
#pragma omp simd reduction(+ : s0)
        for (int64_t i = b; i < b + 4096; i++) s0 += buf[i];
        tot += s0;
      }
      sum += tot;
      best = std::min(best, wallNow() - t0);
    }
    std::printf("path %s, M %lld, %d threads; f32 read %.1f GB/s (%g)\n", currentPath().name, (long long)M,
                omp_get_max_threads(), buf.size() * 4 / best / 1e9, sum > 0 ? 0.0 : 1.0);
  }
  const char* names[] = {"bf16", "f16", "int8", "int4"};
  for (int fmt = kBf16; fmt <= kInt4; fmt++) {
    // big: ~mib MiB of packed weights; small: one 6912×2560 slice of 256 rows that stays in L2
    const int64_t perMat = N * rowBytes(fmt, K);
    const Set big = makeSet(fmt, N, K, G, std::max<int64_t>(1, (mib << 20) / perMat));
    const double tb = pass(big, x, y, M, runs, false);
    const int64_t smallRows = (smallKib << 10) / rowBytes(fmt, K);  // ~600 KB: stays in a 1 MB L2
    const Set small = makeSet(fmt, smallRows, K, G, 1);
    const int threads = omp_get_max_threads();
    omp_set_num_threads(1);
    const double ts = pass(small, x, y, M, runs * 4, true, 50, xarr);
    const double t1 = pass(big, x, y, M, runs, true);
    omp_set_num_threads(threads);
    const double wb = static_cast<double>(big.mats * N * K), ws = static_cast<double>(smallRows * K);
    std::printf("%-5s streamed: %6.2f GB/s, %6.2f G weights/s | 1 thread CPU time: streamed %6.2f GB/s, in L2 %6.2f G weights/s\n",
                names[fmt], big.bytes() / tb / 1e9, wb / tb / 1e9, big.bytes() / t1 / 1e9, ws / ts / 1e9);
  }
  return 0;
}
