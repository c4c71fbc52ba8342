// WorkerPool: a fixed set of threads running posted tasks in order of
// arrival. For work that blocks (a call to another process) and must not run
// on an I/O thread: the I/O thread posts it and goes on serving.
//
// Thread safety: Post and Drain may be called from any thread; the
// destructor (which runs every task already posted, then joins) from one.
#pragma once

#include <cstddef>
#include <deque>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "base/thread_annotations.h"

namespace ringkv {

class WorkerPool {
 public:
  // `threads` >= 1; `name` names the threads (pthread names are cut to 15 bytes).
  WorkerPool(size_t threads, std::string name);
  ~WorkerPool();
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  void Post(std::function<void()> task);

  // Waits until every task posted so far has returned.
  void Drain();

  size_t threads() const { return threads_.size(); }

 private:
  void Loop();

  Mutex mu_;
  CondVar work_;                                             // a task was posted, or stopping
  CondVar idle_;                                             // queue empty and nothing running
  std::deque<std::function<void()>> queue_ GUARDED_BY(mu_);
  size_t running_ GUARDED_BY(mu_) = 0;
  bool stopping_ GUARDED_BY(mu_) = false;
  std::vector<std::thread> threads_;
};

}  // namespace ringkv
