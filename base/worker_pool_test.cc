#include "base/worker_pool.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <latch>
#include <set>

namespace ringkv {
namespace {

TEST(WorkerPoolTest, RunsEveryPostedTask) {
  std::atomic<int> sum{0};
  {
    WorkerPool pool(3, "test");
    for (int i = 1; i <= 1000; ++i) pool.Post([&sum, i] { sum += i; });
    pool.Drain();
    EXPECT_EQ(sum.load(), 500500);
  }
}

TEST(WorkerPoolTest, DestructorRunsWhatIsQueued) {
  std::atomic<int> ran{0};
  {
    WorkerPool pool(1, "test");
    for (int i = 0; i < 100; ++i) pool.Post([&ran] { ++ran; });
  }
  EXPECT_EQ(ran.load(), 100);
}

TEST(WorkerPoolTest, BlockingTasksRunSideBySide) {
  // Four tasks that each wait for all four: only four threads can finish them.
  WorkerPool pool(4, "test");
  std::latch all(4);
  std::atomic<int> done{0};
  for (int i = 0; i < 4; ++i) {
    pool.Post([&] {
      all.arrive_and_wait();
      ++done;
    });
  }
  pool.Drain();
  EXPECT_EQ(done.load(), 4);
  EXPECT_EQ(pool.threads(), 4u);
}

TEST(WorkerPoolTest, DrainWaitsForTheRunningTask) {
  WorkerPool pool(2, "test");
  std::atomic<bool> finished{false};
  pool.Post([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    finished = true;
  });
  pool.Drain();
  EXPECT_TRUE(finished.load());
}

TEST(WorkerPoolTest, ZeroThreadsMeansOne) {
  WorkerPool pool(0, "a-name-longer-than-fifteen-bytes");
  std::atomic<int> ran{0};
  pool.Post([&] { ++ran; });
  pool.Drain();
  EXPECT_EQ(ran.load(), 1);
  EXPECT_EQ(pool.threads(), 1u);
}

}  // namespace
}  // namespace ringkv
