// MapOwner over a file map store in a temporary directory (and a store that
// fails on demand): open, apply, persist, publish, and the hooks' order.
#include "router/map/map_owner.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <string>
#include <vector>

#include "cluster/map_store.h"
#include "cluster/membership.h"

namespace ringkv::router {
namespace {

using cluster::ClusterMap;
using cluster::NodeInfo;
using cluster::NodeState;

NodeInfo Node(const std::string& id, int port) {
  NodeInfo n;
  n.id = id;
  n.addr = "127.0.0.1:" + std::to_string(port);
  return n;
}

StatusOr<ClusterMap> AddNodeN(const ClusterMap& m, int i) {
  return cluster::AddNode(m, Node("n" + std::to_string(i), 7000 + i));
}

// Keeps the saved map in memory; Save fails while `fail_saves` is set.
class MemoryMapStore final : public cluster::MapStore {
 public:
  explicit MemoryMapStore(bool* fail_saves) : fail_saves_(fail_saves) {}
  StatusOr<std::optional<ClusterMap>> Load() override { return saved_; }
  Status Save(const ClusterMap& map) override {
    if (*fail_saves_) return Unavailable("disk full");
    saved_ = map;
    return OkStatus();
  }

 private:
  bool* fail_saves_;
  std::optional<ClusterMap> saved_;
};

class MapOwnerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = ::testing::TempDir() + "map_owner_test_XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    defaults_.epoch = 1;
    defaults_.vnodes = 16;
    defaults_.nodes = {Node("n0", 7000)};
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::unique_ptr<MapOwner> Open() {
    auto owner = MapOwner::Open(cluster::NewFileMapStore(dir_), defaults_);
    EXPECT_TRUE(owner.ok()) << owner.status().ToString();
    return owner.ok() ? std::move(*owner) : nullptr;
  }

  // The published table routes by `map`.
  static void ExpectTableOf(const MapOwner& owner, const ClusterMap& map) {
    RouteTablePtr t = owner.Current();
    ASSERT_NE(t, nullptr);
    EXPECT_EQ(t->epoch, map.epoch);
    EXPECT_EQ(t->in_service, map.InService());
    ASSERT_EQ(t->backends.size(), map.InService());
    for (const Backend& b : t->backends) {
      ASSERT_LT(b.map_index, map.nodes.size());
      EXPECT_EQ(map.nodes[b.map_index].id, b.id);
      EXPECT_EQ(map.nodes[b.map_index].addr, b.addr);
    }
    auto ring = cluster::BuildRing(map);
    ASSERT_TRUE(ring.ok());
    for (int i = 0; i < 200; ++i) {
      std::string key = "key" + std::to_string(i);
      EXPECT_EQ(t->Route(key)->id, (*ring)->OwnerOfKey(key)) << key;
    }
  }

