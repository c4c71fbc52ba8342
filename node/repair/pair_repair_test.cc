#include "node/repair/pair_repair.h"

#include <gtest/gtest.h>

#include "ring/test_util.h"
#include "store/memory_engine.h"

namespace ringkv::node {
namespace {

// The far side of an exchange in the same process: a second engine
// answering as a peer would (no network).
class EnginePeer final : public RepairPeer {
 public:
  EnginePeer(store::Engine& engine, HybridClock& hlc, const Clock& clock, ReplicaSet replicas,
             uint32_t asker)
      : engine_(engine), hlc_(hlc), clock_(clock), replicas_(replicas), asker_(asker) {}

  StatusOr<PairDigests> Digests(uint32_t bits) override {
    ++digest_calls;
    auto d = ScanDigests(engine_, replicas_, std::span(&asker_, 1), bits, clock_.NowMs(), nullptr);
    if (!d.ok()) return d.status();
    bytes_ += (*d)[0].sums.size() * 8;
    return std::move((*d)[0]);
  }
  StatusOr<std::vector<KeyVersion>> Keys(uint32_t bits,
                                         std::span<const uint32_t> buckets) override {
    auto k = ScanBucketKeys(engine_, replicas_, asker_, bits, buckets, clock_.NowMs(), nullptr);
    if (k.ok()) bytes_ += k->size() * 20;
    return k;
  }
  StatusOr<uint64_t> Push(std::span<const std::pair<std::string, ReplicaEntry>> entries) override {
    uint64_t kept = 0;
    for (const auto& [key, e] : entries) {
      bool installed = false;
      if (Status s = InstallIfNewer(engine_, hlc_, key, e, clock_.NowMs(), &installed); !s.ok()) {
        return s;
      }
      kept += installed ? 1 : 0;
      bytes_ += key.size() + e.entry.value.size();
    }
    return kept;
  }
  StatusOr<std::vector<std::optional<ReplicaEntry>>> Pull(
      std::span<const std::string> keys) override {
    if (fail_pulls) return Unavailable("peer gone");
    std::vector<std::optional<ReplicaEntry>> out;
    for (const std::string& key : keys) out.push_back(PeekLocal(engine_, key, clock_.NowMs()));
    return out;
  }
  uint64_t bytes() const override { return bytes_; }

  int digest_calls = 0;
  bool fail_pulls = false;

 private:
  store::Engine& engine_;
  HybridClock& hlc_;
  const Clock& clock_;
  const ReplicaSet replicas_;
  uint32_t asker_;
  uint64_t bytes_ = 0;
};

class PairRepairTest : public ::testing::Test {
 protected:
  void Put(store::Engine& e, const std::string& key, std::string value, uint64_t version) {
    ASSERT_TRUE(store::InstallIfNewer(e, key, clock_.NowMs(),
                                      {store::Entry{std::move(value), version, 0}, false})
                    .ok());
  }
  void Tombstone(store::Engine& e, const std::string& key, uint64_t version) {
    ASSERT_TRUE(
        store::InstallIfNewer(e, key, clock_.NowMs(), {store::Entry{{}, version, 0}, true}).ok());
  }
  StatusOr<PairRepairResult> Run() {
    auto mine =
        ScanDigests(*mine_, me_, std::vector<uint32_t>{1}, kMaxBucketBits, clock_.NowMs(), nullptr);
    if (!mine.ok()) return mine.status();
    PairRepairContext ctx{.engine = *mine_,
                          .hlc = hlc_,
                          .clock = clock_,
                          .replicas = me_,
                          .peer = 1,
                          .options = {.buckets_per_call = 3, .batch_keys = 7}};
    return RepairPair(ctx, (*mine)[0], peer_, [&](const PairRepairResult& r) { seen_ = r; });
  }
  // Whether both stores hold the same entry or tombstone of every key.
  void ExpectConverged(int keys) {
    for (int i = 0; i < keys; ++i) {
      const std::string key = "key" + std::to_string(i);
      EXPECT_EQ(PeekLocal(*mine_, key, clock_.NowMs()), PeekLocal(*theirs_, key, clock_.NowMs()))
          << key;
    }
  }

