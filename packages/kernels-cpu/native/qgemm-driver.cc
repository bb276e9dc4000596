// Compact matmul driver: path choice at load time (DCFORMER_QGEMM=avx512|avx2|neon|portable forces
// one) and the split of N over OpenMP's threads. No Node here: test/qgemm-check.cc links it alone.
#include <omp.h>
#include <cstdlib>
#include <cstring>
#include <vector>
#include "qgemm.h"

namespace dcf::qgemm {
namespace {

const Path* chosen = nullptr;

const Path* initial() {
  const Path* all[4];
  const int n = runnablePaths(all, 4);
  const char* want = std::getenv("DCFORMER_QGEMM");
  if (want != nullptr)
    for (int i = 0; i < n; i++)
      if (std::strcmp(all[i]->name, want) == 0) return all[i];
  return all[0];  // portable is always there
}

}  // namespace

int runnablePaths(const Path** out, int max) {
  int n = 0;
  for (const Path* p : {avx512Path(), avx2Path(), neonPath(), portablePath()})
    if (p != nullptr && n < max) out[n++] = p;
  return n;
}

const Path& currentPath() {
  if (chosen == nullptr) chosen = initial();
  return *chosen;
}

bool setPath(const char* name) {
  const Path* all[4];
  const int n = runnablePaths(all, 4);
  for (int i = 0; i < n; i++) {
    if (std::strcmp(all[i]->name, name) == 0) {
      chosen = all[i];
      return true;
    }
  }
  return false;
}

void run(const Problem& p) {
  const Path& path = currentPath();
  const bool tiled = p.M > kFusedRows;
  // Below ~32k weights the threads' start-up costs more than the product.
  const int threads = p.N * p.K >= (1 << 15) ? omp_get_max_threads() : 1;
  // Contiguous ranges of whole tiles: each thread streams its own part of W once.
  const int64_t chunk = ((p.N + threads - 1) / threads + kTileRows - 1) / kTileRows * kTileRows;
#pragma omp parallel num_threads(threads) if (threads > 1)
  {
    const int t = omp_get_thread_num();
    const int64_t n0 = t * chunk, n1 = n0 + chunk < p.N ? n0 + chunk : p.N;
    if (n0 < n1) {
      std::vector<float> scratch(tiled ? static_cast<size_t>(kTileRows * p.K) : 0);
      path.rows(p, n0, n1, scratch.data());
    }
  }
}

}  // namespace dcf::qgemm
