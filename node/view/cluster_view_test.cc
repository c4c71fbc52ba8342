#include "node/view/cluster_view.h"

#include <gtest/gtest.h>

#include <string>

#include "base/clock.h"

namespace ringkv::node {
namespace {

std::string TwoNodeMap(uint64_t epoch) {
  return R"({"epoch": )" + std::to_string(epoch) +
         R"(, "vnodes": 16, "hash": "xxh3", "replication": 1, "nodes": [
      {"id": "a", "addr": "10.0.0.1:6380", "grpc_addr": "a:grpc", "kind": "ringkv", "weight": 1, "state": "active"},
      {"id": "b", "addr": "10.0.0.2:6380", "grpc_addr": "b:grpc", "kind": "ringkv", "weight": 1, "state": "active"}]})";
}

class ClusterViewTest : public ::testing::Test {
 protected:
  FakeClock clock_{1};
  ClusterCounters counters_;
  std::string id_ = "a";
  ClusterView view_{clock_, counters_, id_};
};

TEST_F(ClusterViewTest, PlaceOfFollowsTheMapAndTheRoles) {
  uint32_t owner = 0;
  EXPECT_EQ(view_.Snapshot()->PlaceOf("k", nullptr, &owner),
            ClusterSnapshot::Place::kHere);  // no map
  ASSERT_TRUE(view_.SetMap(TwoNodeMap(2)).ok());
  std::shared_ptr<const ClusterSnapshot> v = view_.Snapshot();
  for (int i = 0; i < 200; ++i) {
    const std::string k = "k" + std::to_string(i);
    const ClusterSnapshot::Place p = v->PlaceOf(k, nullptr, &owner);
    if (v->ring->OwnerOfKey(k) == "a") {
      EXPECT_EQ(p, ClusterSnapshot::Place::kHere) << k;
    } else {
      ASSERT_EQ(p, ClusterSnapshot::Place::kOwner) << k;
      EXPECT_EQ(v->grpc_addrs[owner], "b:grpc");
    }
  }
}

TEST_F(ClusterViewTest, HeldArcsAreServedHereWhateverTheMapSays) {
  ASSERT_TRUE(view_.SetMap(TwoNodeMap(2)).ok());
  std::shared_ptr<const ClusterSnapshot> v = view_.Snapshot();
  const ring::Arc whole{0, 0};
  const HeldArcs held{ring::HashKind::kXxh3, ring::ArcSet(std::span(&whole, 1))};
  for (int i = 0; i < 50; ++i) {
    const std::string k = "k" + std::to_string(i);
    uint32_t owner = 0;
    EXPECT_EQ(v->PlaceOf(k, &held, &owner), ClusterSnapshot::Place::kHere) << k;
    EXPECT_EQ(view_.FastHere(k), v->ring->OwnerOfKey(k) == "a") << k;  // the map alone
  }
}

TEST_F(ClusterViewTest, ModeFollowsTheMapTheRolesAndTheWait) {
  EXPECT_EQ(view_.mode(), 0u);
  view_.AwaitMap("joining through x:1");
  EXPECT_EQ(view_.mode(), ClusterView::kAwait);
  EXPECT_EQ(view_.await_reason(), "joining through x:1");
  ASSERT_EQ(*view_.SetMap(TwoNodeMap(3), "router:1"), 3u);
  EXPECT_EQ(view_.mode(), ClusterView::kFence);
  EXPECT_EQ(view_.registry(), "router:1");
  EXPECT_EQ(counters_.epoch.load(), 3u);
  // Older maps are ignored, a bad one is an error; the registry is kept either way.
  EXPECT_EQ(*view_.SetMap(TwoNodeMap(2), "router:2"), 3u);
  EXPECT_EQ(view_.registry(), "router:2");
  EXPECT_FALSE(view_.SetMap("{").ok());
  view_.SetRolesHeld(true);
  EXPECT_EQ(view_.mode(), ClusterView::kFence | ClusterView::kRoles);
  view_.SetRolesHeld(false);
  EXPECT_EQ(view_.mode(), ClusterView::kFence);
}

}  // namespace
}  // namespace ringkv::node
