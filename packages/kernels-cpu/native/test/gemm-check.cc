// Stand-alone check of every GEMM path this binary and CPU can run, without Node: each path against
// the definition of our result (one fmaf chain per element over k in order, from 0) bit for bit, and
// against a double-precision sum within 1e-5·√K·max|a||b|. Built and run by test/gemm-native.test.ts,
// natively and, cross-compiled for arm64, under qemu-user (the NEON path).
// Usage: gemm-check [--threads N] [--quick] → one line per path, exit 1 on any mismatch. --quick keeps
// the small cases (for runs under an emulated CPU, where every instruction is slow).
#include <omp.h>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <vector>
#include "../gemm.h"

using dcf::gemm::Path;
using dcf::gemm::Problem;

namespace {

struct Case {
  int64_t batch, M, N, K;
  bool ta, tb;
  int broadcast;  // 0 none, 1 a shared over the batch, 2 b shared
};

float opA(const Case& c, const std::vector<float>& a, int64_t i, int64_t m, int64_t k) {
  const int64_t base = c.broadcast == 1 ? 0 : i * c.M * c.K;
  return c.ta ? a[base + k * c.M + m] : a[base + m * c.K + k];
}
float opB(const Case& c, const std::vector<float>& b, int64_t i, int64_t k, int64_t n) {
  const int64_t base = c.broadcast == 2 ? 0 : i * c.K * c.N;
  return c.tb ? b[base + n * c.K + k] : b[base + k * c.N + n];
}

int check(const Path& path, const Case& c, std::mt19937& rng) {
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  std::vector<float> a((c.broadcast == 1 ? 1 : c.batch) * c.M * c.K), b((c.broadcast == 2 ? 1 : c.batch) * c.K * c.N);
  for (float& x : a) x = u(rng);
  for (float& x : b) x = u(rng);
  std::vector<float> out(c.batch * c.M * c.N, std::nanf(""));
  const Problem p{a.data(), b.data(), out.data(), c.batch, c.M, c.N, c.K, c.ta, c.tb,
                  c.broadcast == 1 ? 0 : c.M * c.K, c.broadcast == 2 ? 0 : c.K * c.N};
  dcf::gemm::run(path, p);
  const bool skinny = dcf::gemm::skinny(p);  // decode shapes keep 16 lane sums; the rest is one chain
  int bad = 0;
  for (int64_t i = 0; i < c.batch; i++)
    for (int64_t m = 0; m < c.M; m++)
      for (int64_t n = 0; n < c.N; n++) {
        float chain = 0.0f, lanes[16] = {0};
        double exact = 0.0;
        for (int64_t k = 0; k < c.K; k++) {
          const float x = opA(c, a, i, m, k), y = opB(c, b, i, k, n);
          chain = std::fmaf(x, y, chain);
          lanes[k % 16] = std::fmaf(x, y, lanes[k % 16]);
          exact += static_cast<double>(x) * y;
        }
        const float want = skinny ? dcf::gemm::foldLanes(lanes) : chain;
        const float got = out[(i * c.M + m) * c.N + n];
        const bool close = std::fabs(got - exact) <= 1e-5 * std::sqrt(static_cast<double>(c.K) + 1.0);
        if ((std::memcmp(&got, &want, sizeof got) != 0 || !close) && bad++ < 3)
          std::printf("  %s b%lld M%lld N%lld K%lld ta%d tb%d bc%d at [%lld,%lld,%lld]: got %.9g want %.9g (float64 %.9g)\n", path.name,
                      (long long)c.batch, (long long)c.M, (long long)c.N, (long long)c.K, c.ta, c.tb, c.broadcast, (long long)i, (long long)m,
                      (long long)n, got, want, exact);
      }
  return bad;
}

}  // namespace

int main(int argc, char** argv) {
  bool quick = false;
  for (int i = 1; i < argc; i++) {
    if (std::strcmp(argv[i], "--threads") == 0 && i + 1 < argc) omp_set_num_threads(std::atoi(argv[++i]));
    else if (std::strcmp(argv[i], "--quick") == 0) quick = true;
  }
  std::vector<Case> cases;
  const int64_t sizes[][3] = {{1, 1, 1}, {7, 17, 129}, {129, 7, 17}, {17, 1000, 7}, {1000, 17, 1}, {129, 129, 300}, {33, 65, 1000}, {150, 97, 260}};
  for (const auto& s : sizes)
    for (int t = 0; t < 4; t++) cases.push_back({1, s[0], s[1], s[2], (t & 1) != 0, (t & 2) != 0, 0});
  for (int bc = 0; bc < 3; bc++)
    for (int t = 0; t < 4; t++) cases.push_back({5, 37, 45, 24, (t & 1) != 0, (t & 2) != 0, bc});
  cases.push_back({64, 128, 192, 32, false, true, 0});  // attention heads
  cases.push_back({1, 3, 1000, 300, false, true, 0});   // decode: the skinny path
  cases.push_back({1, 1, 4099, 17, false, true, 0});
  // decode against B stored [K,N]: the column path (one chain, like the packed path), column tails
  cases.push_back({1, 3, 1000, 300, false, false, 0});
  cases.push_back({1, 1, 4099, 17, false, false, 0});
  cases.push_back({1, 8, 530, 200, false, false, 0});
  cases.push_back({1, 7, 77, 1000, false, false, 0});
  // decode shapes big enough to be split over the helper pool (N·K ≥ 2^20), both layouts of B
  cases.push_back({1, 1, 2100, 520, false, true, 0});
  cases.push_back({1, 3, 2100, 520, false, false, 0});
  cases.push_back({2, 0, 5, 3, false, false, 0});  // empty
  cases.push_back({2, 4, 5, 0, false, false, 0});  // K = 0: zeros
  if (quick) {
    std::vector<Case> small;
    for (const Case& c : cases)
      if (c.batch * c.M * c.N * c.K <= 200000) small.push_back(c);
    cases = small;
  }
  std::mt19937 rng(1234);
  int failures = 0;
  for (const Path* path : {dcf::gemm::avx512Path(), dcf::gemm::avx2Path(), dcf::gemm::neonPath(), dcf::gemm::portablePath()}) {
    if (path == nullptr) continue;
    int bad = 0;
    for (const Case& c : cases) bad += check(*path, c, rng);
    std::printf("%s: %zu cases, %d mismatches (threads %d)\n", path->name, cases.size(), bad, omp_get_max_threads());
    failures += bad;
  }
  return failures == 0 ? 0 : 1;
}
