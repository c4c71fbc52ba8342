#include "cluster/membership.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace ringkv::cluster {
namespace {

NodeInfo Node(std::string addr, NodeState state = NodeState::kActive) {
  NodeInfo n;
  n.addr = std::move(addr);
  n.state = state;
  return n;
}

ClusterMap ThreeNodes() {
  ClusterMap m;
  m.epoch = 10;
  for (const char* a : {"127.0.0.1:7001", "127.0.0.1:7002", "127.0.0.1:7003"}) {
    NodeInfo n = Node(a);
    n.id = a;
    m.nodes.push_back(n);
  }
  return m;
}

std::vector<std::string> Addrs(const ClusterMap& m) {
  std::vector<std::string> out;
  for (const NodeInfo& n : m.nodes) out.push_back(n.addr);
  return out;
}

// Runs a change that must fail and checks that the input was left alone.
template <typename F>
Status ExpectFails(const ClusterMap& map, F change) {
  ClusterMap before = map;
  StatusOr<ClusterMap> got = change(map);
  EXPECT_FALSE(got.ok());
  EXPECT_EQ(map, before);
  return got.status();
}

TEST(ValidateAddrTest, AcceptsHostPort) {
  for (const char* a : {"127.0.0.1:1", "localhost:65535", "node-1.example:6379", "[::1]:7000"}) {
    EXPECT_TRUE(ValidateAddr(a).ok()) << a;
  }
}

TEST(ValidateAddrTest, RejectsMalformed) {
  for (const char* a : {"", "127.0.0.1", ":6379", "h:", "h:0", "h:65536", "h:123456", "h:-1",
                        "h:+80", "h:80x", "h :80", "h\t:80", "my host:80", "h:8 0"}) {
    Status s = ValidateAddr(a);
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << a;
    EXPECT_NE(s.message().find(a), std::string::npos) << s.message();
  }
}

TEST(MembershipTest, AddNodeAppendsAndDefaultsId) {
  ClusterMap m = ThreeNodes();
  NodeInfo n = Node("127.0.0.1:7004", NodeState::kJoining);
  n.http_addr = "127.0.0.1:8004";
  n.grpc_addr = "127.0.0.1:9004";
  n.weight = 4;
  StatusOr<ClusterMap> next = AddNode(m, n);
  ASSERT_TRUE(next.ok()) << next.status().ToString();
  EXPECT_EQ(next->epoch, 11u);
  ASSERT_EQ(next->nodes.size(), 4u);
  EXPECT_EQ(Addrs(*next), (std::vector<std::string>{"127.0.0.1:7001", "127.0.0.1:7002",
                                                    "127.0.0.1:7003", "127.0.0.1:7004"}));
  n.id = n.addr;
  EXPECT_EQ(next->nodes[3], n);

  NodeInfo named = Node("127.0.0.1:7005");
  named.id = "node-5";
  StatusOr<ClusterMap> again = AddNode(*next, named);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->epoch, 12u);
  EXPECT_EQ(again->nodes[4].id, "node-5");
}

TEST(MembershipTest, AddNodeToEmptyMap) {
  StatusOr<ClusterMap> next = AddNode(ClusterMap{}, Node("h:1"));
  ASSERT_TRUE(next.ok());
  EXPECT_EQ(next->epoch, 1u);
  EXPECT_EQ(next->InService(), 1u);
}

