#include "ring/balance.h"

#include <gtest/gtest.h>

#include <array>
#include <cmath>
#include <numeric>

#include "ring/test_util.h"

namespace ringkv::ring {
namespace {

using testing::MustBuild;
using testing::Nodes;
using testing::SamplePositions;

TEST(BalanceTest, ArcSharesSumToOne) {
  RingPtr r = MustBuild(Nodes(7));
  Balance b = BalanceFromArcs(*r);
  ASSERT_EQ(b.share.size(), 7u);
  EXPECT_NEAR(std::accumulate(b.share.begin(), b.share.end(), 0.0), 1.0, 1e-9);
  EXPECT_GE(b.max_over_mean, 1.0);
  EXPECT_LE(b.min_over_mean, 1.0);
}

TEST(BalanceTest, CvShrinksLikeOneOverSqrtVnodes) {
  // Averaged over several clusters the CV tracks about 1/sqrt(vnodes).
  for (uint32_t v : {16u, 160u, 1000u}) {
    RingPtr r = MustBuild(Nodes(100), {.vnodes_per_weight = v});
    double cv = BalanceFromArcs(*r).cv;
    double expect = 1.0 / std::sqrt(static_cast<double>(v));
    EXPECT_GT(cv, expect * 0.6) << "vnodes " << v;
    EXPECT_LT(cv, expect * 1.5) << "vnodes " << v;
  }
}

TEST(BalanceTest, SampleAgreesWithArcs) {
  RingPtr r = MustBuild(Nodes(10));
  std::vector<uint64_t> counts(r->size(), 0);
  for (uint64_t p : SamplePositions(1000000)) ++counts[r->OwnerIndex(p)];
  Balance sampled = BalanceFromCounts(counts, std::vector<uint32_t>(10, 1));
  Balance exact = BalanceFromArcs(*r);
  for (size_t i = 0; i < 10; ++i) EXPECT_NEAR(sampled.share[i], exact.share[i], 0.003);
}

TEST(BalanceTest, ReplicaSharesCountEveryCopy) {
  RingPtr r = MustBuild(Nodes(10));
  Balance one = BalanceFromArcs(*r, 1);
  EXPECT_EQ(one.share, BalanceFromArcs(*r).share);
  Balance three = BalanceFromArcs(*r, 3);
  EXPECT_NEAR(std::accumulate(three.share.begin(), three.share.end(), 0.0), 1.0, 1e-9);
  // Three copies spread over more arcs than one: the spread narrows.
  EXPECT_LT(three.cv, one.cv);
  // Every node holds every key: equal shares whatever the arcs.
  RingPtr four = MustBuild(Nodes(4));
  for (double s : BalanceFromArcs(*four, kMaxReplication).share) EXPECT_NEAR(s, 0.25, 1e-9);
}

TEST(BalanceTest, ReplicaSampleAgreesWithArcs) {
  RingPtr r = MustBuild(Nodes(10));
  std::vector<uint64_t> counts(r->size(), 0);
  std::array<uint32_t, 3> owners{};
  for (uint64_t p : SamplePositions(1000000)) {
    r->Owners(p, owners);
    for (uint32_t n : owners) ++counts[n];
  }
  Balance sampled = BalanceFromCounts(counts, std::vector<uint32_t>(10, 1));
  Balance exact = BalanceFromArcs(*r, 3);
  for (size_t i = 0; i < 10; ++i) EXPECT_NEAR(sampled.share[i], exact.share[i], 0.002);
}

TEST(BalanceTest, LoadIsNormalisedByWeight) {
  Balance b = BalanceFromCounts({100, 200}, {1, 2});
  EXPECT_DOUBLE_EQ(b.load[0], 1.0);
  EXPECT_DOUBLE_EQ(b.load[1], 1.0);
  EXPECT_DOUBLE_EQ(b.cv, 0.0);
  Balance uneven = BalanceFromCounts({100, 300}, {1, 1});
  EXPECT_DOUBLE_EQ(uneven.max_over_mean, 1.5);
  EXPECT_DOUBLE_EQ(uneven.min_over_mean, 0.5);
  EXPECT_DOUBLE_EQ(uneven.cv, 0.5);
}

}  // namespace
}  // namespace ringkv::ring
