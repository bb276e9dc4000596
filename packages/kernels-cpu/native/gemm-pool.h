// Caller-runs helper pool for the decode-shaped products (qgemm-driver.cc, gemm-driver.cc). Header
// only; its one instance is a function-local static of an inline function, shared by every file
// that includes it — all compiled with the baseline flags (an ISA file must not include it: the
// linker could keep that file's copy).
#pragma once
#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <thread>
#include <omp.h>

namespace dcf {

// Why not an OpenMP team: it ends in a barrier that waits for every thread, including one that has
// not even started — a helper woken from sleep (40–70 µs in a VM) or descheduled by another process
// (milliseconds on a busy 2-core machine) held up each call, whose whole work is 0.1–2 ms. Here the
// calling thread starts at once and takes chunks off a shared counter; helpers take chunks when they
// get there; the call returns when every chunk is done, so a helper that never got a core costs
// nothing. Idle helpers spin briefly (DCFORMER_QGEMM_SPIN_US, default 50: the next product often
// follows soon) and then sleep on a condition variable.
class Pool {
 public:
  using Fn = void (*)(const void* ctx, int64_t chunk);

  // DCFORMER_DECODE_POOL=0 runs the decode products on OpenMP teams as before (for comparing the
  // two on a given machine; the pool is the default)
  static bool enabled() {
    static const bool on = [] {
      const char* v = std::getenv("DCFORMER_DECODE_POOL");
      return v == nullptr || std::strcmp(v, "0") != 0;
    }();
    return on;
  }

  static inline Pool& get() {
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
      // a job is claimable while its index is below its count; spin first, then sleep
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

// fn(ctx, c) for c in [0, chunks) on `threads` threads: on the caller-runs pool, or with
// DCFORMER_DECODE_POOL=0 on an OpenMP team (a static split, as before the pool).
inline void forChunks(Pool::Fn fn, const void* ctx, int64_t chunks, int threads) {
  if (Pool::enabled()) return Pool::get().run(fn, ctx, chunks, threads);
#pragma omp parallel for schedule(static) num_threads(threads) if (threads > 1)
  for (int64_t c = 0; c < chunks; c++) fn(ctx, c);
}

}  // namespace dcf
