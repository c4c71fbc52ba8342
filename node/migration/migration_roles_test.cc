#include "node/migration/migration_roles.h"

#include <gtest/gtest.h>

#include <memory>
#include <optional>
#include <string>

#include "base/clock.h"
#include "base/hlc.h"
#include "node/view/cluster_view.h"
#include "store/memory_engine.h"

namespace ringkv::node {
namespace {

// No peer answers: these tests never call one.
class NoPeers final : public PeerLink {
 public:
  StatusOr<std::vector<WireEntry>> Fetch(const std::string&, const std::string&,
                                         std::span<const std::string_view>) override {
    return Unavailable("no peers in this test");
  }
  Status Apply(const std::string&, const std::string&, uint64_t,
               std::span<const WireEntry>) override {
    return Unavailable("no peers in this test");
  }
};

// One node's engine, cluster view and migration roles, without a dispatcher.
struct RolesNode {
  RolesNode(FakeClock& clock, PeerLink& link)
      : hlc(clock),
        view(clock, counters, id),
        migration(view, *engine, clock, hlc, counters, link) {
    hlc.set_refusal_hook([this, &clock](uint64_t) {
      counters.refused.Count(Refusal::kClockDrift, "version too new", clock.NowMs());
    });
  }

  std::string id = "b";
  std::unique_ptr<store::Engine> engine = store::NewMemoryEngine({});
  HybridClock hlc;
  ClusterCounters counters;
  ClusterView view;
  MigrationRoles migration;
};

const ring::Arc kWholeRing{0, 0};

class MigrationRolesTest : public ::testing::Test {
 protected:
  // b imports the whole ring from a.
  void BeginWholeRing() {
    MigrationPlan plan;
    plan.id = "m1";
    plan.epoch = 2;
    plan.roles.push_back(MigrationRole{MigrationRole::Kind::kImport, "a", "a:grpc", {kWholeRing}});
    ASSERT_TRUE(b_.migration.Begin(std::move(plan)).ok());
  }

