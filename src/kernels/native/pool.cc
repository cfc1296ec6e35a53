// See pool.h.
#include "pool.h"

#include <stdlib.h>

#include <chrono>

#if defined(__x86_64__) || defined(_M_X64)
#include <immintrin.h>
static inline void cpuRelax() { _mm_pause(); }
#else
static inline void cpuRelax() { std::this_thread::yield(); }
#endif

static thread_local bool qkvInsideTask = false;
static thread_local ThreadPool* qkvOwnerPool = nullptr;

bool ThreadPool::insideTask() { return qkvInsideTask; }

// How long a worker spins for the next loop before it sleeps: a training step issues loops back
// to back (the worker catches the next one awake), while an idle process goes quiet almost at
// once. Bounded in time, not in spins: one `pause` takes 5 ns on some CPUs and 70 ns on others
// (AMD Zen under a hypervisor here), so 20000 spins meant 1.4 ms of a core burnt after every
// loop, taken from the caller's own JavaScript and from other processes on a loaded machine.
// QKV_POOL_SPIN_US overrides it (for measuring).
static const int64_t DEFAULT_WORKER_SPIN_NS = 50000;
static const int SPINS_PER_CLOCK_READ = 32;

static int64_t workerSpinNs() {
  const char* raw = getenv("QKV_POOL_SPIN_US");
  if (raw != nullptr && *raw != 0 && atol(raw) >= 0) return atol(raw) * 1000;
  return DEFAULT_WORKER_SPIN_NS;
}

static int64_t nowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

ThreadPool::ThreadPool(int threads) : threadCount(threads < 1 ? 1 : threads) {
  for (int slot = 1; slot < threadCount; slot++) workers.emplace_back([this, slot] { workerLoop(slot); });
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> lock(mutex);
    stopping.store(true);
    generation.fetch_add(1);
  }
  wake.notify_all();
  for (auto& worker : workers) worker.join();
}

void ThreadPool::run(int count, Task newTask, void* newContext) {
  uint32_t gen;
  {
    std::lock_guard<std::mutex> lock(mutex);
    task = newTask;
    context = newContext;
    taskCount.store(count);
    done.store(0);
    gen = generation.load() + 1;
    claim.store(static_cast<uint64_t>(gen) << 32);
    generation.store(gen);
  }
  wake.notify_all();
  drain(gen, 0);
  // The last tasks may still run on workers; they finish within one task's time.
  int spins = 0;
  while (done.load(std::memory_order_acquire) < count) {
    if (++spins < 4096) cpuRelax();
    else std::this_thread::yield();
  }
  // Close the loop: late workers see index ≥ taskCount and go back to waiting.
  claim.store((static_cast<uint64_t>(gen) << 32) | 0xffffffffu);
}

void ThreadPool::drain(uint64_t gen, int slot) {
  for (;;) {
    uint64_t current = claim.load(std::memory_order_acquire);
    if ((current >> 32) != gen) return;
    const uint32_t index = static_cast<uint32_t>(current);
    if (index >= static_cast<uint32_t>(taskCount.load(std::memory_order_relaxed))) return;
    if (!claim.compare_exchange_weak(current, current + 1, std::memory_order_acq_rel)) continue;
    qkvInsideTask = true;
    task(context, static_cast<int>(index), slot);
    qkvInsideTask = false;
    if (slot != 0) workerTaskCount.fetch_add(1, std::memory_order_relaxed);
    done.fetch_add(1, std::memory_order_acq_rel);
  }
}

ThreadPool* ThreadPool::ofWorkerThread() { return qkvOwnerPool; }

void ThreadPool::workerLoop(int slot) {
  qkvOwnerPool = this;
  const int64_t spinNs = workerSpinNs();
  uint32_t seen = 0;
  for (;;) {
    const int64_t spinUntil = nowNs() + spinNs;
    for (int spins = 1; generation.load(std::memory_order_acquire) == seen; spins++) {
      cpuRelax();
      if (spins % SPINS_PER_CLOCK_READ == 0 && nowNs() >= spinUntil) break;
    }
    if (generation.load(std::memory_order_acquire) == seen) {
      std::unique_lock<std::mutex> lock(mutex);
      wake.wait(lock, [&] { return generation.load() != seen; });
    }
    if (stopping.load()) return;
    seen = generation.load(std::memory_order_acquire);
    drain(seen, slot);
  }
}
