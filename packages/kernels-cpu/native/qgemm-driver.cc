// Compact matmul driver: path choice at load time (DCFORMER_QGEMM=avx512|avx2|neon|portable forces
// one) and the split of N over OpenMP's threads. No Node here: test/qgemm-check.cc links it alone.
#include <omp.h>
#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <thread>
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

// Caller-runs helper pool for the decode products (M ≤ kFusedRows). An OpenMP team ends in a
// barrier that waits for every thread, including one that had not even started: a helper woken from
// sleep (40–70 µs in a VM) or descheduled by another process (milliseconds on a busy 2-core machine)
// held up each call, whose whole work is 0.1–2 ms. Here the calling thread starts at once and takes
// chunks off a shared counter; helpers take chunks when they get there; the call returns when every
// chunk is done, so a helper that never got a core costs nothing. Helpers spin a few µs after a job
// (the next product usually follows soon) before sleeping on a condition variable.
class Pool {
 public:
  using Fn = void (*)(const void* ctx, int64_t chunk);

  static Pool& get() {
    static Pool* pool = new Pool;  // never destroyed: its detached helpers outlive static destructors
    return *pool;
  }

  // fn(ctx, c) for c in [0, chunks), on the caller and up to `threads` − 1 helpers.
  void run(Fn fn, const void* ctx, int64_t chunks, int threads) {
    // one job at a time (Node worker threads may call at once): a second caller runs alone
    std::unique_lock<std::mutex> busy(submit_, std::try_to_lock);
    if (threads <= 1 || chunks <= 1 || !busy.owns_lock() || chunks >= kMaxChunks) {
      for (int64_t c = 0; c < chunks; c++) fn(ctx, c);
      return;
    }
    grow(threads - 1);
    fn_ = fn;
    ctx_ = ctx;
    done_.store(0, std::memory_order_relaxed);
    gen_ = (gen_ + 1) & kGenMask;
    // publish: generation, chunk count and the next index in one word, so a helper's claim (a CAS on
    // it) can only succeed on the job whose fields it then reads
    next_.store(gen_ << 40 | static_cast<uint64_t>(chunks) << 20, std::memory_order_seq_cst);
    if (sleepers_.load(std::memory_order_seq_cst) > 0) {  // seq_cst: pairs with the helper's count-then-check
      std::lock_guard<std::mutex> lock(wake_);
      wakeups_++;
      cv_.notify_all();
    }
    int64_t mine = 0;
    for (int64_t c; (c = claim()) >= 0; mine++) fn(ctx, c);
    done_.fetch_add(mine, std::memory_order_acq_rel);
    // wait for chunks a helper claimed and is still running
    for (int spins = 0; done_.load(std::memory_order_acquire) < chunks; spins++) {
      if (spins < 4096) pause();
      else std::this_thread::yield();
    }
  }

 private:
  static constexpr uint64_t kGenMask = (uint64_t(1) << 24) - 1;
  static constexpr int64_t kMaxChunks = int64_t(1) << 20;

  static void pause() {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    asm volatile("yield");
#endif
  }

  // the next chunk of the published job, or −1 when all are taken
  int64_t claim() {
    uint64_t s = next_.load(std::memory_order_acquire);
    for (;;) {
      const int64_t idx = static_cast<int64_t>(s & 0xfffff), count = static_cast<int64_t>((s >> 20) & 0xfffff);
      if (idx >= count) return -1;
      if (next_.compare_exchange_weak(s, s + 1, std::memory_order_acq_rel, std::memory_order_acquire)) return idx;
    }
  }

  void grow(int helpers) {
    while (helpers_ < helpers) {
      std::thread([this] { helper(); }).detach();
      helpers_++;
    }
  }

