#include "jobs/queue_shard.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <atomic>
#include <cstdio>
#include <filesystem>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "base/clock.h"
#include "base/thread_annotations.h"
#include "store/memory_engine.h"
#include "store/rocksdb_engine.h"

namespace ringkv::jobs {
namespace {

constexpr int64_t kLease = 1000;

// A valid UUID v4 that sorts by n.
std::string Id(int n) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "00000000-0000-4000-8000-%012d", n);
  return buf;
}

Job NewJob(int n, int64_t enqueued_ms, std::string payload = "payload") {
  Job job;
  job.id = Id(n);
  job.payload = std::move(payload);
  job.iterations = 3;
  job.algorithm = HashAlgorithm::kSha512;
  job.enqueued_ms = enqueued_ms;
  return job;
}

class QueueShardTest : public ::testing::Test {
 protected:
  void SetUp() override { Reopen(); }

  void Reopen(QueueOptions options = {}) {
    shard_.reset();
    auto shard = QueueShard::Open(*engine_, options, Now());
    ASSERT_TRUE(shard.ok()) << shard.status().ToString();
    shard_ = std::move(*shard);
  }
  int64_t Now() const { return clock_.NowMs(); }
  void Enqueue(int n, int64_t at) { ASSERT_TRUE(shard_->Enqueue(NewJob(n, at)).ok()); }
  std::string LeaseId(const std::string& worker, int64_t lease_ms = kLease) {
    std::optional<Job> job = shard_->Lease(worker, lease_ms, Now());
    return job ? job->id : "";
  }

  FakeClock clock_;
  std::unique_ptr<store::Engine> engine_ = store::NewMemoryEngine({});
  std::unique_ptr<QueueShard> shard_;
};

TEST_F(QueueShardTest, LeasesOldestFirstTiesById) {
  const int64_t t = Now();
  Enqueue(3, t + 1);
  Enqueue(1, t + 2);
  Enqueue(2, t + 1);
  Enqueue(4, t);
  EXPECT_EQ(shard_->Stats(Now()).oldest_queued_ms, t);
  EXPECT_EQ(LeaseId("w"), Id(4));
  EXPECT_EQ(LeaseId("w"), Id(2));
  EXPECT_EQ(LeaseId("w"), Id(3));
  EXPECT_EQ(LeaseId("w"), Id(1));
  EXPECT_EQ(LeaseId("w"), "");
}

TEST_F(QueueShardTest, LeaseFillsInLeaseFields) {
  Enqueue(1, Now());
  std::optional<Job> job = shard_->Lease("w1", kLease, Now());
  ASSERT_TRUE(job);
  EXPECT_EQ(job->state, JobState::kLeased);
  EXPECT_EQ(job->worker, "w1");
  EXPECT_EQ(job->leased_ms, Now());
  EXPECT_EQ(job->lease_expires_ms, Now() + kLease);
  EXPECT_EQ(job->attempts, 1u);
  EXPECT_EQ(job->payload, "payload");
  EXPECT_EQ(shard_->Get(Id(1), Now()), job);
}

TEST_F(QueueShardTest, ExpiredLeaseIsRequeuedInItsPlace) {
  Enqueue(1, Now());
  Enqueue(2, Now() + 1);
  EXPECT_EQ(LeaseId("dead"), Id(1));
  clock_.Advance(kLease - 1);
  EXPECT_EQ(shard_->Stats(Now()).leased, 1u);
  clock_.Advance(1);
  std::optional<Job> again = shard_->Lease("alive", kLease, Now());
  ASSERT_TRUE(again);
  EXPECT_EQ(again->id, Id(1));
  EXPECT_EQ(again->attempts, 2u);
  EXPECT_EQ(again->worker, "alive");
  EXPECT_EQ(LeaseId("alive"), Id(2));
}

