// MakeRouteTable from cluster maps: the table routes every key where
// ring::Ring does, carries only the nodes that own keys, and keeps each
// back end's index in the map.
#include "router/proxy/route_table.h"

#include <gtest/gtest.h>

#include <set>
#include <string>

#include "ring/ring.h"

namespace ringkv::router {
namespace {

using cluster::BackendKind;
using cluster::ClusterMap;
using cluster::NodeInfo;
using cluster::NodeState;

NodeInfo Node(const std::string& id, int port, NodeState state = NodeState::kActive) {
  NodeInfo n;
  n.id = id;
  n.addr = "127.0.0.1:" + std::to_string(port);
  n.state = state;
  return n;
}

ClusterMap MapOf(std::vector<NodeInfo> nodes) {
  ClusterMap m;
  m.epoch = 7;
  m.vnodes = 32;
  m.nodes = std::move(nodes);
  return m;
}

TEST(RouteTableTest, CarriesEpochAndOneBackendPerNodeInService) {
  ClusterMap m = MapOf({Node("a", 7001), Node("b", 7002), Node("c", 7003)});
  m.nodes[1].kind = BackendKind::kRedis;
  auto t = MakeRouteTable(m);
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_EQ((*t)->epoch, 7u);
  EXPECT_EQ((*t)->in_service, 3u);
  EXPECT_EQ((*t)->moves, nullptr);
  ASSERT_EQ((*t)->backends.size(), 3u);
  ASSERT_EQ((*t)->ring->size(), 3u);
  for (size_t i = 0; i < 3; ++i) {
    const Backend& b = (*t)->backends[i];
    // Aligned with the ring's node order, and pointing back into the map.
    EXPECT_EQ(b.id, (*t)->ring->nodes()[i].id);
    const NodeInfo& n = m.nodes[b.map_index];
    EXPECT_EQ(n.id, b.id);
    EXPECT_EQ(n.addr, b.addr);
    EXPECT_EQ(b.host, "127.0.0.1");
    EXPECT_EQ(b.addr, "127.0.0.1:" + std::to_string(b.port));
    EXPECT_EQ(b.kind, n.kind);
  }
}

TEST(RouteTableTest, RoutesEveryKeyWhereTheRingPlacesIt) {
  ClusterMap m = MapOf({Node("a", 7001), Node("b", 7002), Node("c", 7003), Node("d", 7004)});
  m.nodes[2].weight = 3;
  auto t = MakeRouteTable(m);
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  auto ring = ring::Ring::Build({{"a", 1}, {"b", 1}, {"c", 3}, {"d", 1}},
                                {.vnodes_per_weight = 32, .hash = m.hash});
  ASSERT_TRUE(ring.ok());
  std::set<std::string> seen;
  for (int i = 0; i < 2000; ++i) {
    std::string key = "key:" + std::to_string(i);
    const Backend* b = (*t)->Route(key);
    ASSERT_NE(b, nullptr);
    ASSERT_EQ(b->id, (*ring)->OwnerOfKey(key)) << key;
    ASSERT_EQ(b->addr, m.nodes[b->map_index].addr) << key;
    seen.insert(b->id);
  }
  EXPECT_EQ(seen.size(), 4u);
}

TEST(RouteTableTest, DownAndLeavingNodesOwnNothingJoiningOnesDo) {
  ClusterMap m =
      MapOf({Node("a", 7001), Node("b", 7002, NodeState::kDown),
             Node("c", 7003, NodeState::kLeaving), Node("d", 7004, NodeState::kJoining)});
  auto t = MakeRouteTable(m);
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_EQ((*t)->in_service, 2u);
  ASSERT_EQ((*t)->backends.size(), 2u);
  auto ring = ring::Ring::Build({{"a", 1}, {"d", 1}}, {.vnodes_per_weight = 32, .hash = m.hash});
  ASSERT_TRUE(ring.ok());
  std::set<uint32_t> indices;
  for (int i = 0; i < 1000; ++i) {
    std::string key = "k" + std::to_string(i);
    const Backend* b = (*t)->Route(key);
    ASSERT_NE(b, nullptr);
    EXPECT_EQ(b->id, (*ring)->OwnerOfKey(key)) << key;
    indices.insert(b->map_index);
  }
  // X-CacheServer-Index is the index in the map, not in the ring.
  EXPECT_EQ(indices, (std::set<uint32_t>{0, 3}));
}

TEST(RouteTableTest, NoNodeInServiceRoutesNowhere) {
  auto empty = MakeRouteTable(MapOf({}));
  ASSERT_TRUE(empty.ok()) << empty.status().ToString();
  EXPECT_EQ((*empty)->Route("k"), nullptr);
  EXPECT_EQ((*empty)->in_service, 0u);

  auto all_down = MakeRouteTable(MapOf({Node("a", 7001, NodeState::kDown)}));
  ASSERT_TRUE(all_down.ok());
  EXPECT_EQ((*all_down)->Route("k"), nullptr);
}

TEST(RouteTableTest, BadAddressesAreErrors) {
  for (const char* addr : {"no-port", "host:", "host:0", "host:65536", "host:12x", ":80"}) {
    ClusterMap m = MapOf({Node("a", 7001)});
    m.nodes[0].addr = addr;
    auto t = MakeRouteTable(m);
    EXPECT_EQ(t.status().code(), StatusCode::kInvalidArgument) << addr;
  }
  ClusterMap v6 = MapOf({Node("a", 7001)});
  v6.nodes[0].addr = "[::1]:6379";
  auto t = MakeRouteTable(v6);
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_EQ((*t)->backends[0].host, "::1");
  EXPECT_EQ((*t)->backends[0].port, 6379);
}

TEST(RouteTableTest, AtomicRouteSourcePublishesReplacements) {
  AtomicRouteSource source;
  EXPECT_EQ(source.Current(), nullptr);
  auto first = MakeRouteTable(MapOf({Node("a", 7001)}));
  ASSERT_TRUE(first.ok());
  source.Publish(*first);
  EXPECT_EQ(source.Current()->epoch, 7u);
  ClusterMap next = MapOf({Node("a", 7001), Node("b", 7002)});
  next.epoch = 8;
  auto second = MakeRouteTable(next);
  ASSERT_TRUE(second.ok());
  RouteTablePtr held = source.Current();
  source.Publish(*second);
  EXPECT_EQ(source.Current()->epoch, 8u);
  EXPECT_EQ(held->epoch, 7u);  // a reader's snapshot stays valid
}

// Preference lists: the first `replication` distinct ring nodes clockwise,
// owner first, as ring::Ring::PreferenceList; at replication 1 the owner.
TEST(RouteTableTest, ReplicasAreTheKeysPreferenceList) {
  ClusterMap m = MapOf({Node("a", 7001), Node("b", 7002), Node("c", 7003), Node("d", 7004)});
  m.replication = 3;
  auto t = MakeRouteTable(m);
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_EQ((*t)->replication, 3u);
  for (int i = 0; i < 500; ++i) {
    std::string key = "key:" + std::to_string(i);
    std::vector<uint32_t> r = (*t)->Replicas(key);
    ASSERT_EQ(r, (*t)->ring->PreferenceList((*t)->ring->KeyPosition(key), 3)) << key;
    ASSERT_EQ(r.size(), 3u);
    EXPECT_EQ(&(*t)->backends[r[0]], (*t)->Route(key));
    EXPECT_EQ(std::set<uint32_t>(r.begin(), r.end()).size(), 3u);
    EXPECT_EQ((*t)->Pick(key), r[0]);  // all live: the owner
  }
  m.replication = 5;  // more than the ring holds
  auto capped = MakeRouteTable(m);
  ASSERT_TRUE(capped.ok());
  EXPECT_EQ((*capped)->Replicas("k").size(), 4u);
  m.replication = 1;
  auto one = MakeRouteTable(m);
  ASSERT_TRUE(one.ok());
  EXPECT_EQ((*one)->Replicas("k"), std::vector<uint32_t>{(*one)->ring->OwnerIndexOfKey("k")});
}

// A suspect or down replica is skipped; tried ones are never picked again;
// when every untried replica is suspect the first of them is tried anyway.
TEST(RouteTableTest, PickSkipsSuspectDownAndTriedReplicas) {
  ClusterMap m = MapOf({Node("a", 7001), Node("b", 7002), Node("c", 7003, NodeState::kDown)});
  m.replication = 3;
  auto made = MakeRouteTable(m);
  ASSERT_TRUE(made.ok()) << made.status().ToString();
  const RouteTable& t = **made;
  ASSERT_EQ(t.backends.size(), 3u);  // a down node stays in a replicated ring
  const uint32_t c = t.ring->IndexOf("c");
  EXPECT_TRUE(t.backends[c].down);
  EXPECT_FALSE(t.Live(c));
  int checked = 0;
  for (int i = 0; i < 500; ++i) {
    std::string key = "key:" + std::to_string(i);
    std::vector<uint32_t> r = t.Replicas(key);
    if (r[0] != c) continue;
    ++checked;
    EXPECT_EQ(t.Pick(key), r[1]) << key;  // the down owner is routed around
    t.SetSuspect(r[1], true);
    EXPECT_EQ(t.Pick(key), r[2]) << key;
    std::vector<std::string> tried = {t.backends[r[2]].addr};
    EXPECT_EQ(t.Pick(key, tried), r[0]) << key;  // none live: the first untried one
    tried = {t.backends[r[0]].addr, t.backends[r[1]].addr, t.backends[r[2]].addr};
    EXPECT_EQ(t.Pick(key, tried), ring::kNoNode) << key;
    t.SetSuspect(r[1], false);
    EXPECT_EQ(t.Pick(key), r[1]) << key;
  }
  EXPECT_GT(checked, 0);
  EXPECT_EQ(t.IndexOfAddr("127.0.0.1:7003"), c);
  EXPECT_EQ(t.IndexOfAddr("127.0.0.1:9999"), ring::kNoNode);
}

// At replication 1 the owner is the only choice, suspect or not (the health
// checker ejects a failed node).
TEST(RouteTableTest, ReplicationOnePicksTheOwnerAlways) {
  auto made = MakeRouteTable(MapOf({Node("a", 7001), Node("b", 7002)}));
  ASSERT_TRUE(made.ok());
  const RouteTable& t = **made;
  uint32_t owner = t.ring->OwnerIndexOfKey("k");
  t.SetSuspect(owner, true);
  EXPECT_EQ(t.Pick("k"), owner);
  std::vector<std::string> tried = {t.backends[owner].addr};
  EXPECT_EQ(t.Pick("k", tried), ring::kNoNode);
}
}  // namespace
}  // namespace ringkv::router
