#include "node/view/cluster_view.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <memory>
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

TEST_F(ClusterViewTest, RefusesAMapTooFarAheadAndKeepsTheOneHeld) {
  ASSERT_TRUE(view_.SetMap(TwoNodeMap(2)).ok());
  StatusOr<uint64_t> far = view_.SetMap(TwoNodeMap(uint64_t{1} << 62));
  EXPECT_EQ(far.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(view_.epoch(), 2u);
  EXPECT_EQ(counters_.refused.count(Refusal::kEpochStep), 1u);
  StatusOr<uint64_t> next = view_.SetMap(TwoNodeMap(2 + ClusterView::kDefaultMaxEpochStep));
  ASSERT_TRUE(next.ok());
  EXPECT_EQ(*next, 2 + ClusterView::kDefaultMaxEpochStep);
}

TEST_F(ClusterViewTest, APushNamingNoRegistryIsRefusedOnceOneIsKnown) {
  ASSERT_TRUE(view_.SetMap(TwoNodeMap(2), "", ClusterView::MapFrom::kPush).ok());  // none known
  ASSERT_TRUE(view_.SetMap(TwoNodeMap(3), "router:1", ClusterView::MapFrom::kPush).ok());
  StatusOr<uint64_t> anon = view_.SetMap(TwoNodeMap(4), "", ClusterView::MapFrom::kPush);
  EXPECT_EQ(anon.status().code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(view_.epoch(), 3u);
  EXPECT_EQ(counters_.refused.count(Refusal::kMapSource), 1u);
  // A map a peer relays names no registry; the step bounds it.
  EXPECT_EQ(*view_.SetMap(TwoNodeMap(4)), 4u);
  // A router restarted elsewhere names its new address.
  EXPECT_EQ(*view_.SetMap(TwoNodeMap(5), "router:2", ClusterView::MapFrom::kPush), 5u);
  EXPECT_EQ(view_.registry(), "router:2");
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

// Nodes a and b active and c in `state_c` (no c when empty), replication 2.
std::shared_ptr<const cluster::ClusterMap> ThreeNodeMap(uint64_t epoch, std::string state_c) {
  std::string json = R"({"epoch": )" + std::to_string(epoch) +
                     R"(, "vnodes": 16, "hash": "xxh3", "replication": 2, "nodes": [
      {"id": "a", "addr": "10.0.0.1:6380", "grpc_addr": "a:grpc", "kind": "ringkv", "weight": 1, "state": "active"},
      {"id": "b", "addr": "10.0.0.2:6380", "grpc_addr": "b:grpc", "kind": "ringkv", "weight": 1, "state": "active"})";
  if (!state_c.empty()) {
    json +=
        R"(, {"id": "c", "addr": "10.0.0.3:6380", "grpc_addr": "c:grpc", "kind": "ringkv", "weight": 1, "state": ")" +
        state_c + R"("})";
  }
  json += "]}";
  auto map = cluster::ClusterMapFromJson(json);
  EXPECT_TRUE(map.ok()) << map.status().ToString();
  return std::make_shared<const cluster::ClusterMap>(*map);
}

TEST(ReplicaMoveViewTest, ANodeWithoutAMapTakesTheOldOneAndLearnsTheNewRingAfter) {
  FakeClock clock{1};
  ClusterCounters counters;
  std::string id = "c";
  ClusterView view{clock, counters, id};
  auto from = ThreeNodeMap(4, "");
  view.SetReplicaMove(from, false);
  std::shared_ptr<const ClusterSnapshot> v = view.Snapshot();
  EXPECT_EQ(v->epoch, 4u);  // the old map, so it forwards instead of owning every key
  EXPECT_EQ(v->self, ring::kNoNode);
  EXPECT_TRUE(view.mode() & ClusterView::kReplicas);
  ASSERT_NE(v->move, nullptr);
  ASSERT_TRUE(view.SetMap(cluster::ToJson(*ThreeNodeMap(5, "joining"))).ok());
  v = view.Snapshot();
  ASSERT_NE(v->move, nullptr);  // kept across maps
  EXPECT_EQ(v->self, v->ring->IndexOf("c"));
  EXPECT_TRUE(v->old_only_ids.empty());
  EXPECT_FALSE(v->move->reads_new);
  // With 3 nodes at replication 2 c replicates some keys it did not before.
  int gained = 0;
  for (int i = 0; i < 100; ++i) {
    const std::string k = "k" + std::to_string(i);
    std::array<uint32_t, ring::kMaxReplication> old_list{};
    const size_t n = v->move->ReplicasOf(k, old_list);
    EXPECT_EQ(n, 2u);
    EXPECT_EQ(std::count(old_list.begin(), old_list.begin() + n, v->self), 0) << k;
    gained += v->OwnsByMap(k) ? 1 : 0;
  }
  EXPECT_GT(gained, 0);
  view.ClearReplicaMove();
  EXPECT_EQ(view.Snapshot()->move, nullptr);
}

TEST(ReplicaMoveViewTest, ALeavingNodeKeepsItsPlaceInTheNodeTableThroughTheOldRing) {
  FakeClock clock{1};
  ClusterCounters counters;
  std::string id = "c";
  ClusterView view{clock, counters, id};
  ASSERT_TRUE(view.SetMap(cluster::ToJson(*ThreeNodeMap(4, "active"))).ok());
  view.SetReplicaMove(ThreeNodeMap(4, "active"), true);
  ASSERT_TRUE(view.SetMap(cluster::ToJson(*ThreeNodeMap(5, "leaving"))).ok());
  std::shared_ptr<const ClusterSnapshot> v = view.Snapshot();
  ASSERT_NE(v->move, nullptr);
  EXPECT_TRUE(v->move->reads_new);
  EXPECT_EQ(v->ring->size(), 2u);
  ASSERT_EQ(v->old_only_ids, std::vector<std::string>{"c"});
  EXPECT_EQ(v->self, 2u);  // past the ring's nodes
  EXPECT_EQ(v->NodeId(v->self), "c");
  EXPECT_EQ(v->grpc_addrs[v->self], "c:grpc");
  EXPECT_EQ(v->addrs.size(), 3u);
  EXPECT_EQ(v->down.size(), 3u);
  // It still replicates its old keys while the move lasts, and nothing after.
  int held = 0;
  for (int i = 0; i < 100; ++i) held += v->OwnsByMap("k" + std::to_string(i)) ? 1 : 0;
  EXPECT_GT(held, 0);
  view.ClearReplicaMove();
  v = view.Snapshot();
  EXPECT_EQ(v->self, ring::kNoNode);
  for (int i = 0; i < 100; ++i) EXPECT_FALSE(v->OwnsByMap("k" + std::to_string(i)));
}

}  // namespace
}  // namespace ringkv::node
