#include "node/view/boundary.h"

#include <gtest/gtest.h>

namespace ringkv::node {
namespace {

TEST(CheckEpochStepTest, BoundsTheStepFromAHeldMap) {
  EXPECT_TRUE(CheckEpochStep(5, 1005, 1000).ok());
  EXPECT_TRUE(CheckEpochStep(5, 3, 1000).ok());  // older: ignored, not refused
  Status s = CheckEpochStep(5, 1006, 1000);
  EXPECT_EQ(s.code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(s.message().find("max_epoch_step"), std::string::npos) << s.message();
  EXPECT_FALSE(CheckEpochStep(1, uint64_t{1} << 62, 1000).ok());
  EXPECT_FALSE(CheckEpochStep(UINT64_MAX - 1, UINT64_MAX, 0).ok());
}

TEST(CheckEpochStepTest, ANodeWithoutAMapTakesAnyFirstEpoch) {
  EXPECT_TRUE(CheckEpochStep(0, 5000, 1000).ok());
}

TEST(RefusalsTest, CountsEveryRefusalByReason) {
  Refusals r;
  for (int i = 0; i < 5; ++i) r.Count(Refusal::kClockDrift, "far ahead", 1000 + i);
  r.Count(Refusal::kEpochStep, "too far", 1000);
  EXPECT_EQ(r.count(Refusal::kClockDrift), 5u);
  EXPECT_EQ(r.count(Refusal::kEpochStep), 1u);
  EXPECT_EQ(r.count(Refusal::kMapSource), 0u);
}

TEST(RefusalsTest, EveryReasonHasALabel) {
  for (size_t i = 0; i < static_cast<size_t>(Refusal::kCount); ++i) {
    EXPECT_NE(RefusalReason(static_cast<Refusal>(i)), "unknown");
  }
}

}  // namespace
}  // namespace ringkv::node
