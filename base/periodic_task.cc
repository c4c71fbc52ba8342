#include "base/periodic_task.h"

namespace ringkv {

void PeriodicTask::Start(Interval interval, Body body, bool run_first) {
  if (running()) return;
  if (thread_.joinable()) thread_.join();  // ended by its body
  {
    MutexLock lock(mu_);
    stop_ = false;
    woken_ = false;
    ended_ = false;
  }
  thread_ = std::thread([this, interval = std::move(interval), body = std::move(body), run_first] {
    Loop(interval, body, run_first);
    MutexLock lock(mu_);
    ended_ = true;
  });
}

void PeriodicTask::Loop(const Interval& interval, const Body& body, bool run_first) {
  if (run_first && !body()) return;
  MutexLock lock(mu_);
  while (true) {
    cv_.WaitFor(mu_, interval(), [&]() REQUIRES(mu_) { return stop_ || woken_; });
    if (stop_) return;
    woken_ = false;
    lock.unlock();
    bool more = body();
    lock.lock();
    if (!more) return;
  }
}

void PeriodicTask::Wake() {
  {
    MutexLock lock(mu_);
    woken_ = true;
  }
  cv_.NotifyAll();
}

void PeriodicTask::Stop() {
  {
    MutexLock lock(mu_);
    stop_ = true;
  }
  cv_.NotifyAll();
  if (thread_.joinable()) thread_.join();
}

bool PeriodicTask::running() const {
  MutexLock lock(mu_);
  return thread_.joinable() && !ended_ && !stop_;
}

bool PeriodicTask::stopping() const {
  MutexLock lock(mu_);
  return stop_;
}

}  // namespace ringkv