  FakeClock clock_;
  NoPeers link_;
  RolesNode b_{clock_, link_};
};

TEST_F(MigrationRolesTest, RolesAreHeldFromBeginToEnd) {
  EXPECT_EQ(b_.view.mode(), 0u);
  BeginWholeRing();
  EXPECT_EQ(b_.view.mode(), ClusterView::kRoles);
  EXPECT_EQ(b_.migration.migration_id(), "m1");
  EXPECT_EQ(b_.counters.active.load(), 1u);
  b_.migration.End("m1", false, 0);
  EXPECT_EQ(b_.view.mode(), 0u);
  EXPECT_EQ(b_.migration.migration_id(), "");
  EXPECT_EQ(b_.counters.active.load(), 0u);
}

TEST_F(MigrationRolesTest, InstallKeepsTheNewerAndDropsExpiredArrivals) {
  BeginWholeRing();
  const int64_t now = clock_.NowMs();
  MigrationRoles::Tally t;
  ASSERT_TRUE(b_.migration.Install("k", "v10", 10, 0, false, now, t).ok());
  ASSERT_TRUE(b_.migration.Install("k", "v5", 5, 0, false, now, t).ok());
  ASSERT_TRUE(b_.migration.Install("k", "v10b", 10, 0, false, now, t).ok());
  ASSERT_TRUE(b_.migration.Install("e", "gone", 20, now - 1, false, now, t).ok());
  EXPECT_EQ(t.applied, 1u);
  EXPECT_EQ(t.skipped, 3u);
  EXPECT_EQ(b_.engine->Get("k", now)->value, "v10");
  EXPECT_FALSE(b_.engine->Get("e", now));
  ASSERT_TRUE(b_.migration.Install("k", "", 11, 0, true, now, t).ok());
  EXPECT_FALSE(b_.engine->Get("k", now));
  ASSERT_TRUE(b_.migration.Install("k", "v", 11, 0, false, now, t).ok());
  EXPECT_FALSE(b_.engine->Get("k", now));  // not newer than the tombstone
  // Later local writes order after what was observed.
  EXPECT_GT(b_.hlc.Next(), 11u);
}

TEST_F(MigrationRolesTest, ArrivalsForAnotherMigrationAreRefused) {
  BeginWholeRing();
  Status s = b_.migration.CheckId("m0");
  EXPECT_EQ(s.code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(s.message().find("'m1'"), std::string::npos) << s.message();
}

TEST_F(MigrationRolesTest, ApplyAndFetchOfARecentlyEndedMigrationAreAccepted) {
  BeginWholeRing();
  b_.migration.End("m1", false, 0);
  // A peer that has not ended yet may still write through to this node.
  EXPECT_TRUE(b_.migration.CheckIdOrRecent("m1").ok());
  EXPECT_EQ(b_.migration.CheckId("m1").code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(b_.migration.CheckIdOrRecent("m9").code(), StatusCode::kFailedPrecondition);
}

// Nodes a, b, c (b in `state_b`), replication 2.
std::string ReplicatedMap(uint64_t epoch, const std::string& state_b) {
  return R"({"epoch": )" + std::to_string(epoch) +
         R"(, "vnodes": 16, "hash": "xxh3", "replication": 2, "nodes": [
      {"id": "a", "addr": "a:1", "grpc_addr": "a:grpc", "kind": "ringkv", "weight": 1, "state": "active"},
      {"id": "b", "addr": "b:1", "grpc_addr": "b:grpc", "kind": "ringkv", "weight": 1, "state": ")" +
         state_b + R"("},
      {"id": "c", "addr": "c:1", "grpc_addr": "c:grpc", "kind": "ringkv", "weight": 1, "state": "active"}]})";
}

class ReplicaMoveRolesTest : public MigrationRolesTest {
 protected:
  // b exports the whole ring to c while replica sets move from `from`.
  void BeginReplicaMove(const std::string& from_json, bool switched = false) {
    MigrationPlan plan;
    plan.id = "m1";
    plan.epoch = 5;
    plan.roles.push_back(MigrationRole{MigrationRole::Kind::kExport, "c", "c:grpc", {kWholeRing}});
    auto from = cluster::ClusterMapFromJson(from_json);
    ASSERT_TRUE(from.ok());
    plan.from_map = std::make_shared<const cluster::ClusterMap>(*from);
    plan.switched = switched;
    ASSERT_TRUE(b_.migration.Begin(std::move(plan)).ok());
  }
  // Waits for the drops End scheduled: a new migration finishes them first.
  void FinishDrops() {
    MigrationPlan next;
    next.id = "m2";
    ASSERT_TRUE(b_.migration.Begin(std::move(next)).ok());
  }
  void Put(const std::string& key) {
    MigrationRoles::Tally t;
    ASSERT_TRUE(b_.migration.Install(key, "v", 10, 0, false, clock_.NowMs(), t).ok());
  }
};

TEST_F(ReplicaMoveRolesTest, TheReplicaCoordinatorServesNotTheRoles) {
  BeginReplicaMove(ReplicatedMap(4, "active"), /*switched=*/true);
  EXPECT_EQ(b_.view.mode(), ClusterView::kFence | ClusterView::kReplicas | ClusterView::kTombstones);
  std::shared_ptr<const ClusterSnapshot> v = b_.view.Snapshot();
  EXPECT_EQ(v->epoch, 4u);
  ASSERT_NE(v->move, nullptr);
  EXPECT_TRUE(v->move->reads_new);
  EXPECT_TRUE(b_.migration.Roles()->replicas);
  b_.migration.End("m1", false, 0);
  EXPECT_EQ(b_.view.Snapshot()->move, nullptr);
}

TEST_F(ReplicaMoveRolesTest, ArrivalsKeepTheirTombstonesInTheStore) {
  BeginReplicaMove(ReplicatedMap(4, "active"));
  const int64_t now = clock_.NowMs();
  MigrationRoles::Tally t;
  ASSERT_TRUE(b_.migration.Install("k", "", 12, 0, true, now, t).ok());
  ASSERT_TRUE(b_.migration.Install("k", "old", 11, 0, false, now, t).ok());
  EXPECT_EQ(t.applied, 1u);
  EXPECT_EQ(t.skipped, 1u);
  std::optional<store::VersionedEntry> e = b_.engine->Peek("k", now);
  ASSERT_TRUE(e.has_value());
  EXPECT_TRUE(e->tombstone);
  EXPECT_EQ(e->entry.version, 12u);
}

TEST_F(ReplicaMoveRolesTest, EndDropsKeysAndTombstonesTheMapNoLongerPlacesHere) {
  BeginReplicaMove(ReplicatedMap(4, "active"));
  for (int i = 0; i < 60; ++i) Put("k" + std::to_string(i));
  MigrationRoles::Tally t;
  ASSERT_TRUE(b_.migration.Install("dead", "", 12, 0, true, clock_.NowMs(), t).ok());
  // The settled map: three nodes at replication 2, so b replicates about
  // two thirds of the keys.
  ASSERT_TRUE(b_.view.SetMap(ReplicatedMap(6, "active")).ok());
  b_.migration.End("m1", false, 0);
  FinishDrops();
  std::shared_ptr<const ClusterSnapshot> v = b_.view.Snapshot();
  int kept = 0;
  for (int i = 0; i < 60; ++i) {
    const std::string k = "k" + std::to_string(i);
    EXPECT_EQ(b_.engine->Get(k, clock_.NowMs()).has_value(), v->OwnsByMap(k)) << k;
    kept += v->OwnsByMap(k) ? 1 : 0;
  }
  EXPECT_GT(kept, 0);
  EXPECT_LT(kept, 60);
  EXPECT_EQ(b_.engine->Peek("dead", clock_.NowMs()).has_value(), v->OwnsByMap("dead"));
}

TEST_F(ReplicaMoveRolesTest, ALeavingNodeDropsEverything) {
  BeginReplicaMove(ReplicatedMap(4, "active"));
  for (int i = 0; i < 20; ++i) Put("k" + std::to_string(i));
  ASSERT_TRUE(b_.view.SetMap(ReplicatedMap(6, "leaving")).ok());
  b_.migration.End("m1", false, 0);
  FinishDrops();
  EXPECT_EQ(b_.engine->Stats().keys, 0u);
}

}  // namespace
}  // namespace ringkv::node

