// Stand-alone check of the compact matmul (qgemm*.cc) without Node: every path this binary and CPU
// can run, every format, decode (M ≤ 8, fused) and prefill (M > 8, tiled) shapes, against a double
// sum over weights decoded here from the documented layout (qgemm.h), within 1e-5·Σ|x·w| (plus the
// documented grid of the integer int4 decoders — the paths with an `arrange` — which hold x per block
// of 32 as integers).
// Built and run by test/qgemm-native.test.ts, natively and, cross-compiled for arm64, under qemu-user.
// Usage: qgemm-check [--threads N] → one line per path, exit 1 on any mismatch.
#include <omp.h>
#include <sys/mman.h>
#include <unistd.h>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <algorithm>
#include <cstring>
#include <memory>
#include <random>
#include <thread>
#include <vector>
#include "../qgemm.h"

using namespace dcf::qgemm;

namespace {

// Decoding written out again from the layout, in double (not the library's rawWeight).
double weightOf(int fmt, const uint8_t* w, const std::vector<float>& s, int64_t n, int64_t k, int64_t K,
                int64_t G) {
  const uint8_t* row = w + n * rowBytes(fmt, K);
  if (fmt == kBf16 || fmt == kF16) {
    const unsigned h = row[2 * k] | (row[2 * k + 1] << 8);
    if (fmt == kBf16) {
      const uint32_t bits = static_cast<uint32_t>(h) << 16;
      float f;
      std::memcpy(&f, &bits, 4);
      return f;
    }
    const int e = (h >> 10) & 31, m = h & 1023;
    const double sign = (h & 0x8000) ? -1 : 1;
    if (e == 0) return sign * std::ldexp(m, -24);
    return sign * std::ldexp(1024 + m, e - 25);
  }
  const double scale = s[n * (K / G) + k / G];
  if (fmt == kInt8) return static_cast<int8_t>(row[k]) * scale;
  const int64_t j = k % 32;
  const uint8_t b = row[(k / 32) * 16 + j % 16];
  return ((j < 16 ? b & 15 : b >> 4) - 8) * scale;
}

// `bytes` that end where an unreadable page begins: a kernel reading past the end of W faults (the
// software prefetch ahead of the decode loads may point there: it must not fault).
struct Guarded {
  uint8_t* map = nullptr;
  size_t len = 0;
  uint8_t* data = nullptr;
  explicit Guarded(size_t bytes) {
    const size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
    const size_t body = (bytes + page - 1) / page * page;
    len = body + page;
    void* m = mmap(nullptr, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED) {
      std::perror("qgemm-check: mmap");
      std::exit(2);
    }
    map = static_cast<uint8_t*>(m);
    if (mprotect(map + body, page, PROT_NONE) != 0) {
      std::perror("qgemm-check: mprotect");
      std::exit(2);
    }
    data = map + body - bytes;
  }
  ~Guarded() { munmap(map, len); }
};

// x with blocks of 32 that stress a decoder holding x as integers per block (the integer paths): tiny
// (2^-60, and 2^-110, below what it holds: the call falls back), zero, largest |x| just under a power
// of two (fewer bits), and one outlier among small values.
void hardBlocks(std::vector<float>& x, std::mt19937& rng) {
  for (size_t b = 0; b + 32 <= x.size(); b += 32) {
    const unsigned kind = rng() % 6;
    for (size_t j = b; j < b + 32; j++) {
      if (kind == 1) x[j] = std::ldexp(x[j], -60);
      if (kind == 2) x[j] = 0;
      if (kind == 3) x[j] = std::ldexp(x[j], -110);
      if (kind == 5) x[j] *= 1e-3f;
    }
    if (kind == 4) x[b + rng() % 32] = (rng() % 2 ? 1 : -1) * 0.99999994f;
    if (kind == 5) x[b + rng() % 32] = 1000.0f;
  }
}

// offset < 0: W ends at an unreadable page (Guarded) instead of `offset` bytes past a 64-byte boundary
int check(const char* name, int fmt, int64_t M, int64_t N, int64_t K, int64_t G, int64_t offset, std::mt19937& rng,
          int hard = 0) {
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  std::uniform_int_distribution<int> byte(0, 255);
  std::vector<float> x(M * K), y(M * N, NAN), s(fmt >= kInt8 ? N * (K / G) : 0);
  // W at a 64-byte boundary or `offset` bytes past one (paths load whole 64-byte chunks wherever they lie)
  const size_t bytes = N * rowBytes(fmt, K);
  std::vector<uint8_t> buf(offset >= 0 ? bytes + 128 : 0);
  const std::unique_ptr<Guarded> guarded(offset < 0 ? new Guarded(bytes) : nullptr);
  uint8_t* w = offset < 0 ? guarded->data
                          : reinterpret_cast<uint8_t*>((reinterpret_cast<uintptr_t>(buf.data()) + 63) & ~uintptr_t(63)) + offset;
  for (float& v : x) v = u(rng);
  if (hard == 1) hardBlocks(x, rng);
  if (hard == 2)  // all of x below 2^-103: below what an integer decoder's block scale holds
    for (float& v : x) v = std::ldexp(v, -110);
  for (float& v : s) v = u(rng) * 0.1f;
  for (size_t i = 0; i < bytes; i++) {
    w[i] = static_cast<uint8_t>(byte(rng));
    // 16-bit formats: keep exponents moderate (no inf/NaN, some subnormal halves)
    if ((fmt == kBf16 || fmt == kF16) && (i % 2 == 1)) w[i] = static_cast<uint8_t>((w[i] & 0x80) | (0x30 + (w[i] & 0x0f)));
  }
  run({fmt, x.data(), w, s.data(), y.data(), M, N, K, G});
  // The integer int4 decoders (paths with an `arrange`: avx512vnni, avx2vnni, avx2int) hold x per
  // block of 32 as integers on a grid of at most 2⁻²¹ of the block's largest |x| (ADR 0006): each x
  // value may move by half a step, weighted by its |w|.
  const bool blockGrid = fmt == kInt4 && currentPath().arrange != nullptr;
  int bad = 0;
  for (int64_t m = 0; m < M; m++)
    for (int64_t n = 0; n < N; n++) {
      double want = 0, mag = 0, grid = 0;
      float big = 0;
      for (int64_t k = 0; k < K; k++) {
        const double wk = weightOf(fmt, w, s, n, k, K, G), t = x[m * K + k] * wk;
        want += t;
        mag += std::fabs(t);
        if (blockGrid) {
          if (k % 32 == 0) {  // the block's largest |x|, once per block
            big = 0;
            for (int64_t j = k; j < std::min(K, k + 32); j++) big = std::fmax(big, std::fabs(x[m * K + j]));
          }
          grid += std::fabs(wk) * std::ldexp(static_cast<double>(big), -22);
        }
      }
      const double got = y[m * N + n];
      if (!(std::fabs(got - want) <= 1e-5 * mag + grid + 1e-45)) {
        if (bad++ < 3)
          std::printf("  %s fmt %d M%lld N%lld K%lld G%lld: y[%lld,%lld] %.9g want %.9g\n", name, fmt, (long long)M,
                      (long long)N, (long long)K, (long long)G, (long long)m, (long long)n, got, want);
      }
    }
  return bad;
}

}  // namespace