TEST_F(QueueShardTest, TickRequeuesExpiredLeases) {
  Enqueue(1, Now());
  EXPECT_EQ(LeaseId("dead"), Id(1));
  clock_.Advance(kLease);
  shard_->Tick(Now());
  QueueStats st = shard_->Stats(Now());
  EXPECT_EQ(st.queued, 1u);
  EXPECT_EQ(st.leased, 0u);
  std::optional<Job> job = shard_->Get(Id(1), Now());
  ASSERT_TRUE(job);
  EXPECT_EQ(job->state, JobState::kQueued);
  EXPECT_EQ(job->worker, "");
}

TEST_F(QueueShardTest, RenewExtendsTheLease) {
  Enqueue(1, Now());
  Enqueue(2, Now() + 1);
  EXPECT_EQ(LeaseId("w1"), Id(1));
  clock_.Advance(900);
  ASSERT_TRUE(shard_->Renew(Id(1), "w1", kLease, Now()).ok());
  EXPECT_EQ(shard_->Get(Id(1), Now())->lease_expires_ms, Now() + kLease);
  clock_.Advance(900);  // past the first lease, inside the renewed one
  EXPECT_EQ(LeaseId("w2"), Id(2));
  EXPECT_EQ(LeaseId("w2"), "");

  EXPECT_EQ(shard_->Renew(Id(1), "w2", kLease, Now()).code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(shard_->Renew(Id(9), "w1", kLease, Now()).code(), StatusCode::kNotFound);
  clock_.Advance(kLease);  // the renewed lease expires too
  EXPECT_EQ(shard_->Renew(Id(1), "w1", kLease, Now()).code(), StatusCode::kFailedPrecondition);
}

TEST_F(QueueShardTest, CompleteIsIdempotentAndNeverChangesTheResult) {
  Enqueue(1, Now());
  EXPECT_EQ(LeaseId("w1"), Id(1));
  clock_.Advance(10);
  const int64_t done_at = Now();
  EXPECT_EQ(*shard_->Complete(Id(1), "abc", "w1", Now()), CompleteResult::kStored);
  clock_.Advance(10);
  EXPECT_EQ(*shard_->Complete(Id(1), "abc", "w2", Now()), CompleteResult::kDuplicate);
  EXPECT_EQ(*shard_->Complete(Id(1), "def", "w2", Now()), CompleteResult::kConflict);
  std::optional<Job> job = shard_->Get(Id(1), Now());
  ASSERT_TRUE(job);
  EXPECT_EQ(job->state, JobState::kDone);
  EXPECT_EQ(job->output, "abc");
  EXPECT_EQ(job->worker, "w1");
  EXPECT_EQ(job->completed_ms, done_at);
  EXPECT_EQ(shard_->Complete(Id(2), "abc", "w1", Now()).status().code(), StatusCode::kNotFound);
  QueueStats st = shard_->Stats(Now());
  EXPECT_EQ(st.done, 1u);
  EXPECT_EQ(st.leased, 0u);
}

TEST_F(QueueShardTest, CompleteAcceptsQueuedAndExpiredLeaseJobs) {
  Enqueue(1, Now());
  Enqueue(2, Now() + 1);
  EXPECT_EQ(*shard_->Complete(Id(2), "x", "eager", Now()), CompleteResult::kStored);
  EXPECT_EQ(LeaseId("slow"), Id(1));
  clock_.Advance(kLease * 5);
  EXPECT_EQ(*shard_->Complete(Id(1), "y", "slow", Now()), CompleteResult::kStored);
  EXPECT_EQ(LeaseId("w"), "");
  EXPECT_EQ(shard_->Stats(Now()).done, 2u);
}

TEST_F(QueueShardTest, PullReturnsOldestCompletionsOnceAndKeepsThemUntilRetention) {
  Reopen({.retention_ms = 5000, .max_jobs = 100});
  for (int n = 1; n <= 3; ++n) Enqueue(n, Now());
  for (int n : {3, 1, 2}) {
    clock_.Advance(1);
    ASSERT_TRUE(shard_->Complete(Id(n), "out" + std::to_string(n), "w", Now()).ok());
  }
  std::vector<Job> first = shard_->PullCompleted(2, Now());
  ASSERT_EQ(first.size(), 2u);
  EXPECT_EQ(first[0].id, Id(3));
  EXPECT_EQ(first[0].output, "out3");
  EXPECT_TRUE(first[0].pulled);
  EXPECT_EQ(first[1].id, Id(1));
  std::vector<Job> rest = shard_->PullCompleted(10, Now());
  ASSERT_EQ(rest.size(), 1u);
  EXPECT_EQ(rest[0].id, Id(2));
  EXPECT_TRUE(shard_->PullCompleted(10, Now()).empty());

  std::optional<Job> kept = shard_->Get(Id(3), Now());
  ASSERT_TRUE(kept);
  EXPECT_TRUE(kept->pulled);
  EXPECT_EQ(kept->output, "out3");

  const int64_t first_done = kept->completed_ms;
  clock_.Set(first_done + 4999);
  EXPECT_TRUE(shard_->Get(Id(3), Now()));
  clock_.Set(first_done + 5000);
  EXPECT_FALSE(shard_->Get(Id(3), Now()));
  EXPECT_TRUE(shard_->Get(Id(1), Now()));
  clock_.Advance(100);
  shard_->Tick(Now());
  EXPECT_EQ(shard_->Stats(Now()).done, 0u);
  EXPECT_FALSE(engine_->Get(Id(2), Now()));  // reaped from the engine too
}

TEST_F(QueueShardTest, UnpulledResultsAlsoExpireAfterRetention) {
  Reopen({.retention_ms = 100, .max_jobs = 100});
  Enqueue(1, Now());
  ASSERT_TRUE(shard_->Complete(Id(1), "o", "w", Now()).ok());
  clock_.Advance(100);
  EXPECT_TRUE(shard_->PullCompleted(10, Now()).empty());
  EXPECT_EQ(shard_->Stats(Now()).done, 0u);
}

TEST_F(QueueShardTest, ReleaseWorkerRequeuesItsLeasesAtOnce) {
  for (int n = 1; n <= 4; ++n) Enqueue(n, Now() + n);
  EXPECT_EQ(LeaseId("dead"), Id(1));
  EXPECT_EQ(LeaseId("alive"), Id(2));
  EXPECT_EQ(LeaseId("dead"), Id(3));
  EXPECT_EQ(shard_->ReleaseWorker("dead", Now()), 2u);
  EXPECT_EQ(shard_->ReleaseWorker("dead", Now()), 0u);
  EXPECT_EQ(shard_->ReleaseWorker("nobody", Now()), 0u);
  QueueStats st = shard_->Stats(Now());
  EXPECT_EQ(st.queued, 3u);
  EXPECT_EQ(st.leased, 1u);
  EXPECT_EQ(LeaseId("alive"), Id(1));
  EXPECT_EQ(LeaseId("alive"), Id(3));
  EXPECT_EQ(LeaseId("alive"), Id(4));
}

TEST_F(QueueShardTest, MaxJobsCountsQueuedLeasedAndRetained) {
  Reopen({.retention_ms = 100, .max_jobs = 3});
  Enqueue(1, Now());
  Enqueue(2, Now());
  Enqueue(3, Now());
  EXPECT_EQ(shard_->Enqueue(NewJob(1, Now())).code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(shard_->Enqueue(NewJob(4, Now())).code(), StatusCode::kResourceExhausted);
  EXPECT_EQ(LeaseId("w"), Id(1));
  ASSERT_TRUE(shard_->Complete(Id(2), "o", "w", Now()).ok());
  EXPECT_EQ(shard_->Enqueue(NewJob(4, Now())).code(), StatusCode::kResourceExhausted);
  clock_.Advance(100);
  shard_->Tick(Now());  // the result of job 2 leaves retention
  EXPECT_TRUE(shard_->Enqueue(NewJob(4, Now())).ok());
}

TEST_F(QueueShardTest, EnqueueResetsStateFields) {
  Job job = NewJob(1, Now());
  job.state = JobState::kDone;
  job.output = "forged";
  job.attempts = 7;
  ASSERT_TRUE(shard_->Enqueue(job).ok());
  std::optional<Job> got = shard_->Get(Id(1), Now());
  ASSERT_TRUE(got);
  EXPECT_EQ(got->state, JobState::kQueued);
  EXPECT_EQ(got->output, "");
  EXPECT_EQ(got->attempts, 0u);
}

// A fresh directory per test, removed afterwards.
class TempDir {
 public:
  TempDir() {
    const char* base = getenv("TMPDIR");
    std::string pattern = std::string(base && *base ? base : "/tmp") + "/ringkv_jobs_XXXXXX";
    EXPECT_NE(mkdtemp(pattern.data()), nullptr);
    path_ = pattern;
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

std::unique_ptr<store::Engine> OpenRocks(const std::string& path) {
  auto engine = store::OpenRocksDbEngine({.path = path, .fsync = store::FsyncPolicy::kNo});
  EXPECT_TRUE(engine.ok()) << engine.status().ToString();
  return engine.ok() ? std::move(*engine) : nullptr;
}

TEST(QueueShardRocksDbTest, OpenRebuildsEveryIndexAfterARestart) {
  TempDir dir;
  FakeClock clock;
  const int64_t t0 = clock.NowMs();
  {
    auto engine = OpenRocks(dir.path());
    ASSERT_TRUE(engine);
    auto shard = QueueShard::Open(*engine, {}, t0);
    ASSERT_TRUE(shard.ok());
    QueueShard& q = **shard;
    for (int n = 1; n <= 6; ++n)
      ASSERT_TRUE(q.Enqueue(NewJob(n, t0 + n, "p" + std::to_string(n))).ok());
    ASSERT_EQ(q.Lease("short", 100, t0 + 10)->id, Id(1));
    ASSERT_EQ(q.Lease("long", 100000, t0 + 10)->id, Id(2));
    ASSERT_EQ(*q.Complete(Id(5), "out5", "w", t0 + 11), CompleteResult::kStored);
    ASSERT_EQ(*q.Complete(Id(6), "out6", "w", t0 + 12), CompleteResult::kStored);
    ASSERT_EQ(q.PullCompleted(1, t0 + 13).size(), 1u);  // job 5 pulled
  }
  auto engine = OpenRocks(dir.path());
  ASSERT_TRUE(engine);
  const int64_t t1 = t0 + 1000;  // the short lease has expired, the long one has not
  auto shard = QueueShard::Open(*engine, {}, t1);
  ASSERT_TRUE(shard.ok()) << shard.status().ToString();
  QueueShard& q = **shard;
  QueueStats st = q.Stats(t1);
  EXPECT_EQ(st.queued, 3u);  // 1 (requeued), 3, 4
  EXPECT_EQ(st.leased, 1u);  // 2
  EXPECT_EQ(st.done, 2u);
  EXPECT_EQ(st.oldest_queued_ms, t0 + 1);

  std::optional<Job> first = q.Lease("w", 1000, t1);
  ASSERT_TRUE(first);
  EXPECT_EQ(first->id, Id(1));
  EXPECT_EQ(first->payload, "p1");
  EXPECT_EQ(first->attempts, 2u);
  EXPECT_EQ(q.Lease("w", 1000, t1)->id, Id(3));
  EXPECT_EQ(q.Get(Id(2), t1)->worker, "long");
  EXPECT_EQ(q.ReleaseWorker("long", t1), 1u);

  std::vector<Job> pulled = q.PullCompleted(10, t1);
  ASSERT_EQ(pulled.size(), 1u);  // job 5 was pulled before the restart
  EXPECT_EQ(pulled[0].id, Id(6));
  EXPECT_EQ(q.Get(Id(5), t1)->output, "out5");
  EXPECT_EQ(*q.Complete(Id(5), "out5", "x", t1), CompleteResult::kDuplicate);
}

TEST(QueueShardRocksDbTest, OpenRefusesAnEngineHoldingNonJobs) {
  auto engine = store::NewMemoryEngine({});
  ASSERT_TRUE(engine
                  ->Mutate("k", 0,
                           [](const store::Entry*) {
                             return store::Mutation::Put({"not a job", 0, 0});
                           })
                  .ok());
  auto shard = QueueShard::Open(*engine, {}, 0);
  EXPECT_EQ(shard.status().code(), StatusCode::kDataLoss);
}

// Many producers and workers at once: every job is leased exactly once (the
// leases never expire here), completed exactly once, and nothing is lost.
TEST_F(QueueShardTest, ConcurrentEnqueueLeaseCompleteNeverDoubleLeases) {
  constexpr int kProducers = 4, kPerProducer = 500, kWorkers = 8;
  constexpr int kTotal = kProducers * kPerProducer;
  std::atomic<int> produced{0}, completed{0};
  Mutex mu;
  std::map<std::string, std::string> holder;  // id -> worker that leased it
  std::atomic<bool> double_lease{false}, bad_complete{false};

  std::vector<std::thread> threads;
  for (int p = 0; p < kProducers; ++p) {
    threads.emplace_back([&, p] {
      for (int i = 0; i < kPerProducer; ++i) {
        if (shard_->Enqueue(NewJob(p * kPerProducer + i, Now() + i)).ok()) ++produced;
      }
    });
  }
  for (int w = 0; w < kWorkers; ++w) {
    threads.emplace_back([&, w] {
      const std::string me = "w" + std::to_string(w);
      while (completed.load() < kTotal) {
        std::optional<Job> job = shard_->Lease(me, 1'000'000'000, Now());
        if (!job) {
          std::this_thread::yield();
          continue;
        }
        {
          MutexLock lock(mu);
          if (!holder.emplace(job->id, me).second) double_lease = true;
        }
        auto r = shard_->Complete(job->id, "out", me, Now());
        if (!r.ok() || *r != CompleteResult::kStored) bad_complete = true;
        ++completed;
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(produced.load(), kTotal);
  EXPECT_FALSE(double_lease.load());
  EXPECT_FALSE(bad_complete.load());
  EXPECT_EQ(holder.size(), static_cast<size_t>(kTotal));
  QueueStats st = shard_->Stats(Now());
  EXPECT_EQ(st.queued, 0u);
  EXPECT_EQ(st.leased, 0u);
  EXPECT_EQ(st.done, static_cast<uint64_t>(kTotal));
  EXPECT_EQ(shard_->PullCompleted(kTotal + 1, Now()).size(), static_cast<size_t>(kTotal));
}

// With leases expiring under the workers' feet, a job is never held by two
// live leases at once: whoever leases it finds no one else holding it.
TEST_F(QueueShardTest, ConcurrentShortLeasesNeverOverlap) {
  for (int n = 0; n < 50; ++n) Enqueue(n, Now() + n);
  Mutex mu;
  std::map<std::string, int64_t> live_until;  // id -> lease expiry of its current holder
  std::atomic<bool> overlap{false};
  std::atomic<bool> stop{false};
  std::vector<std::thread> threads;
  for (int w = 0; w < 6; ++w) {
    threads.emplace_back([&, w] {
      const std::string me = "w" + std::to_string(w);
      while (!stop.load()) {
        {
          MutexLock lock(mu);
          const int64_t now = Now();
          std::optional<Job> job = shard_->Lease(me, 5, now);
          if (job) {
            auto it = live_until.find(job->id);
            if (it != live_until.end() && it->second > now) overlap = true;
            live_until[job->id] = job->lease_expires_ms;
          }
        }
        std::this_thread::yield();
      }
    });
  }
  threads.emplace_back([&] {
    for (int i = 0; i < 500; ++i) {
      {
        // The shard must see time move forward only; the lock orders the
        // clock with the workers' reads of it.
        MutexLock lock(mu);
        clock_.Advance(1);
        if (i % 7 == 0) shard_->Tick(Now());
      }
      std::this_thread::yield();
    }
    stop = true;
  });
  for (std::thread& t : threads) t.join();
  EXPECT_FALSE(overlap.load());
}

}  // namespace
}  // namespace ringkv::jobs
