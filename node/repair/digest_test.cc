#include "node/repair/digest.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <set>

#include "ring/test_util.h"
#include "store/memory_engine.h"

namespace ringkv::node {
namespace {

constexpr int64_t kNow = 1'700'000'000'000;

store::VersionedEntry Value(std::string v, uint64_t version, int64_t expire_at_ms = 0) {
  return {store::Entry{std::move(v), version, expire_at_ms}, false};
}
store::VersionedEntry Tombstone(uint64_t version) {
  return {store::Entry{{}, version, 0}, true};
}

void Put(store::Engine& e, const std::string& key, const store::VersionedEntry& v) {
  ASSERT_TRUE(store::InstallIfNewer(e, key, kNow, v).ok());
}

TEST(DigestTest, BucketArcsTileTheRing) {
  constexpr uint32_t kBits = 4;
  const uint64_t width = uint64_t{1} << 60;
  for (uint32_t b = 0; b < 16; ++b) {
    const ring::Arc arc = BucketArc(b, kBits);
    const uint64_t first = b * width;
    EXPECT_TRUE(arc.Contains(first)) << b;
    EXPECT_TRUE(arc.Contains(first + width - 1)) << b;
    if (b > 0) {
      EXPECT_FALSE(arc.Contains(first - 1)) << b;
    }
    if (b < 15) {
      EXPECT_FALSE(arc.Contains(first + width)) << b;
    }
    EXPECT_EQ(BucketOf(first, kBits), b);
    EXPECT_EQ(BucketOf(first + width - 1, kBits), b);
  }
  EXPECT_TRUE(BucketArc(15, kBits).Contains(UINT64_MAX));
  EXPECT_TRUE(BucketArc(0, 16).Contains(0));
}

TEST(DigestTest, BucketBitsAimAtAFewHundredKeysPerBucket) {
  EXPECT_EQ(BucketBitsFor(0), 4u);
  EXPECT_EQ(BucketBitsFor(1000), 4u);
  EXPECT_EQ(BucketBitsFor(kKeysPerBucket * 4096), 12u);
  EXPECT_EQ(BucketBitsFor(uint64_t{1} << 40), kMaxBucketBits);
}

TEST(DigestTest, FoldSumsAdjacentBuckets) {
  const std::vector<uint64_t> d = {1, 2, 3, 4, 5, 6, 7, 8};
  EXPECT_EQ(Fold(d, 3), d);
  EXPECT_EQ(Fold(d, 2), (std::vector<uint64_t>{3, 7, 11, 15}));
  EXPECT_EQ(Fold(d, 0), (std::vector<uint64_t>{36}));
}

TEST(DigestTest, DifferingBucketsNamesTheIndices) {
  EXPECT_EQ(DifferingBuckets(std::vector<uint64_t>{1, 2, 3}, std::vector<uint64_t>{1, 5, 3}),
            (std::vector<uint32_t>{1}));
  EXPECT_EQ(DifferingBuckets(std::vector<uint64_t>{1, 2}, std::vector<uint64_t>{1}).size(), 2u);
}

TEST(DigestTest, FingerprintCoversVersionKindValueAndExpiry) {
  const uint64_t base = Fingerprint("k", Value("v", 7));
  EXPECT_EQ(base, Fingerprint("k", Value("v", 7)));
  EXPECT_NE(base, Fingerprint("k2", Value("v", 7)));
  EXPECT_NE(base, Fingerprint("k", Value("v", 8)));
  EXPECT_NE(base, Fingerprint("k", Value("w", 7)));
  EXPECT_NE(base, Fingerprint("k", Value("v", 7, kNow + 1000)));
  EXPECT_NE(base, Fingerprint("k", Tombstone(7)));
  EXPECT_NE(Fingerprint("k", Tombstone(7)), Fingerprint("k", Tombstone(8)));
}

class ScanTest : public ::testing::Test {
 protected:
  // Three nodes, replication 2: each pair shares about a third of the keys.
  ring::RingPtr ring_ =
      ring::testing::MustBuild(ring::testing::Nodes(3), {.vnodes_per_weight = 16});
  ReplicaSet a_{*ring_, 0, 2};
  std::unique_ptr<store::Engine> e1_ = store::NewMemoryEngine({});
  std::unique_ptr<store::Engine> e2_ = store::NewMemoryEngine({});
  const std::vector<uint32_t> peers_ = {1, 2};
};

TEST_F(ScanTest, DigestsOfEqualStoresAreEqualWhateverTheOrder) {
  for (int i = 0; i < 500; ++i) Put(*e1_, "key" + std::to_string(i), Value("v", 100 + i));
  for (int i = 499; i >= 0; --i) Put(*e2_, "key" + std::to_string(i), Value("v", 100 + i));
  auto d1 = ScanDigests(*e1_, a_, peers_, 8, kNow, nullptr);
  auto d2 = ScanDigests(*e2_, a_, peers_, 8, kNow, nullptr);
  ASSERT_TRUE(d1.ok() && d2.ok());
  ASSERT_EQ(d1->size(), 2u);
  for (size_t p = 0; p < 2; ++p) {
    EXPECT_EQ((*d1)[p].sums, (*d2)[p].sums);
    EXPECT_EQ((*d1)[p].keys, (*d2)[p].keys);
    EXPECT_GT((*d1)[p].keys, 0u);
  }
}

TEST_F(ScanTest, OnlyKeysThePairSharesCount) {
  uint64_t shared_with_1 = 0;
  for (int i = 0; i < 300; ++i) {
    const std::string key = "key" + std::to_string(i);
    Put(*e1_, key, Value("v", 5));
    shared_with_1 += a_.Shared(ring_->KeyPosition(key), 1) ? 1 : 0;
  }
  auto d = ScanDigests(*e1_, a_, std::vector<uint32_t>{1}, 8, kNow, nullptr);
  ASSERT_TRUE(d.ok());
  EXPECT_EQ((*d)[0].keys, shared_with_1);
  EXPECT_LT(shared_with_1, 300u);
}

TEST_F(ScanTest, OneDifferentEntryChangesOnlyItsBucket) {
  std::string changed;
  for (int i = 0; i < 400; ++i) {
    const std::string key = "key" + std::to_string(i);
    Put(*e1_, key, Value("v", 5));
    const bool differ = changed.empty() && a_.Shared(ring_->KeyPosition(key), 1);
    if (differ) changed = key;
    Put(*e2_, key, differ ? Tombstone(6) : Value("v", 5));
  }
  ASSERT_FALSE(changed.empty());
  auto d1 = ScanDigests(*e1_, a_, peers_, 10, kNow, nullptr);
  auto d2 = ScanDigests(*e2_, a_, peers_, 10, kNow, nullptr);
  ASSERT_TRUE(d1.ok() && d2.ok());
  EXPECT_EQ(DifferingBuckets((*d1)[0].sums, (*d2)[0].sums),
            (std::vector<uint32_t>{BucketOf(ring_->KeyPosition(changed), 10)}));
  // Folding keeps exactly one difference.
  EXPECT_EQ(DifferingBuckets(Fold((*d1)[0].sums, 4), Fold((*d2)[0].sums, 4)).size(), 1u);
}

TEST_F(ScanTest, ExpiredEntriesCountAsAbsent) {
  Put(*e1_, "live", Value("v", 5));
  Put(*e2_, "live", Value("v", 5));
  Put(*e2_, "gone", Value("v", 5, kNow - 1));
  auto d1 = ScanDigests(*e1_, ReplicaSet{*ring_, 0, 3}, peers_, 8, kNow, nullptr);
  auto d2 = ScanDigests(*e2_, ReplicaSet{*ring_, 0, 3}, peers_, 8, kNow, nullptr);
  ASSERT_TRUE(d1.ok() && d2.ok());
  EXPECT_EQ((*d1)[0].sums, (*d2)[0].sums);
}

TEST_F(ScanTest, BucketKeysListTheSharedKeysOfTheBucketsSorted) {
  const ReplicaSet all{*ring_, 0, 3};
  for (int i = 0; i < 200; ++i) Put(*e1_, "key" + std::to_string(i), Value("v", 5));
  Put(*e1_, "dead", Tombstone(9));
  const uint32_t bucket = BucketOf(ring_->KeyPosition("dead"), 6);
  auto keys = ScanBucketKeys(*e1_, all, 1, 6, std::vector<uint32_t>{bucket}, kNow, nullptr);
  ASSERT_TRUE(keys.ok());
  ASSERT_FALSE(keys->empty());
  EXPECT_TRUE(
      std::is_sorted(keys->begin(), keys->end(),
                     [](const KeyVersion& a, const KeyVersion& b) { return a.key < b.key; }));
  bool saw_dead = false;
  for (const KeyVersion& k : *keys) {
    EXPECT_EQ(BucketOf(ring_->KeyPosition(k.key), 6), bucket);
    if (k.key == "dead") {
      saw_dead = true;
      EXPECT_TRUE(k.tombstone);
      EXPECT_EQ(k.version, 9u);
    }
  }
  EXPECT_TRUE(saw_dead);
}

TEST(ReplicaSetTest, PeersAreTheNodesSharingKeysAndEachPairHasOneSmallerSide) {
  const ring::RingPtr three = ring::testing::MustBuild(ring::testing::Nodes(3));
  EXPECT_EQ((ReplicaSet{*three, 0, 3}.Peers(false)), (std::vector<uint32_t>{1, 2}));
  EXPECT_EQ((ReplicaSet{*three, 0, 3}.Peers(true)), (std::vector<uint32_t>{1, 2}));
  EXPECT_EQ((ReplicaSet{*three, 1, 3}.Peers(true)), (std::vector<uint32_t>{2}));
  EXPECT_TRUE((ReplicaSet{*three, 2, 3}.Peers(true)).empty());
  EXPECT_TRUE((ReplicaSet{*three, 0, 1}.Peers(false)).empty());  // nothing is shared

  // Ten nodes, replication 2, few vnodes: every pair that shares keys is
  // listed by exactly one of its two nodes.
  const ring::RingPtr ten =
      ring::testing::MustBuild(ring::testing::Nodes(10), {.vnodes_per_weight = 2});
  std::set<std::pair<uint32_t, uint32_t>> once, both;
  for (uint32_t a = 0; a < 10; ++a) {
    for (uint32_t b : ReplicaSet{*ten, a, 2}.Peers(true)) {
      EXPECT_TRUE(once.emplace(std::min(a, b), std::max(a, b)).second);
    }
    for (uint32_t b : ReplicaSet{*ten, a, 2}.Peers(false))
      both.emplace(std::min(a, b), std::max(a, b));
  }
  EXPECT_EQ(once, both);
  EXPECT_LT(both.size(), 45u);  // with 2 vnodes each, not every pair shares keys
}

KeyVersion KV(std::string key, uint64_t version, uint64_t fp = 0, bool tomb = false) {
  return {std::move(key), version, tomb, fp == 0 ? version : fp};
}

TEST(DiffKeysTest, NewerGoesEachWayAndTiesOfDifferentEntriesGoBoth) {
  const std::vector<KeyVersion> mine = {KV("a", 5), KV("b", 5), KV("c", 9), KV("e", 4, 1),
                                        KV("f", 4)};
  const std::vector<KeyVersion> theirs = {KV("b", 7), KV("c", 3), KV("d", 1), KV("e", 4, 2),
                                          KV("f", 4)};
  const KeyDiff d = DiffKeys(mine, theirs);
  EXPECT_EQ(d.push, (std::vector<std::string>{"a", "c", "e"}));
  EXPECT_EQ(d.pull, (std::vector<std::string>{"b", "d", "e"}));
  EXPECT_TRUE(DiffKeys(mine, mine).push.empty());
  EXPECT_TRUE(DiffKeys({}, {}).pull.empty());
}

}  // namespace
}  // namespace ringkv::node
