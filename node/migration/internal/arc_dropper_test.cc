// Tests of the ArcDropper: when a scheduled drop runs, what it keeps, and
// that it stops. Time is a FakeClock; Flush is the synchronisation point.
#include "node/migration/internal/arc_dropper.h"

#include <gtest/gtest.h>

#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "store/memory_engine.h"

namespace ringkv::node::internal {
namespace {

// lo == hi: the whole ring.
std::vector<ring::Arc> WholeRing() {
  return {ring::Arc{0, 0}};
}

class ArcDropperTest : public ::testing::Test {
 protected:
  void Put(const std::string& key) {
    ASSERT_TRUE(engine_
                    ->Mutate(key, clock_.NowMs(),
                             [&](const store::Entry*) {
                               return store::Mutation::Put(store::Entry{"v", 1, 0});
                             })
                    .ok());
  }
  bool Has(const std::string& key) { return engine_->Get(key, clock_.NowMs()).has_value(); }

  FakeClock clock_;
  ClusterCounters counters_;
  std::unique_ptr<store::Engine> engine_ = store::NewMemoryEngine({});
  // Read by the dropper's thread; changed only while no drop is scheduled.
  std::set<std::string> kept_ = {"kept"};
  ArcDropper dropper_{*engine_, clock_, counters_,
                      [this](std::string_view key) { return kept_.count(std::string(key)) > 0; }};
};

TEST_F(ArcDropperTest, FlushRunsADropBeforeItIsDue) {
  Put("a");
  Put("b");
  Put("kept");
  dropper_.Schedule(WholeRing(), ring::HashKind::kXxh3, /*delay_ms=*/60'000);
  EXPECT_EQ(dropper_.pending(), 1u);
  EXPECT_TRUE(Has("a"));  // the clock has not moved: not due

  dropper_.Flush();
  EXPECT_EQ(dropper_.pending(), 0u);
  EXPECT_FALSE(Has("a"));
  EXPECT_FALSE(Has("b"));
  EXPECT_TRUE(Has("kept"));  // `keep` said so under the key's lock
  EXPECT_EQ(counters_.dropped.load(), 2u);
}

TEST_F(ArcDropperTest, ADropWithTombstonesRemovesThemTooAndOneWithoutKeepsThem) {
  Put("a");
  Put("kept");
  for (const char* key : {"gone", "kept-gone"}) {
    ASSERT_TRUE(engine_
                    ->MutateVersioned(
                        key, clock_.NowMs(),
                        [](const store::VersionedEntry*) { return store::Mutation::Tombstone(7); })
                    .ok());
  }
  kept_.insert("kept-gone");
  auto tombstone = [&](const std::string& key) {
    std::optional<store::VersionedEntry> e = engine_->Peek(key, clock_.NowMs());
    return e.has_value() && e->tombstone;
  };
  dropper_.Schedule(WholeRing(), ring::HashKind::kXxh3, 0);
  dropper_.Flush();
  EXPECT_FALSE(Has("a"));
  EXPECT_TRUE(tombstone("gone"));  // single-owner drops leave tombstones alone

  dropper_.Schedule(WholeRing(), ring::HashKind::kXxh3, 0, /*with_tombstones=*/true);
  dropper_.Flush();
  EXPECT_FALSE(tombstone("gone"));
  EXPECT_FALSE(engine_->Peek("gone", clock_.NowMs()).has_value());
  EXPECT_TRUE(tombstone("kept-gone"));
  EXPECT_TRUE(Has("kept"));
}

TEST_F(ArcDropperTest, NoArcsSchedulesNothing) {
  Put("a");
  dropper_.Schedule({}, ring::HashKind::kXxh3, 0);
  EXPECT_EQ(dropper_.pending(), 0u);
  dropper_.Flush();  // returns at once: nothing to wait for
  EXPECT_TRUE(Has("a"));
}

TEST(ArcDropper, StopsWithADropStillScheduled) {
  FakeClock clock;
  ClusterCounters counters;
  std::unique_ptr<store::Engine> engine = store::NewMemoryEngine({});
  {
    ArcDropper dropper(*engine, clock, counters, [](std::string_view) { return false; });
    dropper.Schedule(WholeRing(), ring::HashKind::kXxh3, /*delay_ms=*/3'600'000);
  }  // the destructor neither waits for the drop nor runs it
  EXPECT_EQ(counters.dropped.load(), 0u);
}

}  // namespace
}  // namespace ringkv::node::internal
