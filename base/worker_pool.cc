#include "base/worker_pool.h"

#include <pthread.h>

#include <algorithm>

namespace ringkv {

WorkerPool::WorkerPool(size_t threads, std::string name) {
  if (threads == 0) threads = 1;
  name.resize(std::min<size_t>(name.size(), 15));
  threads_.reserve(threads);
  for (size_t i = 0; i < threads; ++i) {
    threads_.emplace_back([this] { Loop(); });
    pthread_setname_np(threads_.back().native_handle(), name.c_str());
  }
}

WorkerPool::~WorkerPool() {
  {
    MutexLock lock(mu_);
    stopping_ = true;
  }
  work_.NotifyAll();
  for (std::thread& t : threads_) t.join();
}

void WorkerPool::Post(std::function<void()> task) {
  {
    MutexLock lock(mu_);
    queue_.push_back(std::move(task));
  }
  work_.NotifyOne();
}

void WorkerPool::Drain() {
  MutexLock lock(mu_);
  idle_.Wait(mu_, [&]() REQUIRES(mu_) { return queue_.empty() && running_ == 0; });
}

void WorkerPool::Loop() {
  MutexLock lock(mu_);
  for (;;) {
    work_.Wait(mu_, [&]() REQUIRES(mu_) { return stopping_ || !queue_.empty(); });
    if (queue_.empty()) return;  // stopping, and every posted task has run
    std::function<void()> task = std::move(queue_.front());
    queue_.pop_front();
    ++running_;
    lock.unlock();
    task();
    task = nullptr;  // what it captured goes before the pool can look idle
    lock.lock();
    if (--running_ == 0 && queue_.empty()) idle_.NotifyAll();
  }
}

}  // namespace ringkv
