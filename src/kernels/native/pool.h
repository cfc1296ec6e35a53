// A thread pool that runs one parallel loop at a time, synchronously: the calling (JavaScript)
// thread publishes the tasks, claims tasks itself, and returns once every task is done. Workers
// spin briefly (~50 µs, by the clock) for the next loop, then sleep on a condition variable, so an
// idle pool costs no CPU.
//
// Claims are one 64-bit compare-and-swap on (generation << 32 | next task): a worker that wakes
// late for an old loop can never take a task of a newer one.
#pragma once
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <thread>
#include <vector>

class ThreadPool {
 public:
  using Task = void (*)(void* context, int index, int slot);

  explicit ThreadPool(int threads);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  /** Threads a loop is split across, the caller included (slot 0). */
  int threads() const { return threadCount; }
  /** Runs task(context, i, slot) for i in [0, count); slot in [0, threads) names the thread. */
  void run(int count, Task task, void* context);
  /** Tasks run by workers (not the caller) so far: proof, for tests, that threads share work. */
  int64_t workerTasks() const { return workerTaskCount.load(std::memory_order_relaxed); }
  /** True on a thread that is running a task now (a nested loop then runs inline). */
  static bool insideTask();
  /** The pool whose worker this thread is, or null on a calling (JavaScript) thread. */
  static ThreadPool* ofWorkerThread();

 private:
  void workerLoop(int slot);
  void drain(uint64_t generation, int slot);

  int threadCount;
  std::vector<std::thread> workers;
  std::mutex mutex;
  std::condition_variable wake;
  std::atomic<uint64_t> claim{0};       // generation << 32 | next task index
  std::atomic<uint32_t> generation{0};
  std::atomic<int> done{0};
  std::atomic<int64_t> workerTaskCount{0};
  std::atomic<bool> stopping{false};
  std::atomic<int> taskCount{0};
  Task task = nullptr;
  void* context = nullptr;
};

/** Runs f(i, slot) for i in [0, count) on `pool` (inline when count ≤ 1 or already inside a task). */
template <typename F>
void parallelFor(ThreadPool& pool, int count, F&& f) {
  if (count <= 0) return;
  if (count == 1 || pool.threads() == 1 || ThreadPool::insideTask()) {
    for (int i = 0; i < count; i++) f(i, 0);
    return;
  }
  pool.run(count, [](void* context, int index, int slot) { (*static_cast<F*>(context))(index, slot); }, &f);
}
