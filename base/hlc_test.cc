#include "base/hlc.h"

#include <gtest/gtest.h>

#include "base/function_ref.h"

namespace ringkv {
namespace {

TEST(HybridClockTest, StrictlyIncreasingEvenWhenWallClockStepsBack) {
  FakeClock clock(1000);
  HybridClock hlc(clock);
  uint64_t a = hlc.Next();
  EXPECT_EQ(HybridClock::PhysicalMs(a), 1000);
  uint64_t b = hlc.Next();
  EXPECT_GT(b, a);
  clock.Set(500);
  uint64_t c = hlc.Next();
  EXPECT_GT(c, b);
  clock.Set(2000);
  EXPECT_EQ(HybridClock::PhysicalMs(hlc.Next()), 2000);
}

TEST(HybridClockTest, ObserveOrdersLaterWritesAfterRemoteOnes) {
  FakeClock clock(1000);
  HybridClock hlc(clock);
  uint64_t remote = (uint64_t{5000} << 16) | 7;
  hlc.Observe(remote);
  EXPECT_GT(hlc.Next(), remote);
}

TEST(FunctionRefTest, CallsTheReferencedCallable) {
  int calls = 0;
  auto f = [&](int x) { calls += x; return calls; };
  FunctionRef<int(int)> ref(f);
  EXPECT_EQ(ref(2), 2);
  EXPECT_EQ(ref(3), 5);
}

}  // namespace
}  // namespace ringkv
