#include "cluster/cluster_map.h"

#include <gtest/gtest.h>

#include <set>
#include <string>

namespace ringkv::cluster {
namespace {

NodeInfo Node(std::string addr, NodeState state = NodeState::kActive, uint32_t weight = 1) {
  NodeInfo n;
  n.id = addr;
  n.addr = std::move(addr);
  n.state = state;
  n.weight = weight;
  return n;
}

// A map using every field and every state and kind.
ClusterMap FullMap() {
  ClusterMap m;
  m.epoch = 42;
  m.vnodes = 7;
  m.hash = ring::HashKind::kSha256;
  m.replication = 1;  // a redis back end is in it
  m.write_consistency = Consistency::kAll;
  m.read_consistency = Consistency::kOne;
  m.tombstone_ttl_s = 100;
  m.hint_ttl_s = 99;
  NodeInfo a = Node("127.0.0.1:7001", NodeState::kJoining, 2);
  a.id = "node-a";
  a.http_addr = "127.0.0.1:8001";
  a.grpc_addr = "127.0.0.1:9001";
  NodeInfo b = Node("127.0.0.1:7002", NodeState::kActive, 65536);
  b.kind = BackendKind::kRedis;
  m.nodes = {a, b, Node("127.0.0.1:7003", NodeState::kLeaving, 3),
             Node("127.0.0.1:7004", NodeState::kDown, 1)};
  return m;
}

Status ParseError(const std::string& json) {
  return ClusterMapFromJson(json).status();
}

void ExpectInvalid(const std::string& json, const std::string& fragment) {
  Status s = ParseError(json);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << json;
  EXPECT_NE(s.message().find(fragment), std::string::npos) << s.message() << " for " << json;
}

TEST(ClusterMapTest, NamesRoundTrip) {
  for (NodeState s :
       {NodeState::kJoining, NodeState::kActive, NodeState::kLeaving, NodeState::kDown}) {
    EXPECT_EQ(ParseNodeState(NodeStateName(s)), s);
  }
  for (BackendKind k : {BackendKind::kRingkv, BackendKind::kRedis}) {
    EXPECT_EQ(ParseBackendKind(BackendKindName(k)), k);
  }
  EXPECT_EQ(NodeStateName(NodeState::kLeaving), "leaving");
  EXPECT_EQ(BackendKindName(BackendKind::kRedis), "redis");
  EXPECT_FALSE(ParseNodeState("Active"));
  EXPECT_FALSE(ParseBackendKind(""));
}

TEST(ClusterMapTest, JsonRoundTripIsExact) {
  ClusterMap m = FullMap();
  std::string json = ToJson(m);
  StatusOr<ClusterMap> back = ClusterMapFromJson(json);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(*back, m);
  EXPECT_EQ(ToJson(*back), json);

  ClusterMap empty;
  StatusOr<ClusterMap> empty_back = ClusterMapFromJson(ToJson(empty));
  ASSERT_TRUE(empty_back.ok()) << empty_back.status().ToString();
  EXPECT_EQ(*empty_back, empty);
}

TEST(ClusterMapTest, JsonHasTheDocumentedFields) {
  ClusterMap m;
  m.epoch = 3;
  m.nodes = {Node("127.0.0.1:6380")};
  EXPECT_EQ(
      ToJson(m),
      R"({"epoch":3,"vnodes":160,"hash":"xxh3","replication":1,"write_consistency":"quorum",)"
      R"("read_consistency":"quorum","tombstone_ttl_s":86400,"hint_ttl_s":10800,)"
      R"("nodes":[{"id":"127.0.0.1:6380",)"
      R"("addr":"127.0.0.1:6380","http_addr":"","grpc_addr":"","kind":"ringkv","weight":1,)"
      R"("state":"active"}]})");
}

TEST(ClusterMapTest, OptionalFieldsTakeDefaults) {
  StatusOr<ClusterMap> m =
      ClusterMapFromJson(R"({"epoch": 5, "nodes": [{"addr": "h:1"}, {"addr": "h:2", "id": "b"}]})");
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_EQ(m->epoch, 5u);
  EXPECT_EQ(m->vnodes, 160u);
  EXPECT_EQ(m->hash, ring::HashKind::kXxh3);
  EXPECT_EQ(m->replication, 1u);
  EXPECT_EQ(m->write_consistency, Consistency::kQuorum);
  EXPECT_EQ(m->read_consistency, Consistency::kQuorum);
  EXPECT_EQ(m->tombstone_ttl_s, 86400u);
  EXPECT_EQ(m->hint_ttl_s, 10800u);
  ASSERT_EQ(m->nodes.size(), 2u);
  EXPECT_EQ(m->nodes[0], Node("h:1"));
  EXPECT_EQ(m->nodes[1].id, "b");
}

TEST(ClusterMapTest, ParseErrorsNameTheField) {
  ExpectInvalid("", "not valid JSON");
  ExpectInvalid("{\"epoch\": 1,", "not valid JSON");
  ExpectInvalid("[]", "object");
  ExpectInvalid(R"({"nodes": []})", "epoch");
  ExpectInvalid(R"({"epoch": "1", "nodes": []})", "epoch");
  ExpectInvalid(R"({"epoch": -1, "nodes": []})", "epoch");
  ExpectInvalid(R"({"epoch": 1.5, "nodes": []})", "epoch");
  ExpectInvalid(R"({"epoch": 1, "vnodes": 0, "nodes": []})", "vnodes");
  ExpectInvalid(R"({"epoch": 1, "vnodes": 4097, "nodes": []})", "vnodes");
  ExpectInvalid(R"({"epoch": 1, "vnodes": "160", "nodes": []})", "vnodes");
  ExpectInvalid(R"({"epoch": 1, "hash": "md5", "nodes": []})", "hash");
  ExpectInvalid(R"({"epoch": 1, "hash": 1, "nodes": []})", "hash");
  ExpectInvalid(R"({"epoch": 1, "replication": 0, "nodes": []})", "replication");
  ExpectInvalid(R"({"epoch": 1, "replication": 6, "nodes": []})", "replication");
  ExpectInvalid(R"({"epoch": 1, "write_consistency": "two", "nodes": []})", "write_consistency");
  ExpectInvalid(R"({"epoch": 1, "read_consistency": 1, "nodes": []})", "read_consistency");
  ExpectInvalid(R"({"epoch": 1, "tombstone_ttl_s": 0, "nodes": []})", "tombstone_ttl_s");
  ExpectInvalid(R"({"epoch": 1, "tombstone_ttl_s": 60, "hint_ttl_s": 60, "nodes": []})",
                "tombstone_ttl_s");
  ExpectInvalid(R"({"epoch": 1, "replication": 2, "nodes": [{"addr": "h:1", "kind": "redis"}]})",
                "redis");
  ExpectInvalid(R"({"epoch": 1})", "nodes");
  ExpectInvalid(R"({"epoch": 1, "nodes": {}})", "nodes");
  ExpectInvalid(R"({"epoch": 1, "nodes": [1]})", "nodes[0]");
  ExpectInvalid(R"({"epoch": 1, "nodes": [{"id": "a"}]})", "nodes[0].addr");
  ExpectInvalid(R"({"epoch": 1, "nodes": [{"addr": ""}]})", "nodes[0].addr");
  ExpectInvalid(R"({"epoch": 1, "nodes": [{"addr": 7}]})", "nodes[0].addr");
  ExpectInvalid(R"({"epoch": 1, "nodes": [{"addr": "h:1", "id": ""}]})", "nodes[0].id");
  ExpectInvalid(R"({"epoch": 1, "nodes": [{"addr": "h:1", "http_addr": 1}]})", "http_addr");
  ExpectInvalid(R"({"epoch": 1, "nodes": [{"addr": "h:1", "grpc_addr": []}]})", "grpc_addr");
  ExpectInvalid(R"({"epoch": 1, "nodes": [{"addr": "h:1", "kind": "memcached"}]})", "kind");
  ExpectInvalid(R"({"epoch": 1, "nodes": [{"addr": "h:1", "state": "gone"}]})", "state");
  ExpectInvalid(R"({"epoch": 1, "nodes": [{"addr": "h:1", "weight": 0}]})", "weight");
  ExpectInvalid(R"({"epoch": 1, "nodes": [{"addr": "h:1", "weight": 65537}]})", "weight");
  ExpectInvalid(R"({"epoch": 1, "nodes": [{"addr": "h:1"}, {"addr": "h:2", "weight": true}]})",
                "nodes[1].weight");
}

TEST(ClusterMapTest, ParseRejectsDuplicateNames) {
  ExpectInvalid(R"({"epoch": 1, "nodes": [{"addr": "h:1"}, {"addr": "h:1", "id": "b"}]})", "h:1");
  ExpectInvalid(
      R"({"epoch": 1, "nodes": [{"addr": "h:1", "id": "a"}, {"addr": "h:2", "id": "a"}]})",
      "nodes[1]");
  // One node's id is another node's addr: Find() would be ambiguous.
  ExpectInvalid(R"({"epoch": 1, "nodes": [{"addr": "h:1", "id": "h:2"}, {"addr": "h:2"}]})", "h:2");
}

TEST(ClusterMapTest, FindByAddrOrId) {
  ClusterMap m = FullMap();
  EXPECT_EQ(m.Find("node-a"), 0u);
  EXPECT_EQ(m.Find("127.0.0.1:7001"), 0u);
  EXPECT_EQ(m.Find("127.0.0.1:7003"), 2u);
  EXPECT_FALSE(m.Find("127.0.0.1:9999"));
  EXPECT_FALSE(m.Find(""));
}

// A joining node owns its arcs while its keys arrive; a leaving one owns
// nothing while its keys move off.
TEST(ClusterMapTest, RingNodesAreActiveAndJoining) {
  ClusterMap m = FullMap();
  std::vector<ring::NodeSpec> nodes = m.RingNodes();
  ASSERT_EQ(nodes.size(), 2u);
  EXPECT_EQ(nodes[0].id, "node-a");
  EXPECT_EQ(nodes[0].weight, 2u);
  EXPECT_EQ(nodes[1].id, "127.0.0.1:7002");
  EXPECT_EQ(nodes[1].weight, 65536u);
  EXPECT_EQ(m.InService(), 2u);
  EXPECT_EQ(ClusterMap{}.InService(), 0u);
}

TEST(ClusterMapTest, BuildRingOwnsOnlyOverServingNodes) {
  ClusterMap m;
  m.vnodes = 16;
  m.nodes = {Node("h:1", NodeState::kJoining), Node("h:2", NodeState::kActive),
             Node("h:3", NodeState::kLeaving), Node("h:4", NodeState::kDown)};
  StatusOr<ring::RingPtr> r = BuildRing(m);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ((*r)->size(), 2u);
  EXPECT_EQ((*r)->options().vnodes_per_weight, 16u);
  std::set<std::string> owners;
  for (int i = 0; i < 2000; ++i) owners.insert((*r)->OwnerOfKey("key" + std::to_string(i)));
  EXPECT_EQ(owners, (std::set<std::string>{"h:1", "h:2"}));
}

// With replicas a failure moves no key: a down node keeps its place in the
// ring (the other replicas serve its keys), so marking it down or back
// active changes no owner. Leaving nodes still own nothing.
TEST(ClusterMapTest, ReplicatedRingKeepsDownNodes) {
  ClusterMap m;
  m.vnodes = 16;
  m.replication = 2;
  m.nodes = {Node("h:1", NodeState::kJoining), Node("h:2", NodeState::kActive),
             Node("h:3", NodeState::kLeaving), Node("h:4", NodeState::kDown)};
  std::vector<ring::NodeSpec> nodes = m.RingNodes();
  ASSERT_EQ(nodes.size(), 3u);
  EXPECT_EQ(nodes[2].id, "h:4");
  EXPECT_EQ(m.InService(), 2u);  // a down node serves nothing
  StatusOr<ring::RingPtr> down = BuildRing(m);
  m.nodes[3].state = NodeState::kActive;
  StatusOr<ring::RingPtr> up = BuildRing(m);
  ASSERT_TRUE(down.ok() && up.ok());
  for (int i = 0; i < 2000; ++i) {
    std::string key = "key" + std::to_string(i);
    ASSERT_EQ((*down)->OwnerOfKey(key), (*up)->OwnerOfKey(key)) << key;
  }
  m.replication = 1;  // cache mode: ejected
  m.nodes[3].state = NodeState::kDown;
  EXPECT_EQ(m.RingNodes().size(), 2u);
}

TEST(ClusterMapTest, BuildRingUsesTheMapsHash) {
  ClusterMap m;
  m.hash = ring::HashKind::kSha256;
  m.nodes = {Node("h:1")};
  StatusOr<ring::RingPtr> r = BuildRing(m);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ((*r)->options().hash, ring::HashKind::kSha256);
  EXPECT_EQ((*r)->options().vnodes_per_weight, 160u);
}

TEST(ClusterMapTest, BuildRingOfNoServingNodesIsEmpty) {
  ClusterMap m;
  m.nodes = {Node("h:1", NodeState::kDown)};
  StatusOr<ring::RingPtr> r = BuildRing(m);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE((*r)->empty());
}


TEST(ClusterMapTest, ConsistencyNamesAndCounts) {
  for (Consistency c : {Consistency::kOne, Consistency::kQuorum, Consistency::kAll}) {
    EXPECT_EQ(ParseConsistency(ConsistencyName(c)), c);
  }
  EXPECT_FALSE(ParseConsistency("QUORUM"));
  // replication: one, quorum, all
  const uint32_t want[][4] = {{1, 1, 1, 1}, {2, 1, 2, 2}, {3, 1, 2, 3}, {4, 1, 3, 4}, {5, 1, 3, 5}};
  for (const auto& w : want) {
    EXPECT_EQ(Required(Consistency::kOne, w[0]), w[1]);
    EXPECT_EQ(Required(Consistency::kQuorum, w[0]), w[2]);
    EXPECT_EQ(Required(Consistency::kAll, w[0]), w[3]);
    // A quorum write and a quorum read always share a replica.
    EXPECT_GT(2 * Required(Consistency::kQuorum, w[0]), w[0]);
  }
}

TEST(ClusterMapTest, ReplicationSettingsRoundTrip) {
  ClusterMap m;
  m.epoch = 9;
  m.nodes = {Node("h:1"), Node("h:2"), Node("h:3")};
  m.replication = 3;
  m.write_consistency = Consistency::kAll;
  m.read_consistency = Consistency::kOne;
  m.tombstone_ttl_s = 7200;
  m.hint_ttl_s = 600;
  StatusOr<ClusterMap> back = ClusterMapFromJson(ToJson(m));
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(*back, m);
}

TEST(ClusterMapTest, RedisBackEndsStayAtReplicationOne) {
  ClusterMap m;
  m.nodes = {Node("h:1"), Node("h:2")};
  m.nodes[1].kind = BackendKind::kRedis;
  EXPECT_TRUE(CheckReplication(m).ok());
  m.replication = 2;
  Status s = CheckReplication(m);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("h:2"), std::string::npos) << s.message();
}

}  // namespace
}  // namespace ringkv::cluster
