#include "base/process.h"

#include <gtest/gtest.h>

#include <chrono>

namespace ringkv {
namespace {

using std::chrono::microseconds;
using std::chrono::steady_clock;

// Calls MaybeYield in a busy loop for `span`.
uint64_t YieldsDuring(CpuYielder& yielder, microseconds span) {
  const auto until = steady_clock::now() + span;
  while (steady_clock::now() < until) yielder.MaybeYield();
  return yielder.yields();
}

TEST(CpuYielderTest, ZeroIntervalNeverYields) {
  CpuYielder yielder(microseconds(0));
  EXPECT_EQ(YieldsDuring(yielder, microseconds(5000)), 0u);
}

TEST(CpuYielderTest, YieldsOncePerIntervalAtMost) {
  CpuYielder yielder(microseconds(1000));
  const uint64_t n = YieldsDuring(yielder, microseconds(20000));
  EXPECT_GE(n, 1u);   // the loop ran past the interval
  EXPECT_LE(n, 20u);  // never more often than the interval allows
}

TEST(CpuYielderTest, NoYieldBeforeTheFirstIntervalHasPassed) {
  CpuYielder yielder(microseconds(10'000'000));
  for (int i = 0; i < 100000; ++i) yielder.MaybeYield();
  EXPECT_EQ(yielder.yields(), 0u);
}

}  // namespace
}  // namespace ringkv
