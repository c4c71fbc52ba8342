#include "node/migration/internal/arc_dropper.h"

#include <algorithm>
#include <chrono>
#include <string>

#include "base/process.h"

namespace ringkv::node::internal {
namespace {

// Keys collected per pass; bounds the memory of a drop (keys only).
constexpr size_t kChunkKeys = size_t{64} * 1024;

}  // namespace

ArcDropper::ArcDropper(store::Engine& engine, const Clock& clock, ClusterCounters& counters,
                       std::function<bool(std::string_view key)> keep,
                       std::chrono::microseconds yield)
    : engine_(engine), clock_(clock), counters_(counters), keep_(std::move(keep)), yield_(yield) {
  thread_ = std::thread([this] { Run(); });
}

ArcDropper::~ArcDropper() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  idle_.notify_all();
  thread_.join();
}

void ArcDropper::Schedule(std::vector<ring::Arc> arcs, ring::HashKind hash, uint32_t delay_ms) {
  if (arcs.empty()) return;
  {
    std::lock_guard lock(mu_);
    tasks_.push_back(Task{clock_.NowMs() + delay_ms, std::move(arcs), hash});
  }
  cv_.notify_all();
}

size_t ArcDropper::pending() const {
  std::lock_guard lock(mu_);
  return tasks_.size() + running_;
}

void ArcDropper::Flush() {
  std::unique_lock lock(mu_);
  for (Task& t : tasks_) t.due_ms = 0;
  cv_.notify_all();
  idle_.wait(lock, [&] { return stop_ || (tasks_.empty() && running_ == 0); });
}

void ArcDropper::Run() {
  std::unique_lock lock(mu_);
  while (!stop_) {
    if (tasks_.empty()) {
      cv_.wait(lock);
      continue;
    }
    auto next = std::min_element(tasks_.begin(), tasks_.end(),
                                 [](const Task& a, const Task& b) { return a.due_ms < b.due_ms; });
    const int64_t wait_ms = next->due_ms - clock_.NowMs();
    if (wait_ms > 0) {
      // Bounded so a clock that is driven by hand is noticed.
      cv_.wait_for(lock, std::chrono::milliseconds(std::min<int64_t>(wait_ms, 50)));
      continue;
    }
    Task task = std::move(*next);
    tasks_.erase(next);
    ++running_;
    lock.unlock();
    Drop(task);
    lock.lock();
    --running_;
    idle_.notify_all();
  }
}

// Shares the CPU with the threads serving requests (base/process.h): the
// engine calls the scan callback without holding its locks, and each delete
// is one short Mutate.
void ArcDropper::Drop(const Task& task) {
  std::vector<std::string> keys;
  CpuYielder yielder(yield_);
  while (true) {
    {
      std::lock_guard lock(mu_);
      if (stop_) return;
    }
    keys.clear();
    const int64_t now = clock_.NowMs();
    Status s = engine_.ForEachInArcs(task.arcs, task.hash, now,
                                     [&](std::string_view key, const store::Entry&) {
                                       yielder.MaybeYield();
                                       if (!keep_(key)) keys.emplace_back(key);
                                       return keys.size() < kChunkKeys;
                                     });
    if (!s.ok()) return;
    for (const std::string& key : keys) {
      yielder.MaybeYield();
      (void)engine_.Mutate(key, now, [&](const store::Entry* cur) {
        if (cur == nullptr || keep_(key)) return store::Mutation::Keep();
        counters_.dropped.fetch_add(1, std::memory_order_relaxed);
        return store::Mutation::Delete();
      });
    }
    if (keys.size() < kChunkKeys) return;
  }
}

}  // namespace ringkv::node::internal
