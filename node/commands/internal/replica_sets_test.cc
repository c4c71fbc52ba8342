#include "node/commands/internal/replica_sets.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "base/clock.h"

namespace ringkv::node::internal {
namespace {

// Nodes a, b, c (and d when `with_d`), replication 3; a is down when `a_down`.
std::string Map(uint64_t epoch, bool with_d, bool a_down = false) {
  auto node = [](const std::string& id, const std::string& state) {
    return R"({"id": ")" + id + R"(", "addr": ")" + id + R"(:1", "grpc_addr": ")" + id +
           R"(:2", "kind": "ringkv", "weight": 1, "state": ")" + state + R"("})";
  };
  std::string json = R"({"epoch": )" + std::to_string(epoch) +
                     R"(, "vnodes": 8, "hash": "xxh3", "replication": 3, "nodes": [)" +
                     node("a", a_down ? "down" : "active") + "," + node("b", "active") + "," +
                     node("c", "active");
  if (with_d) json += "," + node("d", "joining");
  return json + "]}";
}

std::vector<std::string> Ids(const ClusterSnapshot& v, const KeyPlan& p, uint8_t set) {
  std::vector<std::string> out;
  for (uint32_t i = 0; i < p.n; ++i) {
    if (p.sets[i] & set) out.push_back(v.NodeId(p.replicas[i]));
  }
  return out;
}

class ReplicaSetsTest : public ::testing::Test {
 protected:
  std::shared_ptr<const cluster::ClusterMap> From(bool a_down = false) {
    auto map = cluster::ClusterMapFromJson(Map(3, false, a_down));
    EXPECT_TRUE(map.ok());
    return std::make_shared<const cluster::ClusterMap>(*map);
  }

  FakeClock clock_{1};
  ClusterCounters counters_;
  std::string id_ = "d";
  ClusterView view_{clock_, counters_, id_};
};

TEST_F(ReplicaSetsTest, WithoutAMoveEveryReplicaIsInBothSets) {
  ASSERT_TRUE(view_.SetMap(Map(4, true)).ok());
  std::shared_ptr<const ClusterSnapshot> v = view_.Snapshot();
  for (int i = 0; i < 50; ++i) {
    const std::string k = "k" + std::to_string(i);
    const KeyPlan p = PlanKey(*v, k);
    ASSERT_EQ(p.n, 3u);
    EXPECT_EQ(p.n_old, 3u);
    EXPECT_EQ(p.read_set, kNewSet);
    for (uint32_t r = 0; r < p.n; ++r) EXPECT_EQ(p.sets[r], kBothSets);
    std::vector<uint32_t> list = v->ring->PreferenceList(v->ring->KeyPosition(k), 3);
    EXPECT_TRUE(std::equal(list.begin(), list.end(), p.replicas.begin())) << k;
    EXPECT_EQ(p.here, std::count(list.begin(), list.end(), v->self) == 1) << k;
  }
}

TEST_F(ReplicaSetsTest, WhileSetsMoveTheUnionPutsTheReadSetFirst) {
  view_.SetReplicaMove(From(), /*reads_new=*/false);
  ASSERT_TRUE(view_.SetMap(Map(4, true)).ok());
  std::shared_ptr<const ClusterSnapshot> v = view_.Snapshot();
  int gained = 0;
  for (int i = 0; i < 100; ++i) {
    const std::string k = "k" + std::to_string(i);
    const KeyPlan p = PlanKey(*v, k);
    EXPECT_EQ(p.read_set, kOldSet);
    EXPECT_EQ(p.n_old, 3u);  // a, b, c
    EXPECT_EQ(p.n_new, 3u);
    std::vector<std::string> old_ids = Ids(*v, p, kOldSet);
    std::sort(old_ids.begin(), old_ids.end());
    EXPECT_EQ(old_ids, (std::vector<std::string>{"a", "b", "c"}));
    EXPECT_EQ(Ids(*v, p, kNewSet).size(), 3u);
    for (uint32_t r = 0; r < p.n_old; ++r) EXPECT_TRUE(p.sets[r] & kOldSet) << k;
    EXPECT_EQ(p.n, p.here ? 4u : 3u) << k;  // d, when gained, comes after the old set
    if (p.here) {
      ++gained;
      EXPECT_EQ(p.sets[3], kNewSet);
      EXPECT_EQ(v->NodeId(p.replicas[3]), "d");
    }
  }
  EXPECT_GT(gained, 0);

  view_.SetReplicaMove(From(), /*reads_new=*/true);
  v = view_.Snapshot();
  for (int i = 0; i < 100; ++i) {
    const KeyPlan p = PlanKey(*v, "k" + std::to_string(i));
    EXPECT_EQ(p.read_set, kNewSet);
    for (uint32_t r = 0; r < p.n_new; ++r) EXPECT_TRUE(p.sets[r] & kNewSet);
  }
}