int main(int argc, char** argv) {
  for (int i = 1; i + 1 < argc; i++)
    if (std::strcmp(argv[i], "--threads") == 0) omp_set_num_threads(std::atoi(argv[i + 1]));
  struct Shape {
    int64_t M, N, K, G;
  };
  // decode (fused) and prefill (tiled), tails of N per thread, 16-bit tails of K, per-channel int8
  const Shape shapes[] = {{1, 33, 64, 32},  {3, 17, 96, 32},    {5, 9, 128, 64},  {8, 40, 256, 128},
                          {9, 19, 64, 64},  {13, 70, 192, 64},  {2, 300, 512, 512}, {1, 1024, 128, 32},
                          // decode from whole 64-byte loads (avx512 int8/int4): groups smaller than,
                          // equal to and larger than a chunk, a K tail after the chunks, a group size
                          // that fits no chunk (the block decoder then), the 2.8B model's row
                          {1, 37, 192, 64}, {3, 21, 320, 32}, {7, 11, 384, 96}, {6, 15, 768, 256},
                          {4, 5, 2560, 64}, {1, 50, 2560, 128},
                          // one x row: 4 chains for long groups (16-bit formats, G ≥ 256), two blocks
                          // per step with an odd block left over (K = 96, 352), per-channel int8/int4
                          {1, 13, 96, 32}, {1, 9, 352, 32}, {1, 11, 1024, 256}, {1, 7, 768, 768}, {2, 6, 768, 768},
                          // one x row, 16-bit rows longer than a K slice (4096): two and three slices
                          {1, 19, 4352, 64}, {1, 9, 8256, 64}};
  const Path* all[kMaxPaths];
  const int n = runnablePaths(all, kMaxPaths);
  int total = 0;
  std::mt19937 rng(7);
  for (int i = 0; i < n; i++) {
    setPath(all[i]->name);
    int cases = 0, bad = 0;
    // An integer int4 decoder hands every other format to its base path, which is checked on its own
    // (int8 checks the hand-over; this keeps the Haswell run under qemu within its time).
    const int first = all[i]->arrange != nullptr ? kInt8 : kBf16;
    for (int fmt = first; fmt <= kInt4; fmt++)
      for (const Shape& sh : shapes) {
        // Int32Array data is 4-byte aligned at least; large buffers are usually 16 bytes past a line
        // −1: W ends at an unreadable page
        for (int64_t offset : {0, 4, 16, 48, -1}) bad += check(all[i]->name, fmt, sh.M, sh.N, sh.K, sh.G, offset, rng), cases++;
        if (fmt <= kF16) bad += check(all[i]->name, fmt, sh.M, sh.N, sh.K + 6, 0, 16, rng), cases++;  // K tail
        if (fmt == kInt4)  // the format whose decode holds x as integers on the integer paths
          for (int hard : {1, 1, 1, 2}) bad += check(all[i]->name, fmt, sh.M, sh.N, sh.K, sh.G, 16, rng, hard), cases++;
      }
    // a NaN or an infinity in x reaches every output of its row, on every path and format
    for (int fmt = kBf16; fmt <= kInt4; fmt++)
      for (const float v : {NAN, INFINITY}) {
        const int64_t M = 2, N = 24, K = 256, G = 64;
        std::vector<float> x(M * K, 0.5f), y(M * N, 0), s(N * (K / G), 0.01f);
        std::vector<uint8_t> w(N * rowBytes(fmt, K), 0x11);
        x[K + 77] = v;
        run({fmt, x.data(), w.data(), s.data(), y.data(), M, N, K, G});
        for (int64_t n = 0; n < N; n++) bad += std::isfinite(y[n]) ? 0 : 1, bad += std::isfinite(y[N + n]) ? 1 : 0;
        cases++;
      }
    std::printf("%s: %d cases, %d mismatches\n", all[i]->name, cases, bad);
    total += bad;
  }
  // The decode pool (qgemm-driver.cc): many calls in a row (helpers claiming chunks of one job while
  // the next is published), and four threads calling at once (one runs on the pool, the others alone);
  // every result must equal the first call's, bit for bit (chunks are rows: no order-dependent sums).
  {
    setPath(all[0]->name);
    const int64_t M = 1, N = 700, K = 256, G = 64;
    std::vector<float> x(M * K), s(N * (K / G));
    std::vector<uint8_t> w(N * rowBytes(kInt4, K));
    std::uniform_real_distribution<float> u(-1.0f, 1.0f);
    for (float& v : x) v = u(rng);
    for (float& v : s) v = u(rng);
    for (size_t i = 0; i < w.size(); i++) w[i] = static_cast<uint8_t>(rng());
    std::vector<float> want(M * N);
    run({kInt4, x.data(), w.data(), s.data(), want.data(), M, N, K, G});
    int bad = 0;
    const auto calls = [&](int reps) {
      std::vector<float> y(M * N);
      int wrong = 0;
      for (int r = 0; r < reps; r++) {
        std::fill(y.begin(), y.end(), NAN);
        run({kInt4, x.data(), w.data(), s.data(), y.data(), M, N, K, G});
        wrong += std::memcmp(y.data(), want.data(), y.size() * 4) != 0;
      }
      return wrong;
    };
    bad += calls(2000);
    std::vector<std::thread> callers;
    std::vector<int> wrong(4);
    for (int t = 0; t < 4; t++) callers.emplace_back([&, t] { wrong[t] = calls(300); });
    for (auto& t : callers) t.join();
    for (int v : wrong) bad += v;
    std::printf("pool: %d repeated and concurrent calls wrong\n", bad);
    total += bad;
  }
  return total == 0 ? 0 : 1;
}
