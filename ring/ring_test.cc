#include "ring/ring.h"

#include <gtest/gtest.h>

#include <algorithm>
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
