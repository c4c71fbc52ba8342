#include "ring/diff.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <set>

#include "ring/arc_set.h"
#include "ring/test_util.h"

namespace ringkv::ring {
namespace {

using testing::MustBuild;
using testing::Nodes;
using testing::SamplePositions;

// Random positions, both ends of the ring, and every vnode point of either
// ring and the position after it.
std::vector<uint64_t> Probes(const Ring& before, const Ring& after, size_t samples) {
  std::vector<uint64_t> probes = SamplePositions(samples, 5);
  for (const Ring::Vnode& v : before.vnodes()) probes.insert(probes.end(), {v.point, v.point + 1});
  for (const Ring::Vnode& v : after.vnodes()) probes.insert(probes.end(), {v.point, v.point + 1});
  probes.insert(probes.end(), {0, UINT64_MAX});
  return probes;
}

// The arc holding p among disjoint arcs sorted by hi, or nullptr. Binary
// search on hi finds the only candidate arc, or the wrapping one.
template <typename A>
const A* FindArc(const std::vector<A>& arcs, uint64_t p) {
  auto it = std::lower_bound(arcs.begin(), arcs.end(), p,
                             [](const A& a, uint64_t x) { return a.hi < x; });
  if (it != arcs.end() && it->Contains(p)) return &*it;
  if (!arcs.empty() && arcs.front().wraps() && arcs.front().Contains(p)) return &arcs.front();
  if (!arcs.empty() && arcs.back().wraps() && arcs.back().Contains(p)) return &arcs.back();
  return nullptr;
}

// Every sampled position is in exactly one arc iff its owner changes, and that
// arc names the old and the new owner.
void ExpectDiffIsExact(const Ring& before, const Ring& after, size_t samples) {
  std::vector<Arc> arcs = Diff(before, after);
  // Arcs are disjoint and sorted by hi (the wrapping arc, if any, comes first).
  for (size_t i = 1; i < arcs.size(); ++i) ASSERT_LT(arcs[i - 1].hi, arcs[i].hi);
  for (uint64_t p : Probes(before, after, samples)) {
    const std::string& from = before.Owner(p);
    const std::string& to = after.Owner(p);
    const Arc* hit = FindArc(arcs, p);
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

std::vector<std::string> Names(const Ring& ring, const std::vector<uint32_t>& indices) {
  std::vector<std::string> out;
  out.reserve(indices.size());
  for (uint32_t i : indices) out.push_back(ring.nodes()[i].id);
  return out;
}

std::set<std::string> SetOf(const std::vector<std::string>& v) {
  return {v.begin(), v.end()};
}

// Applying the diff to the old lists gives the new ones: a position lies in
// an arc iff its list changes; the arc holds both lists; old nodes minus
// `lost` plus `gained` are the new nodes.
void ExpectReplicaDiffIsExact(const Ring& before, uint32_t n_before, const Ring& after,
                              uint32_t n_after, size_t samples) {
  std::vector<ReplicaArc> arcs = ReplicaDiff(before, n_before, after, n_after);
  for (size_t i = 1; i < arcs.size(); ++i) ASSERT_LT(arcs[i - 1].hi, arcs[i].hi);
  for (uint64_t p : Probes(before, after, samples)) {
    std::vector<std::string> old_list = Names(before, before.PreferenceList(p, n_before));
    std::vector<std::string> new_list = Names(after, after.PreferenceList(p, n_after));
    const ReplicaArc* hit = FindArc(arcs, p);
    if (old_list == new_list) {
      ASSERT_EQ(hit, nullptr) << "position " << p << " keeps its list but lies in an arc";
      continue;
    }
    ASSERT_NE(hit, nullptr) << "position " << p << " changes its list but lies in no arc";
    ASSERT_EQ(hit->before, old_list);
    ASSERT_EQ(hit->after, new_list);
    std::set<std::string> applied = SetOf(old_list);
    for (const std::string& id : hit->lost) ASSERT_EQ(applied.erase(id), 1u) << id;
    for (const std::string& id : hit->gained) ASSERT_TRUE(applied.insert(id).second) << id;
    ASSERT_EQ(applied, SetOf(new_list));
  }
}

// Drops arcs whose owner stays and merges what remains like Diff does.
std::vector<Arc> Primaries(const std::vector<ReplicaArc>& arcs) {
  std::vector<Arc> out;
  for (const ReplicaArc& a : arcs) {
    if (a.before.front() == a.after.front()) continue;
    if (!out.empty() && out.back().hi == a.lo && out.back().from == a.before.front() &&
        out.back().to == a.after.front()) {
      out.back().hi = a.hi;
    } else {
      out.push_back({a.lo, a.hi, a.before.front(), a.after.front()});
    }
  }
  if (out.size() > 1 && out.back().hi == out.front().lo && out.back().from == out.front().from &&
      out.back().to == out.front().to) {
    out.front().lo = out.back().lo;
    out.pop_back();
  }
  return out;
}

// Ring pairs for the properties: a node added, removed, reweighted, half the
// nodes replaced, the vnode count changed.
std::vector<std::pair<RingPtr, RingPtr>> Changes() {
  auto nodes = Nodes(10);
  auto heavier = nodes;
  heavier[2].weight = 3;
  auto fewer = nodes;
  fewer.erase(fewer.begin() + 4);
  return {{MustBuild(nodes), MustBuild(Nodes(11))},
          {MustBuild(nodes), MustBuild(fewer)},
          {MustBuild(nodes), MustBuild(heavier)},
          {MustBuild(nodes), MustBuild(Nodes(10, 5))},
          {MustBuild(nodes), MustBuild(nodes, {.vnodes_per_weight = 40})},
          {MustBuild(Nodes(3)), MustBuild(Nodes(4))}};
}

TEST(ReplicaDiffTest, AppliedToTheOldListsGivesTheNewOnes) {
  for (const auto& [a, b] : Changes()) {
    for (uint32_t n : {1u, 2u, 3u, kMaxReplication}) ExpectReplicaDiffIsExact(*a, n, *b, n, 100000);
    ExpectReplicaDiffIsExact(*a, 2, *b, 3, 100000);
  }
}

TEST(ReplicaDiffTest, WithOneReplicaIsDiff) {
  for (const auto& [a, b] : Changes()) {
    std::vector<Arc> as_arcs;
    for (const ReplicaArc& r : ReplicaDiff(*a, *b, 1)) {
      ASSERT_EQ(r.before.size(), 1u);
      ASSERT_EQ(r.after.size(), 1u);
      as_arcs.push_back({r.lo, r.hi, r.before[0], r.after[0]});
    }
    EXPECT_EQ(as_arcs, Diff(*a, *b));
  }
}

TEST(ReplicaDiffTest, PrimariesOfThreeReplicasAreDiff) {
  for (const auto& [a, b] : Changes()) EXPECT_EQ(Primaries(ReplicaDiff(*a, *b, 3)), Diff(*a, *b));
}

// A new node enters the lists of the positions that meet it within n
// distinct nodes, about n/(N+1) of the ring, and bumps at most the last
// replica there; no other node gains anything.
TEST(ReplicaDiffTest, AddingANodeChangesListsOnlyWhereItEnters) {
  constexpr uint32_t kN = 3;
  RingPtr a = MustBuild(Nodes(20));
  RingPtr b = MustBuild(Nodes(21));
  double changed = 0;
  for (const ReplicaArc& arc : ReplicaDiff(*a, *b, kN)) {
    ASSERT_EQ(arc.gained, std::vector<std::string>{"node-20"});
    ASSERT_EQ(arc.lost.size(), 1u);
    ASSERT_EQ(arc.lost.front(), arc.before.back());
    changed += static_cast<double>(arc.Length()) / 0x1p64;
  }
  EXPECT_NEAR(changed, kN / 21.0, 0.25 * kN / 21.0);
}

TEST(ReplicaDiffTest, RemovingANodeHandsItsCopiesToTheNextNode) {
  constexpr uint32_t kN = 3;
  auto nodes = Nodes(20);
  RingPtr a = MustBuild(nodes);
  nodes.erase(nodes.begin() + 7);
  RingPtr b = MustBuild(nodes);
  std::vector<ReplicaArc> arcs = ReplicaDiff(*a, *b, kN);
  EXPECT_FALSE(arcs.empty());
  for (const ReplicaArc& arc : arcs) {
    ASSERT_EQ(arc.lost, std::vector<std::string>{"node-7"});
    ASSERT_EQ(arc.gained.size(), 1u);
    ASSERT_EQ(arc.gained.front(), arc.after.back());
  }
}

// On one ring a larger factor appends replicas and a smaller one drops the
// trailing ones; every position changes.
TEST(ReplicaDiffTest, ChangingTheFactorTouchesOnlyTrailingReplicas) {
  RingPtr r = MustBuild(Nodes(12), {.vnodes_per_weight = 32});
  for (auto [from, to] : {std::pair{2u, 4u}, std::pair{4u, 2u}, std::pair{1u, 5u}}) {
    std::vector<ReplicaArc> arcs = ReplicaDiff(*r, from, *r, to);
    for (const ReplicaArc& arc : arcs) {
      const auto& shorter = from < to ? arc.before : arc.after;
      const auto& longer = from < to ? arc.after : arc.before;
      ASSERT_TRUE(std::equal(shorter.begin(), shorter.end(), longer.begin()));
      const std::vector<std::string> tail(longer.begin() + std::min(from, to), longer.end());
      ASSERT_EQ(from < to ? arc.gained : arc.lost, tail);
      ASSERT_TRUE((from < to ? arc.lost : arc.gained).empty());
    }
    for (uint64_t p : SamplePositions(10000, 9)) ASSERT_NE(FindArc(arcs, p), nullptr);
    ExpectReplicaDiffIsExact(*r, from, *r, to, 100000);
  }
  // Lists are capped at the node count: 3 nodes hold 3 replicas at most.
  RingPtr three = MustBuild(Nodes(3));
  EXPECT_TRUE(ReplicaDiff(*three, 3, *three, 5).empty());
}

TEST(ReplicaDiffTest, EdgeCases) {
  RingPtr a = MustBuild(Nodes(5));
  RingPtr e = MustBuild({});
  EXPECT_TRUE(ReplicaDiff(*a, *e, 3).empty());
  EXPECT_TRUE(ReplicaDiff(*e, *a, 3).empty());
  EXPECT_TRUE(ReplicaDiff(*a, *MustBuild(Nodes(5)), 3).empty());
  RingPtr x = MustBuild({{"x", 1}}, {.vnodes_per_weight = 4});
  RingPtr y = MustBuild({{"y", 1}}, {.vnodes_per_weight = 4});
  std::vector<ReplicaArc> arcs = ReplicaDiff(*x, *y, 3);
  ASSERT_EQ(arcs.size(), 1u);
  EXPECT_EQ(arcs[0].lo, arcs[0].hi);  // the whole ring
  EXPECT_EQ(arcs[0].before, std::vector<std::string>{"x"});
  EXPECT_EQ(arcs[0].gained, std::vector<std::string>{"y"});
  EXPECT_EQ(arcs[0].lost, std::vector<std::string>{"x"});
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
