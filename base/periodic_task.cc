#include "base/periodic_task.h"

namespace ringkv {

void PeriodicTask::Start(Interval interval, Body body, bool run_first) {
  if (running()) return;
  if (thread_.joinable()) thread_.join();  // ended by its body
  {
    std::lock_guard lock(mu_);
    stop_ = false;
    woken_ = false;
    ended_ = false;
  }
  thread_ = std::thread([this, interval = std::move(interval), body = std::move(body), run_first] {
    Loop(interval, body, run_first);
    std::lock_guard lock(mu_);
    ended_ = true;
  });
}

void PeriodicTask::Loop(const Interval& interval, const Body& body, bool run_first) {
  if (run_first && !body()) return;
  std::unique_lock lock(mu_);
  while (true) {
    cv_.wait_for(lock, interval(), [this] { return stop_ || woken_; });
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
    std::lock_guard lock(mu_);
    woken_ = true;
  }
  cv_.notify_all();
}

void PeriodicTask::Stop() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

bool PeriodicTask::running() const {
  std::lock_guard lock(mu_);
  return thread_.joinable() && !ended_ && !stop_;
}

bool PeriodicTask::stopping() const {
  std::lock_guard lock(mu_);
  return stop_;
}

}  // namespace ringkv
