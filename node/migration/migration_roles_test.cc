#include "node/migration/migration_roles.h"

#include <gtest/gtest.h>

#include <memory>
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
        migration(view, *engine, clock, hlc, counters, link) {}

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

}  // namespace
}  // namespace ringkv::node
