#include "ring/placement.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>

#include "ring/balance.h"
#include "ring/test_util.h"

namespace ringkv::ring {
namespace {

using testing::Nodes;
using testing::SamplePositions;

std::unique_ptr<Placement> Must(Algorithm a, std::vector<NodeSpec> nodes, PlacementOptions o = {}) {
  auto p = MakePlacement(a, std::move(nodes), o);
  if (!p.ok()) throw std::runtime_error(p.status().ToString());
  return std::move(*p);
}

TEST(PlacementTest, NamesRoundTrip) {
  for (Algorithm a : {Algorithm::kRing, Algorithm::kJump, Algorithm::kMaglev, Algorithm::kRendezvous}) {
    EXPECT_EQ(ParseAlgorithm(AlgorithmName(a)), a);
  }
  EXPECT_EQ(ParseAlgorithm("ketama"), std::nullopt);
}

TEST(PlacementTest, RejectsBadInput) {
  EXPECT_FALSE(MakePlacement(Algorithm::kJump, {}).ok());
  EXPECT_FALSE(MakePlacement(Algorithm::kMaglev, {{"a", 1}, {"a", 1}}).ok());
  EXPECT_FALSE(MakePlacement(Algorithm::kMaglev, Nodes(3), {.maglev_table_size = 65536}).ok());
}

TEST(PlacementTest, JumpHashKnownProperties) {
  EXPECT_EQ(JumpHash(12345, 1), 0u);
  // Growing from n to n+1 buckets moves keys only into the new bucket.
  for (uint64_t k : SamplePositions(100000)) {
    uint32_t a = JumpHash(k, 10);
    uint32_t b = JumpHash(k, 11);
    ASSERT_TRUE(a == b || b == 10);
    ASSERT_LT(a, 10u);
  }
}

TEST(PlacementTest, PrimeHelpers) {
  EXPECT_TRUE(IsPrime(65537));
  EXPECT_FALSE(IsPrime(65536));
  EXPECT_EQ(NextPrime(100000), 100003u);
}

TEST(PlacementTest, EveryAlgorithmSpreadsKeysEvenly) {
  for (Algorithm a : {Algorithm::kRing, Algorithm::kJump, Algorithm::kMaglev, Algorithm::kRendezvous}) {
    auto p = Must(a, Nodes(20));
    std::vector<uint64_t> counts(20, 0);
    for (uint64_t h : SamplePositions(400000)) {
      uint32_t i = p->Locate(h);
      ASSERT_LT(i, 20u);
      ++counts[i];
    }
    Balance b = BalanceFromCounts(counts, std::vector<uint32_t>(20, 1));
    EXPECT_LT(b.max_over_mean, 1.3) << AlgorithmName(a);
    EXPECT_GT(b.min_over_mean, 0.7) << AlgorithmName(a);
  }
}

TEST(PlacementTest, RingMaglevRendezvousIgnoreInputOrder) {
  auto nodes = Nodes(30);
  std::vector<NodeSpec> shuffled = nodes;
  std::shuffle(shuffled.begin(), shuffled.end(), std::mt19937(3));
  for (Algorithm a : {Algorithm::kRing, Algorithm::kMaglev, Algorithm::kRendezvous}) {
    auto p = Must(a, nodes);
    auto q = Must(a, shuffled);
    for (uint64_t h : SamplePositions(20000)) {
      ASSERT_EQ(nodes[p->Locate(h)].id, shuffled[q->Locate(h)].id) << AlgorithmName(a);
    }
  }
}

TEST(PlacementTest, RendezvousAddMovesOnlyToNewNode) {
  auto p = Must(Algorithm::kRendezvous, Nodes(10));
  auto q = Must(Algorithm::kRendezvous, Nodes(11));
  for (uint64_t h : SamplePositions(50000)) {
    uint32_t a = p->Locate(h);
    uint32_t b = q->Locate(h);
    ASSERT_TRUE(a == b || b == 10);
  }
}

TEST(PlacementTest, WeightedRendezvousAndMaglevFavourHeavyNode) {
  auto nodes = Nodes(5);
  nodes[0].weight = 3;
  for (Algorithm a : {Algorithm::kMaglev, Algorithm::kRendezvous}) {
    auto p = Must(a, nodes);
    std::vector<uint64_t> counts(5, 0);
    for (uint64_t h : SamplePositions(200000)) ++counts[p->Locate(h)];
    double ratio = static_cast<double>(counts[0]) / static_cast<double>(counts[1]);
    EXPECT_GT(ratio, 2.5) << AlgorithmName(a);
    EXPECT_LT(ratio, 3.5) << AlgorithmName(a);
  }
}

}  // namespace
}  // namespace ringkv::ring
