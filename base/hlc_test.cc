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
  EXPECT_TRUE(hlc.Observe(remote));
  EXPECT_GT(hlc.Next(), remote);
}

TEST(HybridClockTest, RefusesTimestampsBeyondTheDrift) {
  FakeClock clock(1'000'000);
  HybridClock hlc(clock, /*max_drift_ms=*/60'000);
  int refused = 0;
  hlc.set_refusal_hook([&](uint64_t) { ++refused; });
  const uint64_t before = hlc.Next();
  EXPECT_FALSE(hlc.Observe(uint64_t{1'060'001} << 16));
  EXPECT_FALSE(hlc.Observe(UINT64_MAX));
  EXPECT_EQ(refused, 2);
  EXPECT_EQ(HybridClock::PhysicalMs(hlc.Next()), HybridClock::PhysicalMs(before));
  EXPECT_TRUE(hlc.Observe((uint64_t{1'060'000} << 16) | 0xffff));
  EXPECT_EQ(HybridClock::PhysicalMs(hlc.Next()), 1'060'001);  // the counter carried
}

TEST(HybridClockTest, NeverWrapsAfterObservingTheCeiling) {
  FakeClock clock(int64_t{1} << 47);
  HybridClock hlc(clock, uint64_t{1} << 47);  // a ceiling past 2^48 ms saturates
  EXPECT_EQ(hlc.Ceiling(), UINT64_MAX);
  EXPECT_TRUE(hlc.Observe(UINT64_MAX - 1));
  EXPECT_EQ(hlc.Next(), UINT64_MAX);
  EXPECT_EQ(hlc.Next(), UINT64_MAX);
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
