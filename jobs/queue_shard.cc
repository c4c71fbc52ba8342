#include "jobs/queue_shard.h"

#include <limits>
#include <utility>

#include "ring/diff.h"

namespace ringkv::jobs {
namespace {

// (time, id): index order by a timestamp, ties broken by id.
using TimeKey = std::pair<int64_t, std::string>;

int64_t SaturatingAdd(int64_t a, int64_t b) {
  if (b > 0 && a > std::numeric_limits<int64_t>::max() - b) {
    return std::numeric_limits<int64_t>::max();
  }
  return a + b;
}

}  // namespace

// The indexes hold only what ordering and lookups need; the job itself (its
// payload, output) lives in the engine alone and is read back when needed,
// so a queued payload is held once in memory, not twice.
//
// Invariant: every id in `meta` has a stored job in the engine whose state,
// times and worker match its Meta, and sits in exactly the sets of its state.
// Every change is written to the engine first and reflected here only once
// the write succeeded.
struct QueueShard::Impl {
  struct Meta {
    JobState state = JobState::kQueued;
    int64_t enqueued_ms = 0;
    int64_t lease_expires_ms = 0;
    int64_t completed_ms = 0;
    std::string worker;  // lease holder while leased
    bool pulled = false;
  };

  Impl(store::Engine& e, QueueOptions o) : engine(e), options(o) {}

  void Index(const Job& job);
  void Unindex(const std::string& id);
  void Forget(const std::string& id) {
    Unindex(id);
    meta.erase(id);
  }
  std::optional<Job> Load(const std::string& id, int64_t now_ms);
  Status Save(const Job& job, int64_t now_ms);
  // Writes `job` and, once stored, moves it to the indexes of its new state.
  Status Replace(const Job& job, int64_t now_ms);
  Status Requeue(const std::string& id, int64_t now_ms);
  void RequeueExpiredLeases(int64_t now_ms);
  void DropExpiredResults(int64_t now_ms);
  void Advance(int64_t now_ms) {
    RequeueExpiredLeases(now_ms);
    DropExpiredResults(now_ms);
  }