  FakeClock clock_;
  HybridClock hlc_{clock_};
  HybridClock peer_hlc_{clock_};
  // Three nodes, replication 3: every key is shared by every pair.
  ring::RingPtr ring_ =
      ring::testing::MustBuild(ring::testing::Nodes(3), {.vnodes_per_weight = 16});
  ReplicaSet me_{*ring_, 0, 3};
  std::unique_ptr<store::Engine> mine_ = store::NewMemoryEngine({});
  std::unique_ptr<store::Engine> theirs_ = store::NewMemoryEngine({});
  EnginePeer peer_{*theirs_, peer_hlc_, clock_, ReplicaSet{*ring_, 1, 3}, 0};
  PairRepairResult seen_;
  uint32_t scan_bits_ = kMaxBucketBits;
};

TEST_F(PairRepairTest, StoresInSyncExchangeOnlyDigests) {
  for (int i = 0; i < 2000; ++i) {
    Put(*mine_, "key" + std::to_string(i), "v", 10);
    Put(*theirs_, "key" + std::to_string(i), "v", 10);
  }
  auto r = Run();
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->shared_keys, 2000u);
  EXPECT_EQ(r->bits, BucketBitsFor(2000));
  EXPECT_EQ(r->buckets_compared, uint64_t{1} << r->bits);
  EXPECT_EQ(r->buckets_differing, 0u);
  EXPECT_EQ(r->keys_pushed + r->keys_pulled, 0u);
  EXPECT_EQ(r->bytes, (uint64_t{1} << r->bits) * 8);
  EXPECT_EQ(seen_.buckets_compared, r->buckets_compared);
}

TEST_F(PairRepairTest, RepairsBothWaysKeepingTheNewerEntryOrTombstone) {
  constexpr int kKeys = 1000;
  for (int i = 0; i < kKeys; ++i) {
    const std::string key = "key" + std::to_string(i);
    switch (i % 10) {
      case 0:  // only here
        Put(*mine_, key, "mine", 10);
        break;
      case 1:  // only there
        Put(*theirs_, key, "theirs", 10);
        break;
      case 2:  // newer here
        Put(*mine_, key, "new", 20);
        Put(*theirs_, key, "old", 10);
        break;
      case 3:  // newer there
        Put(*mine_, key, "old", 10);
        Put(*theirs_, key, "new", 20);
        break;
      case 4:  // deleted here after the value there
        Tombstone(*mine_, key, 30);
        Put(*theirs_, key, "old", 10);
        break;
      case 5:  // deleted there, written again here later
        Put(*mine_, key, "again", 40);
        Tombstone(*theirs_, key, 30);
        break;
      case 6:  // the same timestamp drawn twice: the greater value wins on both
        Put(*mine_, key, "a", 50);
        Put(*theirs_, key, "b", 50);
        break;
      default:
        Put(*mine_, key, "same", 10);
        Put(*theirs_, key, "same", 10);
    }
  }
  auto r = Run();
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ExpectConverged(kKeys);
  EXPECT_EQ(PeekLocal(*mine_, "key4", clock_.NowMs())->tombstone, true);
  EXPECT_EQ(PeekLocal(*theirs_, "key4", clock_.NowMs())->tombstone, true);
  EXPECT_EQ(PeekLocal(*theirs_, "key6", clock_.NowMs())->entry.value, "b");
  // Pushed and kept there: only here, newer here, the tombstone, the
  // rewrite. Pulled and kept here: only there, newer there, and the tie that
  // "b" wins ("a" went there too, and lost).
  EXPECT_EQ(r->keys_pushed, 400u);
  EXPECT_EQ(r->keys_pulled, 300u);
  EXPECT_GT(r->buckets_differing, 0u);

  auto again = Run();
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->buckets_differing, 0u);
  EXPECT_EQ(again->keys_pushed + again->keys_pulled, 0u);
}

TEST_F(PairRepairTest, AnEmptyNodeComparesAtThePeersBucketSize) {
  for (int i = 0; i < 20000; ++i) Put(*theirs_, "key" + std::to_string(i), "v", 10);
  scan_bits_ = BucketBitsFor(0);
  auto r = Run();
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->bits, BucketBitsFor(20000));
  EXPECT_EQ(peer_.digest_calls, 2);
  EXPECT_EQ(r->keys_pulled, 20000u);
  ExpectConverged(20000);
}

TEST_F(PairRepairTest, AFailedPullKeepsWhatWasRepairedAndReportsTheError) {
  for (int i = 0; i < 100; ++i) Put(*theirs_, "key" + std::to_string(i), "v", 10);
  peer_.fail_pulls = true;
  auto r = Run();
  EXPECT_EQ(r.status().code(), StatusCode::kUnavailable);
  peer_.fail_pulls = false;
  ASSERT_TRUE(Run().ok());
  ExpectConverged(100);
}

}  // namespace
}  // namespace ringkv::node
