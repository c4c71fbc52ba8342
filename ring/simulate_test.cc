#include "ring/simulate.h"

#include <gtest/gtest.h>

#include <numeric>

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

TEST(SimulateTest, ReplicationCountsCopiesAndReplicaMoves) {
  const SimulateOptions o{.nodes = 10, .keys = 200000, .add = 1, .remove = 1, .replication = 3};
  auto r = Simulate(o);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_TRUE(r->copies && r->copies_arcs);
  EXPECT_NEAR(std::accumulate(r->copies->share.begin(), r->copies->share.end(), 0.0), 1.0, 1e-9);
  EXPECT_LT(r->copies->max_over_mean, 1.2);
  // The primaries move as without replication.
  auto single = Simulate({.nodes = 10, .keys = 200000, .add = 1, .remove = 1});
  EXPECT_EQ(r->added->moved, single->added->moved);
  EXPECT_FALSE(single->added->replicas || single->copies);

  const ReplicaMoves& add = *r->added->replicas;
  EXPECT_NEAR(add.ideal, 3.0 / 11, 1e-12);
  EXPECT_NEAR(static_cast<double>(add.copies) / 200000, add.ideal, 0.25 * add.ideal);
  EXPECT_EQ(add.dropped, add.copies);  // the new node bumps one replica per changed key
  EXPECT_EQ(add.changed, add.copies);
  EXPECT_NEAR(add.fraction, 3.0 / 11, 0.25 * 3 / 11);

  const ReplicaMoves& remove = *r->removed->replicas;
  EXPECT_NEAR(remove.ideal, 3.0 / 10, 1e-12);
  EXPECT_NEAR(static_cast<double>(remove.copies) / 200000, remove.ideal, 0.25 * remove.ideal);
  EXPECT_EQ(remove.dropped, remove.copies);
}

// Two nodes hold only two replicas; a third node joins every list.
TEST(SimulateTest, ReplicationBeyondTheNodeCount) {
  auto r = Simulate({.nodes = 2, .keys = 10000, .add = 1, .replication = 3});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  const ReplicaMoves& add = *r->added->replicas;
  EXPECT_EQ(add.copies, 10000u);
  EXPECT_EQ(add.dropped, 0u);
  EXPECT_DOUBLE_EQ(add.ideal, 1.0);
  for (double s : r->copies_arcs->share) EXPECT_NEAR(s, 0.5, 1e-9);
}

TEST(SimulateTest, RejectsBadArguments) {
  EXPECT_FALSE(Simulate({.nodes = 0}).ok());
  EXPECT_FALSE(Simulate({.vnodes = 0}).ok());
  EXPECT_FALSE(Simulate({.keys = 0}).ok());
  EXPECT_FALSE(Simulate({.nodes = 3, .remove = 3}).ok());
  auto s = Simulate({.nodes = 3, .remove = 5}).status();
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("--remove"), std::string::npos);
  for (uint32_t bad : {0u, kMaxReplication + 1}) {
    auto r = Simulate({.keys = 10, .replication = bad}).status();
    EXPECT_NE(r.message().find("--replication must be in [1, 5]"), std::string::npos) << bad;
  }
  auto jump = Simulate({.keys = 10, .algorithm = Algorithm::kJump, .replication = 2}).status();
  EXPECT_NE(jump.message().find("needs --algo ring"), std::string::npos);
}

}  // namespace
}  // namespace ringkv::ring