TEST(MembershipTest, AddNodeRejectsDuplicates) {
  ClusterMap m = ThreeNodes();
  m.nodes[1].id = "node-2";
  Status s = ExpectFails(m, [](const ClusterMap& m) { return AddNode(m, Node("127.0.0.1:7001")); });
  EXPECT_EQ(s.code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(s.message(), "node 127.0.0.1:7001 is already in the cluster");

  NodeInfo same_id = Node("127.0.0.1:7009");
  same_id.id = "node-2";
  s = ExpectFails(m, [&](const ClusterMap& m) { return AddNode(m, same_id); });
  EXPECT_EQ(s.code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(s.message(), "node node-2 is already in the cluster");

  // A new node's id may not be an existing node's addr, nor the reverse.
  NodeInfo id_is_addr = Node("127.0.0.1:7009");
  id_is_addr.id = "127.0.0.1:7002";
  EXPECT_EQ(ExpectFails(m, [&](const ClusterMap& m) { return AddNode(m, id_is_addr); }).code(),
            StatusCode::kAlreadyExists);
  m.nodes[2].id = "10.0.0.3:7003";
  EXPECT_EQ(
      ExpectFails(m, [](const ClusterMap& m) { return AddNode(m, Node("10.0.0.3:7003")); }).code(),
      StatusCode::kAlreadyExists);
}

TEST(MembershipTest, AddNodeValidates) {
  ClusterMap m = ThreeNodes();
  auto add = [&](NodeInfo n) {
    return ExpectFails(m, [&](const ClusterMap& m) { return AddNode(m, n); });
  };
  EXPECT_EQ(add(Node("nohost")).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(add(Node("")).code(), StatusCode::kInvalidArgument);
  NodeInfo bad_http = Node("h:1");
  bad_http.http_addr = "h:0";
  EXPECT_NE(add(bad_http).message().find("h:0"), std::string::npos);
  NodeInfo bad_grpc = Node("h:1");
  bad_grpc.grpc_addr = "grpc";
  EXPECT_NE(add(bad_grpc).message().find("grpc"), std::string::npos);
  NodeInfo zero = Node("h:1");
  zero.weight = 0;
  EXPECT_NE(add(zero).message().find("weight"), std::string::npos);
  NodeInfo heavy = Node("h:1");
  heavy.weight = 65537;
  EXPECT_EQ(add(heavy).code(), StatusCode::kInvalidArgument);
  NodeInfo spaced = Node("h:1");
  spaced.id = "my node";
  EXPECT_EQ(add(spaced).code(), StatusCode::kInvalidArgument);

  NodeInfo max_weight = Node("h:1");
  max_weight.weight = MembershipLimits{}.max_weight;
  EXPECT_TRUE(AddNode(m, max_weight).ok());
}

TEST(MembershipTest, WeightAndVnodesAreBoundedByTheLimits) {
  ClusterMap m = ThreeNodes();
  const MembershipLimits limits{.max_weight = 8, .max_vnodes = 64};
  NodeInfo heavy = Node("h:1");
  heavy.weight = 9;
  Status s = AddNode(m, heavy, limits).status();
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("max_weight"), std::string::npos) << s.message();
  heavy.weight = 8;
  EXPECT_TRUE(AddNode(m, heavy, limits).ok());
  EXPECT_EQ(SetWeight(m, "127.0.0.1:7001", 9, limits).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_TRUE(SetWeight(m, "127.0.0.1:7001", 8, limits).ok());
  EXPECT_EQ(SetVnodes(m, 65, limits).status().code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(SetVnodes(m, 64, limits).ok());
  // The defaults bound every caller that passes none.
  EXPECT_FALSE(SetWeight(m, "127.0.0.1:7001", 65536).ok());
  EXPECT_FALSE(SetVnodes(m, 4096).ok());
}

TEST(MembershipTest, LimitsStayWithinTheRingsOwn) {
  EXPECT_TRUE(ValidateLimits({}).ok());
  EXPECT_FALSE(ValidateLimits({.max_weight = 0}).ok());
  EXPECT_FALSE(ValidateLimits({.max_weight = 65537}).ok());
  EXPECT_FALSE(ValidateLimits({.max_vnodes = 4097}).ok());
}

TEST(MembershipTest, RemoveNodeKeepsTheOrderOfTheOthers) {
  ClusterMap m = ThreeNodes();
  m.nodes[2].id = "node-3";
  StatusOr<ClusterMap> next = RemoveNode(m, "127.0.0.1:7001");
  ASSERT_TRUE(next.ok()) << next.status().ToString();
  EXPECT_EQ(next->epoch, 11u);
  EXPECT_EQ(Addrs(*next), (std::vector<std::string>{"127.0.0.1:7002", "127.0.0.1:7003"}));
  EXPECT_EQ(next->nodes[0], m.nodes[1]);
  EXPECT_EQ(next->nodes[1], m.nodes[2]);

  StatusOr<ClusterMap> by_id = RemoveNode(*next, "node-3");
  ASSERT_TRUE(by_id.ok());
  EXPECT_EQ(by_id->epoch, 12u);
  EXPECT_EQ(Addrs(*by_id), (std::vector<std::string>{"127.0.0.1:7002"}));
}

TEST(MembershipTest, RemoveUnknownNode) {
  Status s =
      ExpectFails(ThreeNodes(), [](const ClusterMap& m) { return RemoveNode(m, "1.2.3.4:5"); });
  EXPECT_EQ(s.code(), StatusCode::kNotFound);
  EXPECT_EQ(s.message(), "no node 1.2.3.4:5 in the cluster");
}

TEST(MembershipTest, CannotRemoveTheLastNodeInService) {
  ClusterMap m;
  m.nodes = {Node("h:1", NodeState::kDown), Node("h:2", NodeState::kActive),
             Node("h:3", NodeState::kLeaving)};
  for (NodeInfo& n : m.nodes) n.id = n.addr;
  Status s = ExpectFails(m, [](const ClusterMap& m) { return RemoveNode(m, "h:2"); });
  EXPECT_EQ(s.code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(s.message(), "cannot remove the last node in service");

  // Nodes out of service can go; so can an in-service node with a peer.
  StatusOr<ClusterMap> next = RemoveNode(m, "h:1");
  ASSERT_TRUE(next.ok());
  next = RemoveNode(*next, "h:3");
  ASSERT_TRUE(next.ok());
  EXPECT_EQ(next->epoch, 2u);
  EXPECT_EQ(Addrs(*next), (std::vector<std::string>{"h:2"}));

  m.nodes[0].state = NodeState::kLeaving;
  next = RemoveNode(m, "h:1");
  ASSERT_TRUE(next.ok());
  EXPECT_EQ(next->InService(), 1u);

  // A joining node is in service: with it, the active node may go.
  m.nodes[2].state = NodeState::kJoining;
  next = RemoveNode(m, "h:2");
  ASSERT_TRUE(next.ok());
  EXPECT_EQ(next->InService(), 1u);
}

TEST(MembershipTest, MarkLeaving) {
  ClusterMap m = ThreeNodes();
  StatusOr<ClusterMap> next = MarkLeaving(m, "127.0.0.1:7002");
  ASSERT_TRUE(next.ok());
  EXPECT_EQ(next->epoch, m.epoch + 1);
  EXPECT_EQ(next->nodes[1].state, NodeState::kLeaving);
  EXPECT_EQ(next->InService(), 2u);
  EXPECT_EQ(Addrs(*next), Addrs(m));
  EXPECT_EQ(MarkLeaving(*next, "127.0.0.1:7002").status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(MarkLeaving(m, "1.2.3.4:5").status().code(), StatusCode::kNotFound);

  ClusterMap one;
  one.nodes = {Node("h:1", NodeState::kActive), Node("h:2", NodeState::kDown)};
  for (NodeInfo& n : one.nodes) n.id = n.addr;
  Status s = MarkLeaving(one, "h:1").status();
  EXPECT_EQ(s.code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(s.message(), "cannot remove the last node in service");
  EXPECT_TRUE(MarkLeaving(one, "h:2").ok());  // a down node owns nothing
}

TEST(MembershipTest, SetWeight) {
  ClusterMap m = ThreeNodes();
  StatusOr<ClusterMap> next = SetWeight(m, "127.0.0.1:7002", 5);
  ASSERT_TRUE(next.ok());
  EXPECT_EQ(next->epoch, 11u);
  EXPECT_EQ(next->nodes[1].weight, 5u);
  EXPECT_EQ(Addrs(*next), Addrs(m));

  EXPECT_EQ(
      ExpectFails(m, [](const ClusterMap& m) { return SetWeight(m, "127.0.0.1:7002", 0); }).code(),
      StatusCode::kInvalidArgument);
  EXPECT_EQ(
      ExpectFails(m, [](const ClusterMap& m) { return SetWeight(m, "127.0.0.1:7002", 65537); })
          .code(),
      StatusCode::kInvalidArgument);
  EXPECT_EQ(ExpectFails(m, [](const ClusterMap& m) { return SetWeight(m, "h:9", 2); }).code(),
            StatusCode::kNotFound);
}

TEST(MembershipTest, SetStateAllowsMarkingTheLastNodeDown) {
  ClusterMap m;
  m.nodes = {Node("h:1")};
  m.nodes[0].id = "h:1";
  StatusOr<ClusterMap> next = SetState(m, "h:1", NodeState::kDown);
  ASSERT_TRUE(next.ok());
  EXPECT_EQ(next->epoch, 1u);
  EXPECT_EQ(next->nodes[0].state, NodeState::kDown);
  EXPECT_EQ(next->InService(), 0u);

  next = SetState(*next, "h:1", NodeState::kActive);
  ASSERT_TRUE(next.ok());
  EXPECT_EQ(next->epoch, 2u);
  EXPECT_EQ(next->InService(), 1u);

  EXPECT_EQ(ExpectFails(m, [](const ClusterMap& m) { return SetState(m, "h:2", NodeState::kDown); })
                .code(),
            StatusCode::kNotFound);
}

TEST(MembershipTest, SetVnodes) {
  ClusterMap m = ThreeNodes();
  const MembershipLimits widest{.max_vnodes = kMaxVnodes};
  StatusOr<ClusterMap> next = SetVnodes(m, kMaxVnodes, widest);
  ASSERT_TRUE(next.ok());
  EXPECT_EQ(next->epoch, 11u);
  EXPECT_EQ(next->vnodes, kMaxVnodes);
  EXPECT_EQ(next->nodes, m.nodes);
  EXPECT_TRUE(SetVnodes(m, 1).ok());
  Status s = ExpectFails(m, [](const ClusterMap& m) { return SetVnodes(m, 0); });
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("vnodes"), std::string::npos);
  EXPECT_EQ(
      ExpectFails(m, [&](const ClusterMap& m) { return SetVnodes(m, kMaxVnodes + 1, widest); })
          .code(),
      StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace ringkv::cluster
