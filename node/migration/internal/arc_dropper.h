// ArcDropper: deletes every entry in a set of ring arcs after a delay, on its
// own thread (a PeriodicTask, woken when a drop is scheduled or flushed) —
// what a node does with the arcs it no longer owns once a migration ends
// (EndMigration's drop_after_ms).
//
// Keys are collected with Engine::ForEachInArcs in chunks, then deleted one
// by one with Engine::Mutate, asking `keep` again under the key's lock so a
// key that became this node's meanwhile (a new migration, a new map) stays.
// A drop with tombstones uses the versioned calls instead.
//
// Thread safety: Schedule and pending may be called from any thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <string_view>
#include <vector>

#include "base/clock.h"
#include "base/periodic_task.h"
#include "base/process.h"
#include "base/thread_annotations.h"
#include "node/view/cluster_counters.h"
#include "ring/diff.h"
#include "ring/hash.h"
#include "store/engine.h"

namespace ringkv::node::internal {

class ArcDropper {
 public:
  // `keep(key)` is called under the engine's lock of `key`: it must not call
  // the engine. References are not owned and must outlive the dropper.
  // `yield`: how often the drop offers the CPU to request threads (CpuYielder).
  ArcDropper(store::Engine& engine, const Clock& clock, ClusterCounters& counters,
             std::function<bool(std::string_view key)> keep,
             std::chrono::microseconds yield = CpuYielder::kDefaultInterval);
  ~ArcDropper();  // stops; a drop under way stops between chunks (of kChunkKeys keys)

  // `with_tombstones`: drop the tombstones in the arcs too (replicas keep
  // theirs in the store; docs/replication.md).
  void Schedule(std::vector<ring::Arc> arcs, ring::HashKind hash, uint32_t delay_ms,
                bool with_tombstones = false) EXCLUDES(mu_);
  // Drops scheduled or running.
  size_t pending() const EXCLUDES(mu_);
  // Makes every scheduled drop due now and waits until none is left. A new
  // migration calls it before it begins: a key this node gave away in an
  // earlier one and is about to take back must not come back as a stale
  // copy (`keep` would protect it once the new roles are published).
  void Flush() EXCLUDES(mu_);

 private:
  struct Task {
    int64_t due_ms;
    std::vector<ring::Arc> arcs;
    ring::HashKind hash;
    bool with_tombstones;
  };

  // When the thread should look at the tasks again.
  std::chrono::milliseconds NextWait() const EXCLUDES(mu_);
  // Runs every task that is due.
  void RunDue() EXCLUDES(mu_);
  void Drop(const Task& task) EXCLUDES(mu_);

  store::Engine& engine_;
  const Clock& clock_;
  ClusterCounters& counters_;
  const std::function<bool(std::string_view)> keep_;
  const std::chrono::microseconds yield_;

  // The task calls NextWait under its own lock, which then takes mu_: so
  // nothing calls task_ while holding mu_.
  mutable Mutex mu_;
  CondVar idle_;  // a drop finished, or the dropper is closing
  std::vector<Task> tasks_ GUARDED_BY(mu_);
  size_t running_ GUARDED_BY(mu_) = 0;
  bool closing_ GUARDED_BY(mu_) = false;  // Flush returns at once
  PeriodicTask task_;                     // last: started once the rest is built
};

}  // namespace ringkv::node::internal
