#include "ring/ring.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <random>
#include <set>

#include "ring/test_util.h"

namespace ringkv::ring {
namespace {

using testing::MustBuild;
using testing::Nodes;
using testing::SamplePositions;

// The definition, by binary search over the sorted vnodes.
uint32_t ReferenceOwner(const Ring& ring, uint64_t pos) {
  auto v = ring.vnodes();
  auto it = std::lower_bound(v.begin(), v.end(), pos,
                             [](const Ring::Vnode& a, uint64_t p) { return a.point < p; });
  return it == v.end() ? v.front().owner : it->owner;
}

TEST(RingTest, ValidatesInput) {
  EXPECT_EQ(Ring::Build({{"a", 1}, {"a", 1}}).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(Ring::Build({{"", 1}}).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(Ring::Build({{"a", 0}}).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(Ring::Build({{"a", 1}}, {.vnodes_per_weight = 0}).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(Ring::Build(Nodes(2), {.vnodes_per_weight = kMaxRingVnodes}).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_NE(Ring::Build({{"a", 0}}).status().message().find("weight"), std::string::npos);
}

TEST(RingTest, EmptyRingHasNoOwner) {
  RingPtr r = MustBuild({});
  EXPECT_TRUE(r->empty());
  EXPECT_EQ(r->OwnerIndex(0), kNoNode);
  EXPECT_EQ(r->OwnerIndex(UINT64_MAX), kNoNode);
  EXPECT_TRUE(r->PreferenceList(42, 3).empty());
}

TEST(RingTest, VnodeCountIsWeightTimesVnodes) {
  RingPtr r = MustBuild({{"a", 1}, {"b", 3}}, {.vnodes_per_weight = 10});
  EXPECT_EQ(r->vnodes().size(), 40u);
  size_t b = std::count_if(r->vnodes().begin(), r->vnodes().end(),
                           [&](const Ring::Vnode& v) { return v.owner == r->IndexOf("b"); });
  EXPECT_EQ(b, 30u);
}

TEST(RingTest, VnodePositionsAreTheDocumentedFunction) {
  RingPtr r = MustBuild({{"alpha", 1}, {"beta", 2}}, {.vnodes_per_weight = 7});
  for (const Ring::Vnode& v : r->vnodes()) {
    EXPECT_EQ(v.point, VnodePosition(HashKind::kXxh3, r->nodes()[v.owner].id, v.index));
  }
}

TEST(RingTest, SameNodesInAnyOrderBuildIdenticalRing) {
  auto nodes = Nodes(50);
  nodes[7].weight = 3;
  RingPtr a = MustBuild(nodes);
  std::mt19937 rng(7);
  for (int round = 0; round < 5; ++round) {
    std::shuffle(nodes.begin(), nodes.end(), rng);
    RingPtr b = MustBuild(nodes);
    ASSERT_EQ(a->vnodes().size(), b->vnodes().size());
    for (size_t i = 0; i < a->vnodes().size(); ++i) {
      ASSERT_EQ(a->vnodes()[i].point, b->vnodes()[i].point);
      ASSERT_EQ(a->nodes()[a->vnodes()[i].owner].id, b->nodes()[b->vnodes()[i].owner].id);
    }
    for (uint64_t p : SamplePositions(10000, round)) ASSERT_EQ(a->Owner(p), b->Owner(p));
  }
}

// The bucket table must agree with binary search everywhere, including at
// and next to every vnode point and at both ends of the ring.
TEST(RingTest, LookupMatchesBinarySearch) {
  for (size_t n : {1, 2, 3, 10, 100, 1000}) {
    for (uint32_t bits : {0u, 8u, 12u, 20u}) {
      RingPtr r = MustBuild(Nodes(n), {.vnodes_per_weight = 160, .bucket_bits = bits});
      std::vector<uint64_t> probes = SamplePositions(20000, n);
      probes.insert(probes.end(), {0, 1, UINT64_MAX, UINT64_MAX - 1});
      for (const Ring::Vnode& v : r->vnodes()) {
        probes.insert(probes.end(), {v.point, v.point - 1, v.point + 1});
      }
      for (uint64_t p : probes) {
        ASSERT_EQ(r->OwnerIndex(p), ReferenceOwner(*r, p)) << "n=" << n << " bits=" << bits << " p=" << p;
      }
    }
  }
}

TEST(RingTest, KeyOwnerUsesConfiguredHash) {
  RingPtr x = MustBuild(Nodes(5));
  RingPtr s = MustBuild(Nodes(5), {.hash = HashKind::kSha256});
  EXPECT_EQ(x->OwnerIndexOfKey("k"), x->OwnerIndex(HashXxh3("k")));
  EXPECT_EQ(s->OwnerIndexOfKey("k"), s->OwnerIndex(HashSha256("k")));
  EXPECT_EQ(s->KeyPosition("hello"), 0x2cf24dba5fb0a30eULL);
}

TEST(RingTest, PreferenceListIsDistinctAndInRingOrder) {
  RingPtr r = MustBuild(Nodes(10), {.vnodes_per_weight = 16});
  for (uint64_t p : SamplePositions(2000)) {
    std::vector<uint32_t> pl = r->PreferenceList(p, 3);
    ASSERT_EQ(pl.size(), 3u);
    EXPECT_EQ(pl[0], r->OwnerIndex(p));
    EXPECT_EQ(std::set<uint32_t>(pl.begin(), pl.end()).size(), 3u);
    // Expected: first appearances walking the vnodes clockwise from p.
    std::vector<uint32_t> want;
    auto v = r->vnodes();
    for (size_t i = r->VnodeAt(p), steps = 0; want.size() < 3 && steps < v.size();
         ++steps, i = (i + 1) % v.size()) {
      if (std::find(want.begin(), want.end(), v[i].owner) == want.end()) want.push_back(v[i].owner);
    }
    EXPECT_EQ(pl, want);
  }
  EXPECT_EQ(r->PreferenceList(5, 100).size(), 10u);  // capped at the node count
}

// The definition of a preference list: from the owning vnode (binary
// search, wrapping past the last point), the first n distinct owners.
std::vector<uint32_t> ReferenceOwners(const Ring& ring, uint64_t pos, size_t n) {
  auto v = ring.vnodes();
  std::vector<uint32_t> want;
  if (v.empty()) return want;
  auto it = std::lower_bound(v.begin(), v.end(), pos,
                             [](const Ring::Vnode& a, uint64_t p) { return a.point < p; });
  size_t i = it == v.end() ? 0 : static_cast<size_t>(it - v.begin());
  for (size_t steps = 0; want.size() < n && steps < v.size(); ++steps, i = (i + 1) % v.size()) {
    if (std::find(want.begin(), want.end(), v[i].owner) == want.end()) want.push_back(v[i].owner);
  }
  return want;
}

std::vector<uint32_t> OwnersOf(const Ring& ring, uint64_t pos, size_t n) {
  std::vector<uint32_t> out(n, kNoNode);
  out.resize(ring.Owners(pos, out));
  return out;
}

// Probes: random positions, both ends of the ring, and each vnode point and
// its neighbours.
std::vector<uint64_t> Probes(const Ring& ring, size_t random, uint64_t seed) {
  std::vector<uint64_t> probes = SamplePositions(random, seed);
  probes.insert(probes.end(), {0, 1, UINT64_MAX, UINT64_MAX - 1});
  for (const Ring::Vnode& v : ring.vnodes()) {
    probes.insert(probes.end(), {v.point, v.point - 1, v.point + 1});
  }
  return probes;
}

// Random rings: 1-40 nodes, weights 1-4, 1-40 vnodes per weight, tiny to
// large bucket tables; lists from 1 to past the node count, and past
// kMaxReplication (which walk instead of copying a row).
TEST(OwnersTest, MatchesABruteForceWalkOnRandomRings) {
  std::mt19937 rng(2024);
  for (int round = 0; round < 60; ++round) {
    auto nodes = Nodes(1 + rng() % 40);
    for (NodeSpec& n : nodes) n.weight = 1 + rng() % 4;
    const RingOptions options{.vnodes_per_weight = 1 + static_cast<uint32_t>(rng() % 40),
                              .bucket_bits = std::array<uint32_t, 4>{0, 1, 8, 14}[rng() % 4]};
    RingPtr r = MustBuild(nodes, options);
    const auto v = r->vnodes();
    for (uint64_t p : Probes(*r, 500, round)) {
      auto it = std::lower_bound(v.begin(), v.end(), p,
                                 [](const Ring::Vnode& a, uint64_t x) { return a.point < x; });
      ASSERT_EQ(r->VnodeAt(p), it == v.end() ? 0 : static_cast<size_t>(it - v.begin()));
      for (size_t n = 1; n <= std::min<size_t>(r->size() + 2, kMaxReplication + 3); ++n) {
        ASSERT_EQ(OwnersOf(*r, p, n), ReferenceOwners(*r, p, n))
            << "round " << round << " nodes " << r->size() << " p " << p << " n " << n
            << " bucket_bits " << options.bucket_bits;
      }
    }
  }
}

TEST(OwnersTest, AreDistinctAndStartWithTheOwner) {
  RingPtr r = MustBuild(Nodes(100));
  std::array<uint32_t, kMaxReplication> out{};
  for (uint64_t p : SamplePositions(100000, 3)) {
    ASSERT_EQ(r->Owners(p, out), kMaxReplication);
    EXPECT_EQ(out[0], r->OwnerIndex(p));
    EXPECT_EQ(std::set<uint32_t>(out.begin(), out.end()).size(), kMaxReplication);
  }
}

TEST(OwnersTest, WrapPastTheLastVnode) {
  RingPtr r = MustBuild(Nodes(7), {.vnodes_per_weight = 3});
  const uint64_t last = r->vnodes().back().point;
  ASSERT_LT(last, UINT64_MAX);
  for (uint64_t p : {last + 1, UINT64_MAX, uint64_t{0}}) {
    std::vector<uint32_t> got = OwnersOf(*r, p, 4);
    EXPECT_EQ(got.front(), r->vnodes().front().owner);
    EXPECT_EQ(got, ReferenceOwners(*r, r->vnodes().front().point, 4));
  }
  // From the last vnode the walk continues at vnode 0.
  EXPECT_EQ(OwnersOf(*r, last, 4), ReferenceOwners(*r, last, 4));
}

TEST(OwnersTest, ListsAreCappedAtTheNodeCount) {
  RingPtr one = MustBuild({{"solo", 1}});
  EXPECT_EQ(OwnersOf(*one, 42, 3), std::vector<uint32_t>{0});
  RingPtr three = MustBuild(Nodes(3));
  std::vector<uint32_t> all = OwnersOf(*three, 42, kMaxReplication);
  EXPECT_EQ(std::set<uint32_t>(all.begin(), all.end()), (std::set<uint32_t>{0, 1, 2}));
  RingPtr empty = MustBuild({});
  std::array<uint32_t, 3> out{};
  EXPECT_EQ(empty->Owners(42, out), 0u);
  EXPECT_EQ(three->Owners(42, std::span<uint32_t>()), 0u);
}

// One heavy node makes long runs of its vnodes that a walk must skip.
TEST(OwnersTest, SkipLongRunsOfAHeavyNode) {
  auto nodes = Nodes(6);
  nodes[0].weight = 200;
  RingPtr r = MustBuild(nodes, {.vnodes_per_weight = 4});
  for (uint64_t p : Probes(*r, 5000, 8)) {
    for (size_t n : {size_t{3}, size_t{6}}) {
      ASSERT_EQ(OwnersOf(*r, p, n), ReferenceOwners(*r, p, n));
    }
  }
}

TEST(OwnersTest, OfKeyUsesTheConfiguredHash) {
  RingPtr s = MustBuild(Nodes(9), {.hash = HashKind::kSha256});
  std::array<uint32_t, 3> by_key{};
  std::array<uint32_t, 3> by_position{};
  s->OwnersOfKey("user:1000", by_key);
  s->Owners(HashSha256("user:1000"), by_position);
  EXPECT_EQ(by_key, by_position);
}

// Past kMaxReplication PreferenceList switches to a bitmap walk.
TEST(OwnersTest, LongPreferenceListsMatchTheReference) {
  RingPtr r = MustBuild(Nodes(40), {.vnodes_per_weight = 8});
  for (uint64_t p : SamplePositions(2000, 4)) {
    for (size_t n : {size_t{6}, size_t{20}, size_t{40}, size_t{100}}) {
      ASSERT_EQ(r->PreferenceList(p, n), ReferenceOwners(*r, p, n));
    }
  }
}

TEST(RingTest, WeightTwoGetsAboutTwiceTheKeys) {
  auto nodes = Nodes(10);
  nodes[3].weight = 2;
  RingPtr r = MustBuild(nodes);
  std::vector<uint64_t> count(r->size(), 0);
  for (uint64_t p : SamplePositions(1000000)) ++count[r->OwnerIndex(p)];
  double heavy = static_cast<double>(count[r->IndexOf("node-3")]);
  double others = 0;
  for (size_t i = 0; i < count.size(); ++i) {
    if (i != r->IndexOf("node-3")) others += static_cast<double>(count[i]);
  }
  double ratio = heavy / (others / 9);
  EXPECT_GT(ratio, 1.7);
  EXPECT_LT(ratio, 2.3);
}

// Adding a node moves keys only to it, and about 1/(n+1) of them.
class AddNodeTest : public ::testing::TestWithParam<size_t> {};

TEST_P(AddNodeTest, MovesOnlyToNewNodeAboutOneOverNPlusOne) {
  size_t n = GetParam();
  RingPtr before = MustBuild(Nodes(n));
  RingPtr after = MustBuild(Nodes(n + 1));
  const std::string new_id = "node-" + std::to_string(n);
  size_t moved = 0;
  const auto keys = SamplePositions(1000000, 99);
  for (uint64_t p : keys) {
    const std::string& a = before->Owner(p);
    const std::string& b = after->Owner(p);
    if (a != b) {
      ASSERT_EQ(b, new_id) << "a key moved between two old nodes";
      ++moved;
    }
  }
  double fraction = static_cast<double>(moved) / static_cast<double>(keys.size());
  double ideal = 1.0 / static_cast<double>(n + 1);
  EXPECT_GT(fraction, ideal * 0.75) << "fraction " << fraction << " ideal " << ideal;
  EXPECT_LT(fraction, ideal * 1.25) << "fraction " << fraction << " ideal " << ideal;
}

INSTANTIATE_TEST_SUITE_P(Sizes, AddNodeTest, ::testing::Values(10, 100, 1000));

TEST(RingTest, RemovingANodeMovesOnlyItsKeys) {
  for (size_t n : {3, 10, 100}) {
    auto nodes = Nodes(n);
    RingPtr before = MustBuild(nodes);
    const std::string gone = nodes[n / 2].id;
    nodes.erase(nodes.begin() + static_cast<std::ptrdiff_t>(n / 2));
    RingPtr after = MustBuild(nodes);
    for (uint64_t p : SamplePositions(200000, n)) {
      const std::string& a = before->Owner(p);
      if (a == gone) {
        ASSERT_NE(after->Owner(p), gone);
      } else {
        ASSERT_EQ(after->Owner(p), a) << "a key of a surviving node moved";
      }
    }
  }
}

}  // namespace
}  // namespace ringkv::ring
