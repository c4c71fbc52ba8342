#include "ring/diff.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "ring/arc_set.h"
#include "ring/test_util.h"

namespace ringkv::ring {
namespace {

using testing::MustBuild;
using testing::Nodes;
using testing::SamplePositions;

// Every sampled position is in exactly one arc iff its owner changes, and that
// arc names the old and the new owner.
void ExpectDiffIsExact(const Ring& before, const Ring& after, size_t samples) {
  std::vector<Arc> arcs = Diff(before, after);
  // Arcs are disjoint and sorted by hi (the wrapping arc, if any, comes first).
  for (size_t i = 1; i < arcs.size(); ++i) ASSERT_LT(arcs[i - 1].hi, arcs[i].hi);
  std::vector<uint64_t> probes = SamplePositions(samples, 5);
  for (const Ring::Vnode& v : before.vnodes()) probes.insert(probes.end(), {v.point, v.point + 1});
  for (const Ring::Vnode& v : after.vnodes()) probes.insert(probes.end(), {v.point, v.point + 1});
  probes.insert(probes.end(), {0, UINT64_MAX});
  for (uint64_t p : probes) {
    const std::string& from = before.Owner(p);
    const std::string& to = after.Owner(p);
    // Binary search on hi finds the only candidate arc, or the wrapping one.
    auto it = std::lower_bound(arcs.begin(), arcs.end(), p,
                               [](const Arc& a, uint64_t x) { return a.hi < x; });
    const Arc* hit = nullptr;
    if (it != arcs.end() && it->Contains(p)) hit = &*it;
    if (!hit && !arcs.empty() && arcs.front().wraps() && arcs.front().Contains(p)) hit = &arcs.front();
    if (!hit && !arcs.empty() && arcs.back().wraps() && arcs.back().Contains(p)) hit = &arcs.back();
    if (from == to) {
      ASSERT_EQ(hit, nullptr) << "position " << p << " keeps its owner but lies in an arc";
    } else {
      ASSERT_NE(hit, nullptr) << "position " << p << " moves " << from << "->" << to << " but no arc";
      ASSERT_EQ(hit->from, from);
      ASSERT_EQ(hit->to, to);
    }
  }
}

TEST(DiffTest, AddNodeOnAMillionKeys) {
  RingPtr a = MustBuild(Nodes(10));
  RingPtr b = MustBuild(Nodes(11));
  ExpectDiffIsExact(*a, *b, 1000000);
  for (const Arc& arc : Diff(*a, *b)) EXPECT_EQ(arc.to, "node-10");
}

TEST(DiffTest, RemoveNodeOnAMillionKeys) {
  RingPtr a = MustBuild(Nodes(10));
  auto nodes = Nodes(10);
  nodes.erase(nodes.begin() + 4);
  RingPtr b = MustBuild(nodes);
  ExpectDiffIsExact(*a, *b, 1000000);
  for (const Arc& arc : Diff(*a, *b)) EXPECT_EQ(arc.from, "node-4");
}

TEST(DiffTest, VnodeChangeOnAMillionKeys) {
  RingPtr a = MustBuild(Nodes(5), {.vnodes_per_weight = 160});
  RingPtr b = MustBuild(Nodes(5), {.vnodes_per_weight = 64});
  ExpectDiffIsExact(*a, *b, 1000000);
}

TEST(DiffTest, WeightChangeAndReplacement) {
  auto nodes = Nodes(6);
  RingPtr a = MustBuild(nodes);
  nodes[2].weight = 3;
  RingPtr b = MustBuild(nodes);
  ExpectDiffIsExact(*a, *b, 200000);
  RingPtr c = MustBuild(Nodes(6, 3));  // three leave, three join
  ExpectDiffIsExact(*a, *c, 200000);
}

TEST(DiffTest, IdenticalRingsHaveNoArcs) {
  RingPtr a = MustBuild(Nodes(20));
  EXPECT_TRUE(Diff(*a, *MustBuild(Nodes(20))).empty());
}

TEST(DiffTest, SingleNodeReplacedMovesTheWholeRing) {
  RingPtr a = MustBuild({{"a", 1}}, {.vnodes_per_weight = 4});
  RingPtr b = MustBuild({{"b", 1}}, {.vnodes_per_weight = 4});
  std::vector<Arc> arcs = Diff(*a, *b);
  ASSERT_EQ(arcs.size(), 1u);
  EXPECT_EQ(arcs[0].lo, arcs[0].hi);
  EXPECT_TRUE(arcs[0].Contains(0));
  EXPECT_TRUE(arcs[0].Contains(UINT64_MAX));
  EXPECT_EQ(arcs[0].Length(), UINT64_MAX);
}

TEST(DiffTest, EmptyRingsGiveNoArcs) {
  RingPtr a = MustBuild(Nodes(3));
  RingPtr e = MustBuild({});
  EXPECT_TRUE(Diff(*a, *e).empty());
  EXPECT_TRUE(Diff(*e, *a).empty());
}

TEST(DiffTest, TransfersUseSeedShapeAndRangeRule) {
  RingPtr a = MustBuild(Nodes(4));
  RingPtr b = MustBuild(Nodes(3));
  std::vector<Arc> arcs = Diff(*a, *b);
  std::vector<Transfer> ts = ToTransfers(arcs);
  ASSERT_EQ(ts.size(), arcs.size());
  for (size_t i = 0; i < ts.size(); ++i) {
    EXPECT_EQ(ts[i].source, "node-3");
    EXPECT_EQ(ts[i].destination, arcs[i].to);
    EXPECT_EQ(ts[i].min, arcs[i].lo);
    EXPECT_EQ(ts[i].max, arcs[i].hi);
    EXPECT_EQ(ts[i].exception, arcs[i].lo >= arcs[i].hi);
    for (uint64_t p : SamplePositions(1000, i)) EXPECT_EQ(ts[i].InRange(p), arcs[i].Contains(p));
  }
  Transfer wrap{"a", "b", 100, 10, true};
  EXPECT_TRUE(wrap.InRange(5));
  EXPECT_TRUE(wrap.InRange(101));
  EXPECT_FALSE(wrap.InRange(50));
  EXPECT_FALSE(wrap.InRange(100));
  EXPECT_TRUE(wrap.InRange(10));
}

TEST(ArcSetTest, MatchesArcContains) {
  std::vector<Arc> arcs = {
      {100, 200, "", ""}, {150, 300, "", ""}, {1000, 5, "", ""}, {UINT64_MAX, 50, "", ""}};
  ArcSet set(arcs);
  for (uint64_t x : std::vector<uint64_t>{0, 5, 6, 50, 100, 101, 200, 300, 301, 999, 1000, 1001,
                                          UINT64_MAX - 1, UINT64_MAX}) {
    bool want =
        std::any_of(arcs.begin(), arcs.end(), [&](const Arc& a) { return a.Contains(x); });
    EXPECT_EQ(set.Contains(x), want) << x;
  }
  Arc whole{7, 7, "", ""};
  EXPECT_TRUE(ArcSet({&whole, 1}).Contains(7));
  EXPECT_FALSE(ArcSet({}).Contains(7));
}

}  // namespace
}  // namespace ringkv::ring
