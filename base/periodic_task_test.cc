#include "base/periodic_task.h"

#include <gtest/gtest.h>

#include <atomic>
#include <future>

namespace ringkv {
namespace {

using std::chrono::hours;
using std::chrono::milliseconds;

TEST(PeriodicTaskTest, WakeRunsTheBodyWithoutWaitingForTheInterval) {
  PeriodicTask task;
  std::promise<void> ran;
  std::atomic<int> calls{0};
  task.Start(hours(1), [&] {
    if (calls.fetch_add(1) == 0) ran.set_value();
    return true;
  });
  task.Wake();
  ASSERT_EQ(ran.get_future().wait_for(std::chrono::seconds(30)), std::future_status::ready);
  task.Stop();
  EXPECT_EQ(calls.load(), 1);
}

TEST(PeriodicTaskTest, StopReturnsPromptlyDuringALongWaitAndNeverRunsTheBodyAfter) {
  PeriodicTask task;
  std::atomic<int> calls{0};
  task.Start(hours(1), [&] {
    ++calls;
    return true;
  });
  EXPECT_TRUE(task.running());
  task.Stop();
  EXPECT_FALSE(task.running());
  EXPECT_EQ(calls.load(), 0);
  task.Stop();  // idempotent
}

TEST(PeriodicTaskTest, RunFirstCallsTheBodyBeforeTheFirstWait) {
  PeriodicTask task;
  std::promise<void> ran;
  task.Start(
      hours(1),
      [&] {
        ran.set_value();
        return true;
      },
      /*run_first=*/true);
  ASSERT_EQ(ran.get_future().wait_for(std::chrono::seconds(30)), std::future_status::ready);
}

TEST(PeriodicTaskTest, ABodyThatReturnsFalseEndsTheTask) {
  PeriodicTask task;
  std::atomic<int> calls{0};
  std::promise<void> done;
  task.Start(milliseconds(1), [&] {
    if (++calls == 3) {
      done.set_value();
      return false;
    }
    return true;
  });
  ASSERT_EQ(done.get_future().wait_for(std::chrono::seconds(30)), std::future_status::ready);
  task.Stop();
  EXPECT_EQ(calls.load(), 3);
}

TEST(PeriodicTaskTest, ATaskItsBodyEndedIsNotRunningAndStartsAgain) {
  PeriodicTask task;
  std::atomic<int> calls{0};
  task.Start(
      hours(1), [&] { return ++calls > 1; }, /*run_first=*/true);
  auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (task.running() && std::chrono::steady_clock::now() < give_up) std::this_thread::yield();
  EXPECT_FALSE(task.running());
  EXPECT_EQ(calls.load(), 1);

  std::promise<void> again;
  task.Start(
      hours(1),
      [&] {
        again.set_value();
        return true;
      },
      /*run_first=*/true);
  EXPECT_TRUE(task.running());
  ASSERT_EQ(again.get_future().wait_for(std::chrono::seconds(30)), std::future_status::ready);
  task.Stop();
  EXPECT_FALSE(task.running());
}

TEST(PeriodicTaskTest, TheIntervalIsAskedForBeforeEveryWait) {
  PeriodicTask task;
  std::atomic<int> asked{0};
  std::promise<void> done;
  std::atomic<int> calls{0};
  task.Start(
      [&] {
        ++asked;
        return milliseconds(1);
      },
      [&] {
        if (++calls == 5) done.set_value();
        return calls < 5;
      });
  ASSERT_EQ(done.get_future().wait_for(std::chrono::seconds(30)), std::future_status::ready);
  task.Stop();
  EXPECT_EQ(asked.load(), 5);
}

TEST(PeriodicTaskTest, StoppingIsVisibleToTheBody) {
  PeriodicTask task;
  std::promise<void> entered;
  std::atomic<bool> saw_stop{false};
  task.Start(
      hours(1),
      [&] {
        entered.set_value();
        while (!task.stopping()) std::this_thread::yield();
        saw_stop = true;
        return true;
      },
      /*run_first=*/true);
  entered.get_future().wait();
  task.Stop();
  EXPECT_TRUE(saw_stop.load());
}

}  // namespace
}  // namespace ringkv
