#include "base/thread_annotations.h"

#include <gtest/gtest.h>

#include <chrono>
#include <thread>

namespace ringkv {
namespace {

using std::chrono::milliseconds;
using std::chrono::steady_clock;

// A flag set by another thread, as the classes that use CondVar hold it.
class Flag {
 public:
  void Set() {
    {
      MutexLock lock(mu_);
      set_ = true;
    }
    cv_.NotifyAll();
  }
  void Wait() {
    MutexLock lock(mu_);
    cv_.Wait(mu_, [&]() REQUIRES(mu_) { return set_; });
    EXPECT_TRUE(set_);  // held again after the wait
  }
  bool WaitFor(milliseconds timeout) {
    MutexLock lock(mu_);
    return cv_.WaitFor(mu_, timeout, [&]() REQUIRES(mu_) { return set_; });
  }
  // Without a predicate: true when woken before the timeout.
  bool WaitOnceFor(milliseconds timeout) {
    MutexLock lock(mu_);
    return cv_.WaitFor(mu_, timeout);
  }
  bool is_set() {
    MutexLock lock(mu_);
    return set_;
  }

 private:
  Mutex mu_;
  CondVar cv_;
  bool set_ GUARDED_BY(mu_) = false;
};

TEST(CondVarTest, WaitReturnsOnceThePredicateHolds) {
  Flag flag;
  std::thread setter([&] {
    std::this_thread::sleep_for(milliseconds(20));
    flag.Set();
  });
  flag.Wait();
  EXPECT_TRUE(flag.is_set());
  setter.join();
}

TEST(CondVarTest, WaitForReturnsFalseOnATimeout) {
  Flag flag;
  const auto start = steady_clock::now();
  EXPECT_FALSE(flag.WaitFor(milliseconds(30)));
  EXPECT_GE(steady_clock::now() - start, milliseconds(30));
  EXPECT_FALSE(flag.WaitOnceFor(milliseconds(10)));
}

TEST(CondVarTest, WaitForReturnsTrueWhenThePredicateHoldsInTime) {
  Flag flag;
  std::thread setter([&] {
    std::this_thread::sleep_for(milliseconds(20));
    flag.Set();
  });
  EXPECT_TRUE(flag.WaitFor(std::chrono::seconds(30)));
  setter.join();
  EXPECT_TRUE(flag.WaitFor(milliseconds(0)));  // already true: no wait
}

// MutexLock's unlock/lock pair releases the mutex inside the scope.
TEST(MutexLockTest, UnlockLetsAnotherThreadIn) {
  Mutex mu;
  MutexLock lock(mu);
  lock.unlock();
  std::thread other([&] { MutexLock inner(mu); });
  other.join();
  lock.lock();
  bool other_got_it = false;
  std::thread([&] {
    if (mu.try_lock()) {
      other_got_it = true;
      mu.unlock();
    }
  }).join();
  EXPECT_FALSE(other_got_it);  // held again
}

}  // namespace
}  // namespace ringkv
