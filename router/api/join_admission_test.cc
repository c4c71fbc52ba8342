#include "router/api/join_admission.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "cluster/neighbors.h"

namespace ringkv::router {
namespace {

using cluster::BackendKind;
using cluster::ClusterMap;
using cluster::NodeInfo;
using cluster::NodeState;

NodeInfo Ringkv(const std::string& id, int port, NodeState state = NodeState::kActive) {
  NodeInfo n;
  n.id = id;
  n.addr = "127.0.0.1:" + std::to_string(port);
  n.http_addr = "127.0.0.1:" + std::to_string(port + 1);
  n.grpc_addr = "127.0.0.1:" + std::to_string(port + 2);
  n.state = state;
  return n;
}

ClusterMap Map(std::vector<NodeInfo> nodes) {
  ClusterMap m;
  m.epoch = 7;
  m.nodes = std::move(nodes);
  return m;
}

TEST(ConnectedNodesTest, NodesInServiceOrderedByPosition) {
  NodeInfo redis;
  redis.id = redis.addr = "127.0.0.1:6379";
  redis.kind = BackendKind::kRedis;
  redis.http_addr = redis.grpc_addr = "";
  ClusterMap m = Map({Ringkv("a", 7000), Ringkv("b", 7010, NodeState::kJoining),
                      Ringkv("c", 7020, NodeState::kDown), Ringkv("d", 7030), redis,
                      Ringkv("e", 7040, NodeState::kLeaving)});
  std::vector<RingNode> got = ConnectedNodes(m);
  ASSERT_EQ(got.size(), 3u);  // a, b, d: down, leaving and redis are left out
  EXPECT_TRUE(std::is_sorted(got.begin(), got.end(),
                             [](const RingNode& x, const RingNode& y) { return x.id < y.id; }));
  for (const std::string id : {"a", "b", "d"}) {
    const NodeInfo& n = m.nodes[*m.Find(id)];
    RingNode want{cluster::NodePosition(m, n), n.grpc_addr};
    EXPECT_NE(std::find(got.begin(), got.end(), want), got.end()) << id;
  }
}

TEST(ConnectedNodesTest, EmptyMap) {
  EXPECT_TRUE(ConnectedNodes(Map({})).empty());
}

TEST(PlacementOfTest, PreviousIsTheClosestSmallerIdWrapping) {
  ClusterMap m = Map({Ringkv("a", 7000), Ringkv("b", 7010), Ringkv("c", 7020)});
  std::vector<RingNode> ring = ConnectedNodes(m);
  for (const NodeInfo& n : m.nodes) {
    auto p = PlacementOf(m, n.id);
    ASSERT_TRUE(p) << n.id;
    EXPECT_EQ(p->self, (RingNode{cluster::NodePosition(m, n), n.grpc_addr}));
    size_t i = std::find(ring.begin(), ring.end(), p->self) - ring.begin();
    EXPECT_EQ(p->previous, ring[(i + ring.size() - 1) % ring.size()]) << n.id;
  }
}

TEST(PlacementOfTest, SingleNodeIsItsOwnPredecessor) {
  ClusterMap m = Map({Ringkv("a", 7000)});
  auto p = PlacementOf(m, "a");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->previous, p->self);
}

TEST(PlacementOfTest, NotInService) {
  ClusterMap m = Map({Ringkv("a", 7000), Ringkv("b", 7010, NodeState::kDown)});
  EXPECT_FALSE(PlacementOf(m, "b"));
  EXPECT_FALSE(PlacementOf(m, "zz"));
}

TEST(FindMemberTest, ByAnyName) {
  ClusterMap m = Map({Ringkv("a", 7000), Ringkv("b", 7010)});
  EXPECT_EQ(FindMember(m, {"127.0.0.1:7010", "", ""}), 1u);  // RESP
  EXPECT_EQ(FindMember(m, {"127.0.0.1:7011", "", ""}), 1u);  // HTTP
  EXPECT_EQ(FindMember(m, {"", "127.0.0.1:7002", ""}), 0u);  // gRPC
  EXPECT_EQ(FindMember(m, {"", "", "b"}), 1u);
  EXPECT_EQ(FindMember(m, {"127.0.0.1:9999", "", "a"}), 0u);
  EXPECT_FALSE(FindMember(m, {"127.0.0.1:7002", "", ""}));  // a gRPC address is not a data address
  EXPECT_FALSE(FindMember(m, {"", "", ""}));
}

}  // namespace
}  // namespace ringkv::router
