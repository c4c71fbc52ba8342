#include "cluster/health.h"

#include <gtest/gtest.h>

namespace ringkv::cluster {
namespace {

using T = HealthTransition;

TEST(HealthTrackerTest, GoesDownOnTheNthConsecutiveFailure) {
  HealthTracker h({.failures = 3, .successes = 2});
  EXPECT_EQ(h.Record("a", false, false), T::kNone);
  EXPECT_EQ(h.Record("a", false, false), T::kNone);
  EXPECT_EQ(h.Record("a", false, false), T::kWentDown);
}

TEST(HealthTrackerTest, IntermittentFailuresNeverGoDown) {
  HealthTracker h({.failures = 3, .successes = 2});
  for (int i = 0; i < 100; ++i) {
    EXPECT_EQ(h.Record("a", false, false), T::kNone);
    EXPECT_EQ(h.Record("a", false, false), T::kNone);
    EXPECT_EQ(h.Record("a", true, false), T::kNone);
  }
}

TEST(HealthTrackerTest, ComesBackAfterConsecutiveSuccesses) {
  HealthTracker h({.failures = 3, .successes = 2});
  for (int i = 0; i < 2; ++i) EXPECT_EQ(h.Record("a", false, false), T::kNone);
  EXPECT_EQ(h.Record("a", false, false), T::kWentDown);
  // Still failing while down: no further transition.
  for (int i = 0; i < 5; ++i) EXPECT_EQ(h.Record("a", false, true), T::kNone);
  EXPECT_EQ(h.Record("a", true, true), T::kNone);
  EXPECT_EQ(h.Record("a", false, true), T::kNone);  // a failure restarts the count
  EXPECT_EQ(h.Record("a", true, true), T::kNone);
  EXPECT_EQ(h.Record("a", true, true), T::kCameBack);
  // Back up, the failure count starts from zero.
  EXPECT_EQ(h.Record("a", false, false), T::kNone);
  EXPECT_EQ(h.Record("a", false, false), T::kNone);
  EXPECT_EQ(h.Record("a", false, false), T::kWentDown);
}

TEST(HealthTrackerTest, SuccessesWhileUpAndFailuresWhileDownAreNotTransitions) {
  HealthTracker h({.failures = 1, .successes = 1});
  for (int i = 0; i < 10; ++i) EXPECT_EQ(h.Record("a", true, false), T::kNone);
  EXPECT_EQ(h.Record("a", false, true), T::kNone);
  EXPECT_EQ(h.Record("a", false, false), T::kWentDown);
  EXPECT_EQ(h.Record("a", true, true), T::kCameBack);
}

TEST(HealthTrackerTest, NodesAreTrackedSeparately) {
  HealthTracker h({.failures = 2, .successes = 2});
  EXPECT_EQ(h.Record("a", false, false), T::kNone);
  EXPECT_EQ(h.Record("b", false, false), T::kNone);
  EXPECT_EQ(h.Record("b", true, false), T::kNone);
  EXPECT_EQ(h.Record("a", false, false), T::kWentDown);
  EXPECT_EQ(h.Record("b", false, false), T::kNone);
}

TEST(HealthTrackerTest, ForgetResetsCounts) {
  HealthTracker h({.failures = 2, .successes = 2});
  EXPECT_EQ(h.Record("a", false, false), T::kNone);
  h.Forget("a");
  EXPECT_EQ(h.Record("a", false, false), T::kNone);
  EXPECT_EQ(h.Record("a", false, false), T::kWentDown);
}

TEST(HealthTrackerTest, NewOptionsApplyToCountsSoFar) {
  HealthTracker h({.failures = 5, .successes = 2});
  EXPECT_EQ(h.Record("a", false, false), T::kNone);
  EXPECT_EQ(h.Record("a", false, false), T::kNone);
  h.set_options({.failures = 3, .successes = 2});
  EXPECT_EQ(h.Record("a", false, false), T::kWentDown);
}

TEST(HealthTrackerTest, ZeroThresholdsActLikeOne) {
  HealthTracker h({.failures = 0, .successes = 0});
  EXPECT_EQ(h.Record("a", true, false), T::kNone);
  EXPECT_EQ(h.Record("a", false, false), T::kWentDown);
  EXPECT_EQ(h.Record("a", true, true), T::kCameBack);
}

}  // namespace
}  // namespace ringkv::cluster
