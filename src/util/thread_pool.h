// A small fixed-size thread pool for the CPU backend and the data pipeline. Work is split
// statically into contiguous ranges, so which thread computes an element never changes what
// is computed: every op partitions its outputs (never a floating-point reduction) across threads.
#pragma once
#include <atomic>
#include <exception>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace munet {

class ThreadPool {
 public:
  explicit ThreadPool(int threads);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int size() const { return static_cast<int>(workers_.size()) + 1; }

  // Calls fn(t) for t in [0, tasks) spread over the threads; returns when all are done. If a call
  // throws, the first exception is rethrown here once every thread has finished.
  // A call from inside a pool task runs serially (no nested parallelism).
  void run(int tasks, const std::function<void(int)>& fn);

  // Splits [begin, end) into at most size() contiguous ranges of at least `grain` items and
  // calls fn(lo, hi) on each.
  template <class F>
  void parallel_for(int64_t begin, int64_t end, int64_t grain, F&& fn) {
    const int64_t n = end - begin;
    if (n <= 0) return;
    int64_t parts = grain > 0 ? (n + grain - 1) / grain : n;
    if (parts > size()) parts = size();
    if (parts <= 1) {
      fn(begin, end);
      return;
    }
    run(static_cast<int>(parts), [&](int t) {
      const int64_t lo = begin + n * t / parts, hi = begin + n * (t + 1) / parts;
      if (lo < hi) fn(lo, hi);
    });
  }

 private:
  void worker_loop(int index);
  void run_share(int index);

  std::vector<std::thread> workers_;
  const std::function<void(int)>* fn_ = nullptr;
  int tasks_ = 0;
  std::atomic<uint64_t> epoch_{0};
  std::atomic<int> pending_{0};
  std::atomic<int> sleeping_{0};
  std::atomic<bool> stop_{false};
  std::exception_ptr error_;  // first exception thrown by a task of the current run
  std::mutex error_mutex_;
  std::mutex mutex_;
  std::condition_variable wake_;
};

// Number of hardware threads (at least 1).
int hardware_threads();

}  // namespace munet