  void helper() {
    uint64_t seenWake = 0;
    for (;;) {
      // a job is claimable while its index is below its count; spin ~kSpin first, then sleep
      const auto until = std::chrono::steady_clock::now() + std::chrono::microseconds(spinMicros());
      bool found = false;
      for (int i = 0; !found; i++) {
        const uint64_t s = next_.load(std::memory_order_acquire);
        found = (s & 0xfffff) < ((s >> 20) & 0xfffff);
        if (!found) {
          pause();
          if ((i & 255) == 255 && std::chrono::steady_clock::now() > until) break;
        }
      }
      if (!found) {
        std::unique_lock<std::mutex> lock(wake_);
        sleepers_.fetch_add(1, std::memory_order_seq_cst);
        // re-check under the lock: a job published before we counted ourselves asleep
        const uint64_t s = next_.load(std::memory_order_seq_cst);
        if ((s & 0xfffff) >= ((s >> 20) & 0xfffff)) cv_.wait(lock, [&] { return wakeups_ != seenWake; });
        seenWake = wakeups_;
        sleepers_.fetch_sub(1, std::memory_order_acq_rel);
        continue;
      }
      int64_t mine = 0;
      for (int64_t c; (c = claim()) >= 0; mine++) fn_(ctx_, c);
      if (mine > 0) done_.fetch_add(mine, std::memory_order_acq_rel);
    }
  }

  // DCFORMER_QGEMM_SPIN_US: how long an idle helper spins before sleeping (default 50)
  static int64_t spinMicros() {
    static const int64_t us = [] {
      const char* v = std::getenv("DCFORMER_QGEMM_SPIN_US");
      return v != nullptr ? std::max<int64_t>(0, std::atoll(v)) : int64_t(50);
    }();
    return us;
  }

  std::mutex submit_, wake_;
  std::condition_variable cv_;
  std::atomic<uint64_t> next_{0};
  std::atomic<int64_t> done_{0};
  std::atomic<int> sleepers_{0};
  uint64_t wakeups_ = 0;  // guarded by wake_
  uint64_t gen_ = 0;      // written by the submitting thread only
  int helpers_ = 0;       // under submit_
  Fn fn_ = nullptr;
  const void* ctx_ = nullptr;
};

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

void run(const Problem& given) {
  const Path& path = currentPath();
  Problem p = given;
  // decode of int8/int4: x once in the order the path's decoder reads weights (64-byte aligned)
  std::vector<float> arranged;
  if (path.arrange != nullptr && p.M <= kFusedRows && p.format >= kInt8) {
    arranged.resize(static_cast<size_t>(p.M * p.K + 16));
    float* xp = reinterpret_cast<float*>((reinterpret_cast<uintptr_t>(arranged.data()) + 63) & ~uintptr_t(63));
    if (path.arrange(p, xp)) p.xp = xp;
  }
  const bool tiled = p.M > kFusedRows;
  // Below ~32k weights the threads' start-up costs more than the product.
  const int threads = p.N * p.K >= (1 << 15) ? omp_get_max_threads() : 1;
  // Chunks of whole tiles, ~8 per thread, handed out dynamically: each chunk is still a contiguous
  // stream of W, and a thread the OS preempts (other processes on the cores) does not hold up the
  // rest — with one static range per thread, the call took as long as its slowest thread (2× slower
  // than one thread on a busy 2-core machine).
  const int64_t chunk = std::max<int64_t>(
      kTileRows, ((p.N + 8 * threads - 1) / (8 * threads) + kTileRows - 1) / kTileRows * kTileRows);
  const int64_t chunks = (p.N + chunk - 1) / chunk;
  if (!tiled) {  // decode: the caller-runs pool (no scratch)
    struct Ctx {
      const Path* path;
      const Problem* p;
      int64_t chunk;
    } ctx{&path, &p, chunk};
    Pool::get().run(
        [](const void* c, int64_t i) {
          const Ctx& x = *static_cast<const Ctx*>(c);
          const int64_t n0 = i * x.chunk, n1 = std::min(n0 + x.chunk, x.p->N);
          x.path->rows(*x.p, n0, n1, nullptr);
        },
        &ctx, chunks, threads);
    return;
  }
#pragma omp parallel num_threads(threads) if (threads > 1)
  {
    std::vector<float> scratch(static_cast<size_t>(kTileRows * p.K));
#pragma omp for schedule(dynamic, 1)
    for (int64_t c = 0; c < chunks; c++) {
      const int64_t n0 = c * chunk, n1 = std::min(n0 + chunk, p.N);
      path.rows(p, n0, n1, scratch.data());
    }
  }
}

}  // namespace dcf::qgemm
