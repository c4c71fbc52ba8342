// QueueShard: the jobs one node owns. Synchronous core (the node's command
// layer drives it); persistence through a store::Engine so jobs survive a
// restart where the node has --data-dir.
//
// Rules (cloud-ex2's faults fixed):
//  - FIFO: Lease hands out the oldest queued job (by enqueue time, then id).
//  - Leases: a leased job whose lease expires (not renewed) is queued again,
//    keeping its place by original enqueue time. A dead worker loses nothing.
//  - Completion is idempotent: the first completion of a job stores the
//    result; a later or duplicate completion never changes it (it reports
//    whether the output matched).
//  - Results are not lost when read: PullCompleted marks them pulled; they
//    stay readable with Get until `retention_ms` after completion.
//
// Thread safety: all methods are serialized by an internal mutex, which
// guards the indexes.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "base/status.h"
#include "base/thread_annotations.h"
#include "jobs/job.h"
#include "store/engine.h"

namespace ringkv::jobs {

struct QueueOptions {
  int64_t retention_ms = 3600 * 1000;  // how long completed jobs stay readable
  uint64_t max_jobs =
      1000000;  // queued + leased + retained; Enqueue fails with kResourceExhausted beyond
};

enum class CompleteResult : uint8_t {
  kStored,     // first completion: result stored
  kDuplicate,  // already done with the same output: nothing changed
  kConflict,   // already done with a different output: nothing changed
};

struct QueueStats {
  uint64_t queued = 0;
  uint64_t leased = 0;
  uint64_t done = 0;             // retained completed jobs
  int64_t oldest_queued_ms = 0;  // enqueue time of the oldest queued job; 0 if none
};

class QueueShard {
 public:
  // Loads every job stored in `engine` (which holds only jobs).
  static StatusOr<std::unique_ptr<QueueShard>> Open(store::Engine& engine, QueueOptions options,
                                                    int64_t now_ms);
  ~QueueShard();  // out of line: Impl is complete only in queue_shard.cc

  // Errors: kAlreadyExists (same id), kResourceExhausted (max_jobs).
  Status Enqueue(Job job);
  // The oldest queued job, now leased to `worker` until now + lease_ms.
  std::optional<Job> Lease(const std::string& worker, int64_t lease_ms, int64_t now_ms);
  // Extends a lease. kNotFound (unknown id), kFailedPrecondition (not leased by `worker`).
  Status Renew(const std::string& id, const std::string& worker, int64_t lease_ms, int64_t now_ms);
  // kNotFound for an unknown id. Completing a queued or leased job (even by a
  // worker whose lease expired) stores the result.
  StatusOr<CompleteResult> Complete(const std::string& id, const std::string& output,
                                    const std::string& worker, int64_t now_ms);
  std::optional<Job> Get(const std::string& id, int64_t now_ms);
  // Up to `top` completed jobs not pulled before, oldest completion first;
  // marks them pulled.
  std::vector<Job> PullCompleted(size_t top, int64_t now_ms);
  // Releases every lease held by `worker` (its process died): those jobs are
  // queued again at once. Returns how many.
  size_t ReleaseWorker(const std::string& worker, int64_t now_ms);
  // Requeues expired leases and drops completed jobs past retention.
  void Tick(int64_t now_ms);
  QueueStats Stats(int64_t now_ms);

 private:
  QueueShard(store::Engine& engine, QueueOptions options);
  // Implementation-defined indexes below.
  struct Impl;
  Mutex mu_;
  std::unique_ptr<Impl> impl_ PT_GUARDED_BY(mu_);
};

}  // namespace ringkv::jobs
