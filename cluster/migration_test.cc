#include "cluster/migration.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>

#include "cluster/membership.h"
#include "ring/balance.h"

namespace ringkv::cluster {
namespace {

NodeInfo Ringkv(const std::string& id, int port) {
  NodeInfo n;
  n.id = id;
  n.addr = "127.0.0.1:" + std::to_string(port);
  n.http_addr = "127.0.0.1:" + std::to_string(port + 1000);
  n.grpc_addr = "127.0.0.1:" + std::to_string(port + 2000);
  return n;
}

ClusterMap ThreeNodes() {
  ClusterMap m;
  m.epoch = 7;
  m.vnodes = 32;
  m.nodes = {Ringkv("n0", 6000), Ringkv("n1", 6001), Ringkv("n2", 6002)};
  return m;
}

ClusterMap WithJoining(const ClusterMap& m) {
  NodeInfo n = Ringkv("n3", 6003);
  n.state = NodeState::kJoining;
  auto next = AddNode(m, n);
  EXPECT_TRUE(next.ok());
  return *next;
}

TEST(MigrationPlanTest, AddingANodeMovesArcsOnlyToIt) {
  ClusterMap from = ThreeNodes();
  ClusterMap to = WithJoining(from);
  auto m = PlanMigration(from, to, MigrationKind::kAdd, "m-1", "127.0.0.1:6003", 1000);
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_EQ(m->state, MigrationState::kPlanned);
  EXPECT_EQ(m->created_ms, 1000);
  ASSERT_FALSE(m->pairs.empty());
  EXPECT_LE(m->pairs.size(), 3u);
  double moving = 0;
  for (const MigrationPair& p : m->pairs) {
    EXPECT_EQ(p.target, "n3");
    EXPECT_EQ(p.target_grpc, "127.0.0.1:8003");
    EXPECT_EQ(p.source_grpc, "127.0.0.1:" + std::to_string(8000 + (p.source[1] - '0')));
    EXPECT_FALSE(p.done);
    EXPECT_FALSE(p.arcs.empty());
  }
  for (const MigrationSource& s : m->sources) {
    EXPECT_GT(s.moving_share, 0);
    EXPECT_LT(s.moving_share, s.owned_share);
    moving += s.moving_share;
  }
  auto ring = BuildRing(to);
  ASSERT_TRUE(ring.ok());
  uint32_t idx = (*ring)->IndexOf("n3");
  EXPECT_NEAR(moving, ring::BalanceFromArcs(**ring).share[idx], 1e-9);
  EXPECT_EQ(m->InvolvedNodes().size(), m->pairs.size() + 1);
  EXPECT_FALSE(m->InvolvesRedis());
  EXPECT_EQ(m->ArcsDone(), 0u);
  EXPECT_GT(m->ArcsTotal(), m->pairs.size());
}

TEST(MigrationPlanTest, RemovingANodeMovesArcsOnlyFromIt) {
  ClusterMap from = ThreeNodes();
  auto to = MarkLeaving(from, "n1");
  ASSERT_TRUE(to.ok());
  auto m = PlanMigration(from, *to, MigrationKind::kRemove, "m-2", "n1", 0);
  ASSERT_TRUE(m.ok());
  ASSERT_EQ(m->sources.size(), 1u);
  EXPECT_EQ(m->sources[0].id, "n1");
  EXPECT_NEAR(m->sources[0].moving_share, m->sources[0].owned_share, 1e-9);
  for (const MigrationPair& p : m->pairs) {
    EXPECT_EQ(p.source, "n1");
    EXPECT_NE(p.target, "n1");
  }
}

TEST(MigrationPlanTest, NothingMovesIntoAnEmptyClusterOrBetweenEqualRings) {
  ClusterMap empty;
  auto first = AddNode(empty, Ringkv("n0", 6000));
  ASSERT_TRUE(first.ok());
  auto m = PlanMigration(empty, *first, MigrationKind::kAdd, "m", "n0", 0);
  ASSERT_TRUE(m.ok());
  EXPECT_TRUE(m->pairs.empty());
  EXPECT_EQ(m->ArcsTotal(), 0u);

  ClusterMap a = ThreeNodes();
  ClusterMap b = a;
  b.epoch++;
  m = PlanMigration(a, b, MigrationKind::kVnodes, "m", "vnodes 32", 0);
  ASSERT_TRUE(m.ok());
  EXPECT_TRUE(m->pairs.empty());
}

TEST(MigrationPlanTest, VnodesChangeMovesBetweenExistingNodes) {
  ClusterMap from = ThreeNodes();
  auto to = SetVnodes(from, 64);
  ASSERT_TRUE(to.ok());
  auto m = PlanMigration(from, *to, MigrationKind::kVnodes, "m", "vnodes 64", 0);
  ASSERT_TRUE(m.ok());
  EXPECT_GT(m->pairs.size(), 3u);  // every node gives to and takes from the others
  EXPECT_EQ(m->sources.size(), 3u);
}

TEST(MigrationPlanTest, RedisBackEndsAreFlagged) {
  ClusterMap from = ThreeNodes();
  NodeInfo r;
  r.addr = r.id = "127.0.0.1:6379";
  r.kind = BackendKind::kRedis;
  auto to = AddNode(from, r);
  ASSERT_TRUE(to.ok());
  auto m = PlanMigration(from, *to, MigrationKind::kAdd, "m", r.addr, 0);
  ASSERT_TRUE(m.ok());
  EXPECT_TRUE(m->InvolvesRedis());
}

ClusterMap FiveNodes(uint32_t replication) {
  ClusterMap m;
  m.epoch = 3;
  m.vnodes = 16;
  m.replication = replication;
  for (int i = 0; i < 5; ++i) m.nodes.push_back(Ringkv("n" + std::to_string(i), 6000 + i));
  return m;
}

std::vector<std::string> ListAt(const ClusterMap& map, uint64_t pos) {
  auto ring = BuildRing(map);
  EXPECT_TRUE(ring.ok());
  std::vector<std::string> out;
  for (uint32_t i : (*ring)->PreferenceList(pos, map.replication)) {
    out.push_back((*ring)->nodes()[i].id);
  }
  return out;
}

bool Has(const std::vector<std::string>& ids, const std::string& id) {
  return std::find(ids.begin(), ids.end(), id) != ids.end();
}

// At sampled positions: every node the position's preference list gains
// receives it from every old replica that is not down, and from nobody else.
void ExpectEveryGainedReplicaHasItsSources(const Migration& m) {
  std::mt19937_64 rng(42);
  for (int sample = 0; sample < 2000; ++sample) {
    const uint64_t pos = rng();
    const std::vector<std::string> before = ListAt(m.from_map, pos);
    const std::vector<std::string> after = ListAt(m.to_map, pos);
    std::vector<std::string> live;
    for (const std::string& id : before) {
      if (m.from_map.nodes[*m.from_map.Find(id)].state != NodeState::kDown) live.push_back(id);
    }
    for (const std::string& target : after) {
      std::vector<std::string> sources;
      for (const MigrationPair& p : m.pairs) {
        if (p.target != target) continue;
        for (const ring::Arc& a : p.arcs) {
          if (a.Contains(pos)) sources.push_back(p.source);
        }
      }
      std::sort(sources.begin(), sources.end());
      size_t gained = 0, lost = 0;
      for (const std::string& id : after) gained += Has(before, id) ? 0 : 1;
      for (const std::string& id : before) lost += Has(after, id) ? 0 : 1;
      std::vector<std::string> want = Has(before, target) ? std::vector<std::string>{} : live;
      if (gained < lost) {  // fewer copies: every kept replica takes the others' too
        want = live;
        std::erase(want, target);
      }
      std::sort(want.begin(), want.end());
      EXPECT_EQ(sources, want) << "position " << pos << " target " << target;
    }
  }
}

TEST(ReplicaMovePlanTest, AddingANodeCopiesFromEveryOldReplica) {
  ClusterMap from = FiveNodes(3);
  NodeInfo n = Ringkv("n5", 6005);
  n.state = NodeState::kJoining;
  auto to = AddNode(from, n);
  ASSERT_TRUE(to.ok());
  auto m = PlanMigration(from, *to, MigrationKind::kAdd, "m", "n5", 0);
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  ASSERT_FALSE(m->pairs.empty());
  for (const MigrationPair& p : m->pairs) EXPECT_EQ(p.target, "n5");
  for (const MigrationSource& s : m->sources) {
    EXPECT_GT(s.moving_share, 0);
    EXPECT_GT(s.owned_share, 0);
  }
  ExpectEveryGainedReplicaHasItsSources(*m);
}

TEST(ReplicaMovePlanTest, RemovingALiveNodeCopiesItsArcsFromAllOldReplicas) {
  ClusterMap from = FiveNodes(3);
  auto to = MarkLeaving(from, "n2");
  ASSERT_TRUE(to.ok());
  auto m = PlanMigration(from, *to, MigrationKind::kRemove, "m", "n2", 0);
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  ASSERT_FALSE(m->pairs.empty());
  bool n2_sends = false;
  for (const MigrationPair& p : m->pairs) {
    EXPECT_NE(p.target, "n2");
    n2_sends = n2_sends || p.source == "n2";
  }
  EXPECT_TRUE(n2_sends);  // a live leaving node is one of the sources
  ExpectEveryGainedReplicaHasItsSources(*m);
}

TEST(ReplicaMovePlanTest, ADownNodeIsNeverASource) {
  ClusterMap from = FiveNodes(3);
  from.nodes[1].state = NodeState::kDown;
  auto to = MarkLeaving(from, "n1");
  ASSERT_TRUE(to.ok());
  auto m = PlanMigration(from, *to, MigrationKind::kRemove, "m", "n1", 0);
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  ASSERT_FALSE(m->pairs.empty());
  for (const MigrationPair& p : m->pairs) {
    EXPECT_NE(p.source, "n1");
    EXPECT_NE(p.target, "n1");
  }
  EXPECT_FALSE(Has(m->InvolvedNodes(), "n1"));
  ExpectEveryGainedReplicaHasItsSources(*m);
}

TEST(ReplicaMovePlanTest, WeightAndVnodesChangesKeepEveryGainedReplicaCovered) {
  ClusterMap from = FiveNodes(2);
  auto weight = SetWeight(from, "n3", 3);
  ASSERT_TRUE(weight.ok());
  auto m = PlanMigration(from, *weight, MigrationKind::kWeight, "m", "n3", 0);
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  ExpectEveryGainedReplicaHasItsSources(*m);

  auto vnodes = SetVnodes(from, 40);
  ASSERT_TRUE(vnodes.ok());
  m = PlanMigration(from, *vnodes, MigrationKind::kVnodes, "m", "vnodes 40", 0);
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  ExpectEveryGainedReplicaHasItsSources(*m);
}

TEST(ReplicaMovePlanTest, AReplicationChangeCopiesToTheGainedOrToEveryKeptReplica) {
  ClusterMap two = FiveNodes(2);
  auto three = SetReplication(two, 3);
  ASSERT_TRUE(three.ok());
  auto up = PlanMigration(two, *three, MigrationKind::kReplication, "m", "replication 3", 0);
  ASSERT_TRUE(up.ok()) << up.status().ToString();
  ASSERT_FALSE(up->pairs.empty());
  ExpectEveryGainedReplicaHasItsSources(*up);

  auto down = PlanMigration(*three, two, MigrationKind::kReplication, "m", "replication 2", 0);
  ASSERT_TRUE(down.ok()) << down.status().ToString();
  ASSERT_FALSE(down->pairs.empty());
  for (const MigrationPair& p : down->pairs) EXPECT_NE(p.source, p.target);
  ExpectEveryGainedReplicaHasItsSources(*down);

  ClusterMap redis = FiveNodes(1);
  redis.nodes[0].kind = BackendKind::kRedis;
  EXPECT_FALSE(SetReplication(redis, 2).ok());
}

TEST(ReplicaMovePlanTest, AnArcWithoutALiveOldReplicaIsRefused) {
  ClusterMap from = FiveNodes(2);
  from.nodes[0].state = NodeState::kDown;
  from.nodes[1].state = NodeState::kDown;
  from.nodes[2].state = NodeState::kDown;
  auto to = MarkLeaving(from, "n0");
  ASSERT_TRUE(to.ok());
  auto m = PlanMigration(from, *to, MigrationKind::kRemove, "m", "n0", 0);
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(m.status().message().find("no live replica"), std::string::npos);
}

TEST(ReplicaMovePlanTest, SameRingMovesNothing) {
  ClusterMap a = FiveNodes(3);
  ClusterMap b = a;
  b.epoch++;
  auto m = PlanMigration(a, b, MigrationKind::kVnodes, "m", "vnodes 16", 0);
  ASSERT_TRUE(m.ok());
  EXPECT_TRUE(m->pairs.empty());
}

TEST(MigrationSourceTest, KeysExpectedScalesHeldKeysByTheMovingShare) {
  MigrationSource s{.id = "n0", .moving_share = 0.1, .owned_share = 0.4, .keys_held = 1000};
  EXPECT_EQ(s.KeysExpected(), 250u);
  s.owned_share = 0;
  EXPECT_EQ(s.KeysExpected(), 0u);
  s.owned_share = 0.05;  // never more than it holds
  EXPECT_EQ(s.KeysExpected(), 1000u);
}

TEST(MigrationStateTest, TransitionsFollowTheMachine) {
  using S = MigrationState;
  Migration m;
  m.id = "m";
  EXPECT_TRUE(Cancellable(m));
  EXPECT_EQ(Transition(m, S::kSwitching, 0).code(), StatusCode::kFailedPrecondition);
  ASSERT_TRUE(Transition(m, S::kCopying, 0).ok());
  m.paused = true;
  EXPECT_TRUE(Cancellable(m));
  ASSERT_TRUE(Transition(m, S::kSwitching, 0).ok());
  EXPECT_FALSE(m.paused);
  EXPECT_FALSE(Cancellable(m));
  Status s = Transition(m, S::kCancelling, 0);
  EXPECT_EQ(s.code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(s.message(), "migration m cannot go from switching to cancelling");
  ASSERT_TRUE(Transition(m, S::kCleaning, 0).ok());
  EXPECT_FALSE(IsFinished(m.state));
  ASSERT_TRUE(Transition(m, S::kDone, 55).ok());
  EXPECT_TRUE(IsFinished(m.state));
  EXPECT_EQ(m.finished_ms, 55);
  EXPECT_FALSE(Transition(m, S::kCopying, 0).ok());

  Migration c;
  ASSERT_TRUE(Transition(c, S::kCancelling, 0).ok());
  EXPECT_FALSE(Transition(c, S::kCopying, 0).ok());
  ASSERT_TRUE(Transition(c, S::kCancelled, 9).ok());
  EXPECT_EQ(c.finished_ms, 9);
}

TEST(MigrationStateTest, NamesRoundTrip) {
  for (auto s : {MigrationState::kPlanned, MigrationState::kCopying, MigrationState::kSwitching,
                 MigrationState::kCleaning, MigrationState::kDone, MigrationState::kCancelling,
                 MigrationState::kCancelled}) {
    EXPECT_EQ(ParseMigrationState(MigrationStateName(s)), s);
  }
  for (auto k : {MigrationKind::kAdd, MigrationKind::kRemove, MigrationKind::kWeight,
                 MigrationKind::kVnodes, MigrationKind::kReturn,
                 MigrationKind::kReplication}) {
    EXPECT_EQ(ParseMigrationKind(MigrationKindName(k)), k);
  }
  EXPECT_FALSE(ParseMigrationState("nope"));
  EXPECT_FALSE(ParseMigrationKind(""));
}

TEST(SettledTest, JoiningBecomesActiveAndLeavingGoes) {
  ClusterMap m = WithJoining(ThreeNodes());
  m.nodes[1].state = NodeState::kLeaving;
  m.nodes[2].state = NodeState::kDown;
  ClusterMap s = Settled(m);
  EXPECT_EQ(s.epoch, m.epoch);
  ASSERT_EQ(s.nodes.size(), 3u);
  EXPECT_EQ(s.nodes[0].id, "n0");
  EXPECT_EQ(s.nodes[1].state, NodeState::kDown);
  EXPECT_EQ(s.nodes[2].id, "n3");
  EXPECT_EQ(s.nodes[2].state, NodeState::kActive);
  // The ring does not change: joining owned its arcs already, leaving owned none.
  auto a = BuildRing(m);
  auto b = BuildRing(s);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_TRUE(ring::Diff(**a, **b).empty());
  EXPECT_FALSE(SameMembership(m, s));
  ClusterMap later = s;
  later.epoch += 5;
  EXPECT_TRUE(SameMembership(s, later));
}

TEST(MigrationCodecTest, RoundTripsARecordWithProgress) {
  ClusterMap from = ThreeNodes();
  auto m = PlanMigration(from, WithJoining(from), MigrationKind::kAdd, "m-8-abc", "n3", 123);
  ASSERT_TRUE(m.ok());
  ASSERT_TRUE(Transition(*m, MigrationState::kCopying, 200).ok());
  m->paused = true;
  m->pairs[0].done = true;
  m->sources[0].keys_held = 900;
  m->sources[0].keys_moved = 77;
  m->sources[0].bytes_moved = 7700;
  m->sources[0].done = true;
  m->max_keys_per_sec = 50;
  m->max_bytes_per_sec = 1 << 20;
  m->grace_ms = 1500;
  m->last_error = "n1: unavailable";
  m->pairs[0].arcs.push_back({UINT64_MAX - 5, 3, m->pairs[0].source, m->pairs[0].target});
  std::string text = MigrationToJson(*m);
  auto back = MigrationFromJson(text);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(*back, *m);
  EXPECT_NE(text.find("\"keys_moved\":77"), std::string::npos) << text;
  EXPECT_NE(text.find("\"state\":\"copying\""), std::string::npos);

  MigrationLog log;
  log.current = *m;
  Migration done = *m;
  done.id = "m-7-old";
  done.state = MigrationState::kDone;
  log.history = {done};
  auto log_back = MigrationLogFromJson(MigrationLogToJson(log));
  ASSERT_TRUE(log_back.ok()) << log_back.status().ToString();
  EXPECT_EQ(*log_back, log);

  MigrationLog idle;
  auto idle_back = MigrationLogFromJson(MigrationLogToJson(idle));
  ASSERT_TRUE(idle_back.ok());
  EXPECT_FALSE(idle_back->current);
  EXPECT_EQ(MigrationLogToJson(idle), R"({"current":null,"history":[]})");
}

TEST(MigrationCodecTest, RejectsBrokenRecords) {
  EXPECT_EQ(MigrationFromJson("{").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(MigrationFromJson("[]").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(MigrationFromJson(R"({"id": "x"})").status().code(), StatusCode::kInvalidArgument);
  ClusterMap from = ThreeNodes();
  auto m = PlanMigration(from, WithJoining(from), MigrationKind::kAdd, "m", "n3", 0);
  ASSERT_TRUE(m.ok());
  std::string text = MigrationToJson(*m);
  std::string bad_state = text;
  bad_state.replace(bad_state.find("\"planned\""), 9, "\"flying\"");
  EXPECT_FALSE(MigrationFromJson(bad_state).ok());
  EXPECT_EQ(MigrationLogFromJson("nope").status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace ringkv::cluster
