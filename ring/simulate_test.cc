#include "ring/simulate.h"

#include <gtest/gtest.h>

namespace ringkv::ring {
namespace {

TEST(SimulateTest, RingAddAndRemoveAreMinimalAndNearIdeal) {
  auto r = Simulate({.nodes = 10, .vnodes = 160, .keys = 200000, .add = 1, .remove = 1});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_TRUE(r->added && r->removed && r->arcs);
  EXPECT_EQ(r->added->stray, 0u);
  EXPECT_EQ(r->removed->stray, 0u);
  EXPECT_NEAR(r->added->fraction, 1.0 / 11, 0.25 / 11);
  EXPECT_NEAR(r->removed->fraction, 1.0 / 10, 0.25 / 10);
  EXPECT_NEAR(r->added->ideal, 1.0 / 11, 1e-12);
  EXPECT_LT(r->balance.max_over_mean, 1.3);
}

TEST(SimulateTest, EveryAlgorithmRuns) {
  for (Algorithm a : {Algorithm::kJump, Algorithm::kMaglev, Algorithm::kRendezvous}) {
    auto r = Simulate({.nodes = 8, .keys = 50000, .algorithm = a, .add = 2});
    ASSERT_TRUE(r.ok()) << AlgorithmName(a);
    EXPECT_FALSE(r->arcs.has_value());
    EXPECT_GT(r->added->moved, 0u);
  }
  // Jump and rendezvous move keys only to the new nodes.
  EXPECT_EQ(Simulate({.nodes = 8, .keys = 50000, .algorithm = Algorithm::kJump, .add = 2})->added->stray, 0u);
}

TEST(SimulateTest, RejectsBadArguments) {
  EXPECT_FALSE(Simulate({.nodes = 0}).ok());
  EXPECT_FALSE(Simulate({.vnodes = 0}).ok());
  EXPECT_FALSE(Simulate({.keys = 0}).ok());
  EXPECT_FALSE(Simulate({.nodes = 3, .remove = 3}).ok());
  auto s = Simulate({.nodes = 3, .remove = 5}).status();
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("--remove"), std::string::npos);
}

}  // namespace
}  // namespace ringkv::ring