  std::string dir_;
  ClusterMap defaults_;
};

TEST_F(MapOwnerTest, OpensAnEmptyStoreWithTheDefaults) {
  auto owner = Open();
  ASSERT_NE(owner, nullptr);
  EXPECT_EQ(owner->Map(), defaults_);
  ExpectTableOf(*owner, defaults_);
  // Nothing is written until the first change.
  EXPECT_FALSE(std::filesystem::exists(std::filesystem::path(dir_) / "cluster-map.json"));
}

TEST_F(MapOwnerTest, ApplyIncrementsTheEpochPublishesAndPersists) {
  auto owner = Open();
  ASSERT_NE(owner, nullptr);
  auto after = owner->Apply([](const ClusterMap& m) { return AddNodeN(m, 1); });
  ASSERT_TRUE(after.ok()) << after.status().ToString();
  EXPECT_EQ(after->epoch, 2u);
  ASSERT_EQ(after->nodes.size(), 2u);
  EXPECT_EQ(owner->Map(), *after);
  ExpectTableOf(*owner, *after);

  owner.reset();
  defaults_.nodes.clear();  // the saved map wins over the defaults
  auto reopened = Open();
  ASSERT_NE(reopened, nullptr);
  EXPECT_EQ(reopened->Map(), *after);
  ExpectTableOf(*reopened, *after);
}

TEST_F(MapOwnerTest, AFailedChangeLeavesTheMapAsItWas) {
  auto owner = Open();
  ASSERT_NE(owner, nullptr);
  ASSERT_TRUE(owner->Apply([](const ClusterMap& m) { return AddNodeN(m, 1); }).ok());
  ClusterMap before = owner->Map();
  RouteTablePtr table = owner->Current();

  auto refused = owner->Apply([](const ClusterMap& m) -> StatusOr<ClusterMap> {
    return cluster::RemoveNode(m, "no-such-node");
  });
  EXPECT_EQ(refused.status().code(), StatusCode::kNotFound);
  // A map no route table can be built from is refused before it is saved.
  auto unroutable = owner->Apply([](const ClusterMap& m) -> StatusOr<ClusterMap> {
    ClusterMap next = m;
    next.epoch++;
    next.nodes[1].addr = "not-an-address";
    return next;
  });
  EXPECT_EQ(unroutable.status().code(), StatusCode::kInvalidArgument);

  EXPECT_EQ(owner->Map(), before);
  EXPECT_EQ(owner->Current(), table);
  owner.reset();
  auto reopened = Open();
  ASSERT_NE(reopened, nullptr);
  EXPECT_EQ(reopened->Map(), before);
}

TEST(MapOwnerStoreTest, AFailedSaveChangesNothing) {
  bool fail_saves = false;
  ClusterMap defaults;
  defaults.vnodes = 16;
  defaults.nodes = {Node("n0", 7000)};
  auto owner = MapOwner::Open(std::make_unique<MemoryMapStore>(&fail_saves), defaults);
  ASSERT_TRUE(owner.ok()) << owner.status().ToString();
  int hooks = 0;
  (*owner)->set_pre_publish([&](const ClusterMap&) { ++hooks; });
  (*owner)->set_observer([&](const ClusterMap&, const ClusterMap&) { ++hooks; });

  fail_saves = true;
  auto r = (*owner)->Apply([](const ClusterMap& m) { return AddNodeN(m, 1); });
  EXPECT_EQ(r.status().code(), StatusCode::kUnavailable);
  EXPECT_EQ((*owner)->Map(), defaults);
  EXPECT_EQ((*owner)->Current()->epoch, defaults.epoch);
  EXPECT_EQ((*owner)->Current()->backends.size(), 1u);
  EXPECT_EQ(hooks, 0);

  fail_saves = false;
  ASSERT_TRUE((*owner)->Apply([](const ClusterMap& m) { return AddNodeN(m, 1); }).ok());
  EXPECT_EQ((*owner)->Current()->backends.size(), 2u);
  EXPECT_EQ(hooks, 2);
}

TEST_F(MapOwnerTest, PrePublishRunsBeforeTheTableChangesAndTheObserverAfter) {
  auto owner = Open();
  ASSERT_NE(owner, nullptr);
  std::vector<std::string> calls;
  owner->set_pre_publish([&](const ClusterMap& after) {
    // Persisted already, not yet routed by.
    calls.push_back("pre " + std::to_string(after.epoch) + " routing " +
                    std::to_string(owner->Current()->epoch));
  });
  owner->set_observer([&](const ClusterMap& before, const ClusterMap& after) {
    calls.push_back("observe " + std::to_string(before.epoch) + "->" + std::to_string(after.epoch) +
                    " routing " + std::to_string(owner->Current()->epoch));
  });
  ASSERT_TRUE(owner->Apply([](const ClusterMap& m) { return AddNodeN(m, 1); }).ok());
  ASSERT_TRUE(owner->Apply([](const ClusterMap& m) { return AddNodeN(m, 2); }).ok());
  EXPECT_EQ(calls, (std::vector<std::string>{"pre 2 routing 1", "observe 1->2 routing 2",
                                             "pre 3 routing 2", "observe 2->3 routing 3"}));

  // A change that keeps the epoch is not pushed to the nodes, but observed.
  calls.clear();
  ASSERT_TRUE(owner->Apply([](const ClusterMap& m) -> StatusOr<ClusterMap> { return m; }).ok());
  EXPECT_EQ(calls, (std::vector<std::string>{"observe 3->3 routing 3"}));
}

TEST_F(MapOwnerTest, MovesRideOnEveryTableUntilCleared) {
  auto owner = Open();
  ASSERT_NE(owner, nullptr);
  ClusterMap from = owner->Map();
  ASSERT_TRUE(owner->SetMovesFrom(from).ok());
  ASSERT_NE(owner->Current()->moves, nullptr);
  EXPECT_EQ(owner->Current()->moves->from_backends.size(), 1u);

  ASSERT_TRUE(owner->Apply([](const ClusterMap& m) { return AddNodeN(m, 1); }).ok());
  RouteTablePtr t = owner->Current();
  EXPECT_EQ(t->backends.size(), 2u);
  ASSERT_NE(t->moves, nullptr);
  EXPECT_EQ(t->moves->from_ring->size(), 1u);

  ASSERT_TRUE(owner->SetMovesFrom(std::nullopt).ok());
  EXPECT_EQ(owner->Current()->moves, nullptr);
  EXPECT_EQ(owner->Current()->epoch, 2u);
}

// Suspect flags follow a node into the next table (by id) until the health
// checker clears them; every change is checked with CheckReplication.
TEST_F(MapOwnerTest, SuspectsCarryOverAndReplicationIsChecked) {
  defaults_.replication = 2;
  defaults_.nodes = {Node("n0", 7000), Node("n1", 7001)};
  auto owner = Open();
  ASSERT_NE(owner, nullptr);
  uint32_t n1 = owner->Current()->ring->IndexOf("n1");
  owner->Current()->SetSuspect(n1, true);
  auto next = owner->Apply([](const ClusterMap& m) { return AddNodeN(m, 2); });
  ASSERT_TRUE(next.ok()) << next.status().ToString();
  RouteTablePtr t = owner->Current();
  EXPECT_FALSE(t->Live(t->ring->IndexOf("n1")));
  EXPECT_TRUE(t->Live(t->ring->IndexOf("n0")));
  EXPECT_TRUE(t->Live(t->ring->IndexOf("n2")));
  owner->ClearSuspect("n1");
  owner->ClearSuspect("nobody");
  EXPECT_TRUE(owner->Current()->Live(owner->Current()->ring->IndexOf("n1")));

  const uint64_t epoch = owner->Map().epoch;
  auto redis = owner->Apply([](const ClusterMap& m) {
    NodeInfo r = Node("r", 7100);
    r.kind = cluster::BackendKind::kRedis;
    return cluster::AddNode(m, r);
  });
  EXPECT_EQ(redis.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(redis.status().message().find("redis back end"), std::string::npos);
  EXPECT_EQ(owner->Map().epoch, epoch);
}
}  // namespace
}  // namespace ringkv::router