TEST_F(ReplicaSetsTest, TheCoordinatorIsTheFirstLiveReplicaOfTheUnion) {
  view_.SetReplicaMove(From(/*a_down=*/true), /*reads_new=*/false);
  ASSERT_TRUE(view_.SetMap(Map(4, true, /*a_down=*/true)).ok());
  std::shared_ptr<const ClusterSnapshot> v = view_.Snapshot();
  const uint32_t a = v->ring->IndexOf("a");
  int skipped = 0;
  for (int i = 0; i < 100; ++i) {
    const KeyPlan p = PlanKey(*v, "k" + std::to_string(i));
    const uint32_t c = Coordinator(*v, nullptr, p);
    EXPECT_NE(c, a);
    EXPECT_EQ(c, p.replicas[p.replicas[0] == a ? 1 : 0]);
    skipped += p.replicas[0] == a ? 1 : 0;
  }
  EXPECT_GT(skipped, 0);
}

TEST_F(ReplicaSetsTest, ReplicaWritesAreAllowedWhereTheMapPlacesTheKey) {
  ASSERT_TRUE(view_.SetMap(Map(4, true)).ok());
  std::shared_ptr<const ClusterSnapshot> v = view_.Snapshot();
  int here = 0;
  for (int i = 0; i < 100; ++i) {
    const std::string k = "k" + std::to_string(i);
    EXPECT_EQ(ReplicaWriteAllowed(*v, nullptr, k), PlanKey(*v, k).here) << k;
    here += PlanKey(*v, k).here ? 1 : 0;
  }
  EXPECT_GT(here, 0);
  EXPECT_LT(here, 100);  // replication 3 of 4 nodes: d holds about three quarters
}

TEST_F(ReplicaSetsTest, WhileSetsMoveTheOldRingAllowsReplicaWritesToo) {
  view_.SetReplicaMove(From(), /*reads_new=*/true);
  ASSERT_TRUE(view_.SetMap(Map(4, true)).ok());
  std::shared_ptr<const ClusterSnapshot> v = view_.Snapshot();
  for (int i = 0; i < 100; ++i) {
    const std::string k = "k" + std::to_string(i);
    EXPECT_EQ(ReplicaWriteAllowed(*v, nullptr, k), PlanKey(*v, k).here) << k;
  }
}

TEST_F(ReplicaSetsTest, WithoutAMapOnlyAMigrationsArcsAllowReplicaWrites) {
  std::shared_ptr<const ClusterSnapshot> v = view_.Snapshot();
  const uint64_t pos = ring::HashKey(ring::HashKind::kXxh3, "inside");
  ASSERT_GT(pos, 0u);
  MigrationRole role;
  role.kind = MigrationRole::Kind::kImport;
  role.peer_id = "a";
  role.arcs = {ring::Arc{pos - 1, pos}};
  const RoleSnapshot roles(MigrationPlan{.id = "m1", .epoch = 2, .roles = {role}});
  EXPECT_TRUE(ReplicaWriteAllowed(*v, &roles, "inside"));
  EXPECT_FALSE(ReplicaWriteAllowed(*v, &roles, "outside"));
  EXPECT_FALSE(ReplicaWriteAllowed(*v, nullptr, "inside"));
  const RoleSnapshot none;
  EXPECT_FALSE(ReplicaWriteAllowed(*v, &none, "inside"));
}

}  // namespace
}  // namespace ringkv::node::internal
