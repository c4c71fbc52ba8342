#include "node/migration/internal/arc_dropper.h"

#include <algorithm>
#include <chrono>
#include <optional>
#include <string>

#include "base/process.h"

namespace ringkv::node::internal {
namespace {

// Keys collected per pass; bounds the memory of a drop (keys only).
constexpr size_t kChunkKeys = size_t{64} * 1024;

// The longest wait for a scheduled drop to fall due, so a clock driven by
// hand (FakeClock in tests) is noticed; and the wait with nothing scheduled.
constexpr int64_t kMaxDueWaitMs = 50;
constexpr std::chrono::milliseconds kIdleWait{60000};

}  // namespace

ArcDropper::ArcDropper(store::Engine& engine, const Clock& clock, ClusterCounters& counters,
                       std::function<bool(std::string_view key)> keep,
                       std::chrono::microseconds yield)
    : engine_(engine), clock_(clock), counters_(counters), keep_(std::move(keep)), yield_(yield) {
  task_.Start([this] { return NextWait(); },
              [this] {
                RunDue();
                return true;
              });
}

ArcDropper::~ArcDropper() {
  {
    MutexLock lock(mu_);
    closing_ = true;
  }
  idle_.NotifyAll();
  task_.Stop();
}

void ArcDropper::Schedule(std::vector<ring::Arc> arcs, ring::HashKind hash, uint32_t delay_ms,
                          bool with_tombstones) {
  if (arcs.empty()) return;
  {
    MutexLock lock(mu_);
    tasks_.push_back(Task{clock_.NowMs() + delay_ms, std::move(arcs), hash, with_tombstones});
  }
  task_.Wake();
}

size_t ArcDropper::pending() const {
  MutexLock lock(mu_);
  return tasks_.size() + running_;
}

void ArcDropper::Flush() {
  {
    MutexLock lock(mu_);
    for (Task& t : tasks_) t.due_ms = 0;
  }
  task_.Wake();
  MutexLock lock(mu_);
  idle_.Wait(mu_, [&]() REQUIRES(mu_) { return closing_ || (tasks_.empty() && running_ == 0); });
}

std::chrono::milliseconds ArcDropper::NextWait() const {
  MutexLock lock(mu_);
  if (tasks_.empty()) return kIdleWait;  // Schedule wakes the task
  int64_t due = tasks_.front().due_ms;
  for (const Task& t : tasks_) due = std::min(due, t.due_ms);
  return std::chrono::milliseconds(std::clamp<int64_t>(due - clock_.NowMs(), 0, kMaxDueWaitMs));
}

void ArcDropper::RunDue() {
  while (!task_.stopping()) {
    std::optional<Task> task;
    {
      MutexLock lock(mu_);
      auto next = std::min_element(tasks_.begin(), tasks_.end(), [](const Task& a, const Task& b) {
        return a.due_ms < b.due_ms;
      });
      if (next == tasks_.end() || next->due_ms > clock_.NowMs()) return;
      task = std::move(*next);
      tasks_.erase(next);
      ++running_;
    }
    Drop(*task);
    MutexLock lock(mu_);
    --running_;
    idle_.NotifyAll();
  }
}

// Shares the CPU with the threads serving requests (base/process.h): the
// engine calls the scan callback without holding its locks, and each delete
// is one short Mutate.
void ArcDropper::Drop(const Task& task) {
  std::vector<std::string> keys;
  CpuYielder yielder(yield_);
  while (true) {
    if (task_.stopping()) return;
    keys.clear();
    const int64_t now = clock_.NowMs();
    auto collect = [&](std::string_view key) {
      yielder.MaybeYield();
      if (!keep_(key)) keys.emplace_back(key);
      return keys.size() < kChunkKeys;
    };
    Status s =
        task.with_tombstones
            ? engine_.ForEachVersionedInArcs(
                  task.arcs, task.hash, now,
                  [&](std::string_view key, const store::VersionedEntry&) { return collect(key); })
            : engine_.ForEachInArcs(
                  task.arcs, task.hash, now,
                  [&](std::string_view key, const store::Entry&) { return collect(key); });
    if (!s.ok()) return;
    for (const std::string& key : keys) {
      yielder.MaybeYield();
      auto drop = [&](bool held) {
        if (!held || keep_(key)) return store::Mutation::Keep();
        counters_.dropped.fetch_add(1, std::memory_order_relaxed);
        return store::Mutation::Delete();
      };
      if (task.with_tombstones) {
        (void)engine_.MutateVersioned(
            key, now, [&](const store::VersionedEntry* cur) { return drop(cur != nullptr); });
      } else {
        (void)engine_.Mutate(key, now,
                             [&](const store::Entry* cur) { return drop(cur != nullptr); });
      }
    }
    if (keys.size() < kChunkKeys) return;
  }
}

}  // namespace ringkv::node::internal