namespace ringkv::node {
namespace {

TEST_F(MigrationRolesTest, RefusesArrivalsOutsideTheArcsOfTheMigration) {
  const int64_t now = clock_.NowMs();
  MigrationRoles::Tally t;
  // No migration and no map: nothing may be installed.
  Status none = b_.migration.Install("k", "v", 10, 0, false, now, t);
  EXPECT_EQ(none.code(), StatusCode::kPermissionDenied);
  // A migration of half the ring: keys of the other half are refused.
  const uint64_t half = uint64_t{1} << 63;
  MigrationPlan plan;
  plan.id = "m1";
  plan.roles.push_back(MigrationRole{MigrationRole::Kind::kImport, "a", "a:grpc", {{0, half}}});
  ASSERT_TRUE(b_.migration.Begin(std::move(plan)).ok());
  int in = 0, out = 0;
  for (int i = 0; i < 64; ++i) {
    const std::string key = "k" + std::to_string(i);
    const uint64_t pos = ring::HashKey(ring::HashKind::kXxh3, key);
    Status s = b_.migration.Install(key, "v", 10, 0, false, now, t);
    if (pos > 0 && pos <= half) {
      EXPECT_TRUE(s.ok()) << key << ": " << s.message();
      ++in;
    } else {
      EXPECT_EQ(s.code(), StatusCode::kPermissionDenied) << key;
      EXPECT_FALSE(b_.engine->Get(key, now).has_value()) << key;
      ++out;
    }
  }
  EXPECT_GT(in, 0);
  EXPECT_GT(out, 0);
  EXPECT_EQ(b_.counters.refused.count(Refusal::kOutsideArcs), static_cast<uint64_t>(out) + 1);
  // After End the ended migration's arcs still take late write-throughs.
  b_.migration.End("m1", false, 60000);
  for (int i = 0; i < 64; ++i) {
    const std::string key = "k" + std::to_string(i);
    const uint64_t pos = ring::HashKey(ring::HashKind::kXxh3, key);
    if (pos > 0 && pos <= half) {
      EXPECT_TRUE(b_.migration.Install(key, "v2", 11, 0, false, now, t).ok()) << key;
      break;
    }
  }
}

TEST_F(MigrationRolesTest, RefusesVersionsBeyondTheClockDrift) {
  BeginWholeRing();
  const int64_t now = clock_.NowMs();
  MigrationRoles::Tally t;
  const uint64_t ahead = static_cast<uint64_t>(now + 61'000) << 16;
  Status s = b_.migration.Install("k", "future", ahead, 0, false, now, t);
  EXPECT_EQ(s.code(), StatusCode::kOutOfRange);
  EXPECT_NE(s.message().find("max_clock_drift"), std::string::npos) << s.message();
  EXPECT_EQ(b_.migration.Install("k", "max", UINT64_MAX, 0, false, now, t).code(),
            StatusCode::kOutOfRange);
  EXPECT_FALSE(b_.engine->Get("k", now).has_value());
  EXPECT_EQ(b_.counters.refused.count(Refusal::kClockDrift), 2u);
  EXPECT_LT(HybridClock::PhysicalMs(b_.hlc.Next()), now + 1000);  // the clock did not move
  const uint64_t near = static_cast<uint64_t>(now + 59'000) << 16;
  EXPECT_TRUE(b_.migration.Install("k", "soon", near, 0, false, now, t).ok());
}

}  // namespace
}  // namespace ringkv::node
