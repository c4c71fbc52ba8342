#include "cluster/neighbors.h"

#include <gtest/gtest.h>

#include <set>
#include <string>

namespace ringkv::cluster {
namespace {

ClusterMap MapOf(int n) {
  ClusterMap map;
  map.epoch = 1;
  for (int i = 0; i < n; ++i) {
    NodeInfo info;
    info.id = "node-" + std::to_string(i);
    info.addr = "127.0.0.1:" + std::to_string(7000 + i);
    map.nodes.push_back(info);
  }
  return map;
}

TEST(NeighborsTest, PositionsAreTheHashOfTheNodeId) {
  ClusterMap map = MapOf(1);
  EXPECT_EQ(NodePosition(map, map.nodes[0]), ring::HashKey(map.hash, "node-0"));
  map.hash = ring::HashKind::kSha256;
  EXPECT_EQ(NodePosition(map, map.nodes[0]), ring::HashKey(ring::HashKind::kSha256, "node-0"));
}

TEST(NeighborsTest, ASingleNodeIsItsOwnNeighbour) {
  ClusterMap map = MapOf(1);
  auto n = NeighborsOf(map, "node-0");
  ASSERT_TRUE(n.has_value());
  EXPECT_EQ(n->previous.index, 0u);
  EXPECT_EQ(n->next.index, 0u);
  EXPECT_FALSE(NeighborsOf(map, "node-9").has_value());
}

// Property: for every cluster size, next and previous are inverse and the
// next pointers form one cycle through every node in service, in position order.
TEST(NeighborsTest, NextAndPreviousFormOneOrderedCycle) {
  for (int size = 2; size <= 40; ++size) {
    ClusterMap map = MapOf(size);
    map.nodes[0].state = NodeState::kLeaving;  // not in service
    std::set<size_t> seen;
    std::string id = map.nodes[1].id;
    for (int step = 0; step < size - 1; ++step) {
      auto n = NeighborsOf(map, id);
      ASSERT_TRUE(n.has_value()) << id;
      EXPECT_TRUE(seen.insert(n->self.index).second);
      auto back = NeighborsOf(map, map.nodes[n->next.index].id);
      ASSERT_TRUE(back.has_value());
      EXPECT_EQ(back->previous.index, n->self.index);
      if (n->next.position < n->self.position) {
        // Only the wrap from the largest to the smallest position goes down.
        EXPECT_EQ(n->next.index, NodesByPosition(map).front().index);
      }
      id = map.nodes[n->next.index].id;
    }
    EXPECT_EQ(seen.size(), static_cast<size_t>(size - 1));
    EXPECT_EQ(seen.count(0), 0u);
    EXPECT_EQ(id, map.nodes[1].id);  // back where it started
  }
}

TEST(NeighborsTest, PredecessorOfAPositionWraps) {
  ClusterMap map = MapOf(5);
  auto placed = NodesByPosition(map);
  ASSERT_EQ(placed.size(), 5u);
  EXPECT_EQ(PredecessorOf(map, placed[0].position)->index, placed[4].index);
  EXPECT_EQ(PredecessorOf(map, placed[2].position)->index, placed[1].index);
  EXPECT_EQ(PredecessorOf(map, placed[2].position + 1)->index, placed[2].index);
  EXPECT_FALSE(PredecessorOf(MapOf(0), 5).has_value());
}

}  // namespace
}  // namespace ringkv::cluster