  store::Engine& engine;
  const QueueOptions options;
  std::unordered_map<std::string, Meta> meta;
  std::set<TimeKey> queued;    // (enqueued_ms, id): FIFO order
  std::set<TimeKey> leased;    // (lease_expires_ms, id)
  std::set<TimeKey> done;      // (completed_ms, id): retention order
  std::set<TimeKey> unpulled;  // (completed_ms, id): done and never pulled
  std::unordered_map<std::string, std::set<std::string>> leases_by_worker;
};

void QueueShard::Impl::Index(const Job& job) {
  Meta m{job.state, job.enqueued_ms, job.lease_expires_ms, job.completed_ms, {}, job.pulled};
  switch (job.state) {
    case JobState::kQueued:
      queued.emplace(job.enqueued_ms, job.id);
      break;
    case JobState::kLeased:
      m.worker = job.worker;
      leased.emplace(job.lease_expires_ms, job.id);
      leases_by_worker[job.worker].insert(job.id);
      break;
    case JobState::kDone:
      done.emplace(job.completed_ms, job.id);
      if (!job.pulled) unpulled.emplace(job.completed_ms, job.id);
      break;
  }
  meta[job.id] = std::move(m);
}

void QueueShard::Impl::Unindex(const std::string& id) {
  auto it = meta.find(id);
  if (it == meta.end()) return;
  const Meta& m = it->second;
  switch (m.state) {
    case JobState::kQueued:
      queued.erase({m.enqueued_ms, id});
      break;
    case JobState::kLeased: {
      leased.erase({m.lease_expires_ms, id});
      auto w = leases_by_worker.find(m.worker);
      if (w != leases_by_worker.end()) {
        w->second.erase(id);
        if (w->second.empty()) leases_by_worker.erase(w);
      }
      break;
    }
    case JobState::kDone:
      done.erase({m.completed_ms, id});
      unpulled.erase({m.completed_ms, id});
      break;
  }
}

std::optional<Job> QueueShard::Impl::Load(const std::string& id, int64_t now_ms) {
  std::optional<store::Entry> e = engine.Get(id, now_ms);
  if (!e) return std::nullopt;
  StatusOr<Job> job = DecodeJob(e->value);
  if (!job.ok() || job->id != id) return std::nullopt;
  return std::move(*job);
}

Status QueueShard::Impl::Save(const Job& job, int64_t now_ms) {
  store::Entry entry{EncodeJob(job), 0, 0};
  return engine.Mutate(job.id, now_ms,
                       [&](const store::Entry*) { return store::Mutation::Put(std::move(entry)); });
}

Status QueueShard::Impl::Replace(const Job& job, int64_t now_ms) {
  if (Status s = Save(job, now_ms); !s.ok()) return s;
  Unindex(job.id);
  Index(job);
  return OkStatus();
}

// A job whose stored copy vanished or is unreadable cannot be handed out:
// it is dropped from the indexes (the engine keeps whatever it holds).
Status QueueShard::Impl::Requeue(const std::string& id, int64_t now_ms) {
  std::optional<Job> job = Load(id, now_ms);
  if (!job) {
    Forget(id);
    return OkStatus();
  }
  job->state = JobState::kQueued;
  job->lease_expires_ms = 0;
  job->worker.clear();
  return Replace(*job, now_ms);
}

void QueueShard::Impl::RequeueExpiredLeases(int64_t now_ms) {
  while (!leased.empty() && leased.begin()->first <= now_ms) {
    // On a write error the lease stays; the next call retries.
    if (!Requeue(leased.begin()->second, now_ms).ok()) return;
  }
}

void QueueShard::Impl::DropExpiredResults(int64_t now_ms) {
  while (!done.empty() && now_ms - done.begin()->first >= options.retention_ms) {
    const std::string id = done.begin()->second;
    Status s =
        engine.Mutate(id, now_ms, [](const store::Entry*) { return store::Mutation::Delete(); });
    if (!s.ok()) return;
    Forget(id);
  }
}

QueueShard::QueueShard(store::Engine& engine, QueueOptions options)
    : impl_(std::make_unique<Impl>(engine, options)) {}

QueueShard::~QueueShard() = default;

StatusOr<std::unique_ptr<QueueShard>> QueueShard::Open(store::Engine& engine, QueueOptions options,
                                                       int64_t now_ms) {
  if (options.retention_ms < 0) return InvalidArgument("retention_ms must be >= 0");
  if (options.max_jobs == 0) return InvalidArgument("max_jobs must be >= 1");
  std::unique_ptr<QueueShard> shard(new QueueShard(engine, options));
  MutexLock lock(shard->mu_);  // not shared yet; taken for the analysis
  Impl& impl = *shard->impl_;
  Status bad;
  const ring::Arc whole_ring{};  // lo == hi: every position
  Status s = engine.ForEachInArcs(std::span(&whole_ring, 1), ring::HashKind::kXxh3, now_ms,
                                  [&](std::string_view key, const store::Entry& entry) {
                                    StatusOr<Job> job = DecodeJob(entry.value);
                                    if (!job.ok() || job->id != key) {
                                      bad = DataLoss("job store: entry '" + std::string(key) +
                                                     "' is not a job: " + job.status().message());
                                      return false;
                                    }
                                    impl.Index(*job);
                                    return true;
                                  });
  if (!s.ok()) return s;
  if (!bad.ok()) return bad;
  impl.Advance(now_ms);
  return shard;
}

Status QueueShard::Enqueue(Job job) {
  MutexLock lock(mu_);
  if (job.id.empty()) return InvalidArgument("job id must not be empty");
  if (impl_->meta.contains(job.id)) return AlreadyExists("job " + job.id + " already exists");
  if (impl_->meta.size() >= impl_->options.max_jobs) {
    return ResourceExhausted("too many jobs (max " + std::to_string(impl_->options.max_jobs) + ")");
  }
  job.state = JobState::kQueued;
  job.leased_ms = job.lease_expires_ms = job.completed_ms = 0;
  job.worker.clear();
  job.output.clear();
  job.attempts = 0;
  job.pulled = false;
  if (Status s = impl_->Save(job, job.enqueued_ms); !s.ok()) return s;
  impl_->Index(job);
  return OkStatus();
}

std::optional<Job> QueueShard::Lease(const std::string& worker, int64_t lease_ms, int64_t now_ms) {
  MutexLock lock(mu_);
  impl_->Advance(now_ms);
  while (!impl_->queued.empty()) {
    const std::string id = impl_->queued.begin()->second;
    std::optional<Job> job = impl_->Load(id, now_ms);
    if (!job) {
      impl_->Forget(id);
      continue;
    }
    job->state = JobState::kLeased;
    job->leased_ms = now_ms;
    job->lease_expires_ms = SaturatingAdd(now_ms, lease_ms);
    job->worker = worker;
    ++job->attempts;
    if (!impl_->Replace(*job, now_ms).ok()) return std::nullopt;
    return job;
  }
  return std::nullopt;
}

Status QueueShard::Renew(const std::string& id, const std::string& worker, int64_t lease_ms,
                         int64_t now_ms) {
  MutexLock lock(mu_);
  impl_->Advance(now_ms);
  auto it = impl_->meta.find(id);
  if (it == impl_->meta.end()) return NotFound("no job " + id);
  if (it->second.state != JobState::kLeased || it->second.worker != worker) {
    return FailedPrecondition("not leased by " + worker);
  }
  std::optional<Job> job = impl_->Load(id, now_ms);
  if (!job) {
    impl_->Forget(id);
    return NotFound("no job " + id);
  }
  job->lease_expires_ms = SaturatingAdd(now_ms, lease_ms);
  return impl_->Replace(*job, now_ms);
}

StatusOr<CompleteResult> QueueShard::Complete(const std::string& id, const std::string& output,
                                              const std::string& worker, int64_t now_ms) {
  MutexLock lock(mu_);
  impl_->Advance(now_ms);
  if (!impl_->meta.contains(id)) return NotFound("no job " + id);
  std::optional<Job> job = impl_->Load(id, now_ms);
  if (!job) {
    impl_->Forget(id);
    return NotFound("no job " + id);
  }
  if (job->state == JobState::kDone) {
    return job->output == output ? CompleteResult::kDuplicate : CompleteResult::kConflict;
  }
  job->state = JobState::kDone;
  job->lease_expires_ms = 0;
  job->completed_ms = now_ms;
  job->worker = worker;
  job->output = output;
  job->pulled = false;
  if (Status s = impl_->Replace(*job, now_ms); !s.ok()) return s;
  return CompleteResult::kStored;
}

std::optional<Job> QueueShard::Get(const std::string& id, int64_t now_ms) {
  MutexLock lock(mu_);
  impl_->Advance(now_ms);
  if (!impl_->meta.contains(id)) return std::nullopt;
  return impl_->Load(id, now_ms);
}

std::vector<Job> QueueShard::PullCompleted(size_t top, int64_t now_ms) {
  MutexLock lock(mu_);
  impl_->Advance(now_ms);
  std::vector<Job> out;
  while (out.size() < top && !impl_->unpulled.empty()) {
    const std::string id = impl_->unpulled.begin()->second;
    std::optional<Job> job = impl_->Load(id, now_ms);
    if (!job) {
      impl_->Forget(id);
      continue;
    }
    job->pulled = true;
    // Not marked (and not returned) unless the mark is stored: a result is
    // never both handed out and lost.
    if (!impl_->Replace(*job, now_ms).ok()) break;
    out.push_back(std::move(*job));
  }
  return out;
}

size_t QueueShard::ReleaseWorker(const std::string& worker, int64_t now_ms) {
  MutexLock lock(mu_);
  impl_->Advance(now_ms);
  auto it = impl_->leases_by_worker.find(worker);
  if (it == impl_->leases_by_worker.end()) return 0;
  const std::set<std::string> ids = it->second;  // Requeue edits the index
  size_t released = 0;
  for (const std::string& id : ids) {
    auto m = impl_->meta.find(id);
    const bool was_leased = m != impl_->meta.end() && m->second.state == JobState::kLeased;
    if (impl_->Requeue(id, now_ms).ok() && was_leased && impl_->meta.contains(id)) ++released;
  }
  return released;
}

void QueueShard::Tick(int64_t now_ms) {
  MutexLock lock(mu_);
  impl_->Advance(now_ms);
}

QueueStats QueueShard::Stats(int64_t now_ms) {
  MutexLock lock(mu_);
  impl_->Advance(now_ms);
  QueueStats st;
  st.queued = impl_->queued.size();
  st.leased = impl_->leased.size();
  st.done = impl_->done.size();
  st.oldest_queued_ms = impl_->queued.empty() ? 0 : impl_->queued.begin()->first;
  return st;
}

}  // namespace ringkv::jobs
