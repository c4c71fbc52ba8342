#include "worker/worker.h"

#include <gtest/gtest.h>

#include "jobs/hash_work.h"
#include "worker/work_item.h"

namespace ringkv::worker {
namespace {

TEST(RouterAddrFromUrl, AcceptsUrlsAndAddresses) {
  EXPECT_EQ(*RouterAddrFromUrl("http://127.0.0.1:8080"), "127.0.0.1:8080");
  EXPECT_EQ(*RouterAddrFromUrl("http://localhost:9/"), "localhost:9");
  EXPECT_EQ(*RouterAddrFromUrl("10.0.0.1:80"), "10.0.0.1:80");
  EXPECT_EQ(*RouterAddrFromUrl(":8080"), "127.0.0.1:8080");
}

TEST(RouterAddrFromUrl, RejectsOthers) {
  for (const char* bad : {"", "http://", "https://h:1", "http://h", "http://h:0", "http://h:70000",
                          "http://h:80/jobs", "h:x"}) {
    EXPECT_FALSE(RouterAddrFromUrl(bad).ok()) << bad;
  }
}

TEST(ParseWorkItem, ReadsTheDocumentedAnswer) {
  auto w = ParseWorkItem(
      R"({"work_id":"abc","iterations":3,"algorithm":"sha256","payload":"Zm9v",)"
      R"("payload_encoding":"base64","lease_ms":500,"lease_expires_ms":123,"attempts":2})");
  ASSERT_TRUE(w.ok()) << w.status().ToString();
  EXPECT_EQ(w->work_id, "abc");
  EXPECT_EQ(w->iterations, 3u);
  EXPECT_EQ(w->algorithm, jobs::HashAlgorithm::kSha256);
  EXPECT_EQ(w->payload, "foo");
  EXPECT_EQ(w->lease_ms, 500u);
  EXPECT_EQ(w->attempts, 2u);
}

TEST(ParseWorkItem, DefaultsAndErrors) {
  auto w = ParseWorkItem(R"({"work_id":"a","iterations":1})");
  ASSERT_TRUE(w.ok());
  EXPECT_EQ(w->algorithm, jobs::HashAlgorithm::kSha512);
  EXPECT_EQ(w->payload, "");
  for (const char* bad :
       {"", "[]", "{}", R"({"work_id":"a"})", R"({"work_id":"a","iterations":0})",
        R"({"work_id":"a","iterations":-1})", R"({"work_id":"a","iterations":1,"algorithm":"md5"})",
        R"({"work_id":"a","iterations":1,"payload":"!!"})",
        R"({"work_id":"a","iterations":1,"payload":"","payload_encoding":"rot13"})"}) {
    EXPECT_FALSE(ParseWorkItem(bad).ok()) << bad;
  }
}

TEST(IterateHashSliced, EqualsOneCallForEverySlicing) {
  const std::string payload(100, 'x');
  for (auto alg : {jobs::HashAlgorithm::kSha512, jobs::HashAlgorithm::kSha256}) {
    for (uint64_t n : {1, 2, 7, 100}) {
      const std::string want = jobs::IterateHash(alg, payload, n);
      for (uint64_t slice : {1, 3, 50, 1000}) {
        EXPECT_EQ(IterateHashSliced(alg, payload, n, slice, [] { return true; }), want)
            << n << " " << slice;
      }
    }
  }
}

TEST(IterateHashSliced, StopsBetweenSlices) {
  int asked = 0;
  auto out =
      IterateHashSliced(jobs::HashAlgorithm::kSha512, "p", 10, 2, [&] { return ++asked < 3; });
  EXPECT_FALSE(out);
  EXPECT_EQ(asked, 3);
}

TEST(WorkerOptions, Validation) {
  WorkerOptions o;
  o.id = "w1";
  EXPECT_TRUE(ValidateWorkerOptions(o).ok());
  o.threads = 0;
  EXPECT_FALSE(ValidateWorkerOptions(o).ok());
  o.threads = 1;
  o.id = "has space";
  EXPECT_FALSE(ValidateWorkerOptions(o).ok());
  o.id = "w1";
  o.router = "nohost";
  EXPECT_FALSE(ValidateWorkerOptions(o).ok());
  EXPECT_TRUE(DefaultWorkerId().starts_with("worker-"));
}

// A worker whose router does not answer keeps retrying, then leaves when idle.
TEST(Worker, LeavesWhenIdleWhileTheRouterIsDown) {
  WorkerOptions o;
  o.router = "127.0.0.1:1";  // nothing listens on port 1
  o.threads = 2;
  o.idle_exit_ms = 300;
  o.backoff_min_ms = 10;
  o.backoff_max_ms = 50;
  o.http_timeout_ms = 200;
  Worker w(o);
  w.Start();
  EXPECT_EQ(w.Wait(), ExitReason::kIdle);
  EXPECT_GT(w.stats().errors, 0u);
  EXPECT_EQ(w.stats().leased, 0u);
}

TEST(Worker, StopEndsTheThreads) {
  WorkerOptions o;
  o.router = "127.0.0.1:1";
  o.idle_exit_ms = 0;
  o.backoff_min_ms = 10;
  o.backoff_max_ms = 20;
  Worker w(o);
  w.Start();
  w.Stop();
  EXPECT_TRUE(w.JoinFor(5000));
  EXPECT_EQ(w.Wait(), ExitReason::kStopped);
}

}  // namespace
}  // namespace ringkv::worker
