#include "node/replication/replication.h"

#include <gtest/gtest.h>

#include "store/memory_engine.h"

namespace ringkv::node {
namespace {

TEST(ReplicationTest, SuspectsExpireAndClear) {
  FakeClock clock(1'000);
  auto engine = store::NewMemoryEngine({});
  ReplicationCounters counters;
  Replication r(clock, {.suspect_ms = 500}, engine->hints(), counters);
  EXPECT_FALSE(r.IsSuspect("a"));
  r.Suspect("a");
  EXPECT_TRUE(r.IsSuspect("a"));
  EXPECT_FALSE(r.IsSuspect("b"));
  clock.Advance(499);
  EXPECT_TRUE(r.IsSuspect("a"));
  clock.Advance(1);
  EXPECT_FALSE(r.IsSuspect("a"));
  r.Suspect("a");
  EXPECT_TRUE(r.IsSuspect("a"));
  r.Clear("a");
  EXPECT_FALSE(r.IsSuspect("a"));
}

TEST(ReplicationTest, TakeSuspectedNamesEachPeerSuspectedSinceTheLastCallOnce) {
  FakeClock clock(1'000);
  auto engine = store::NewMemoryEngine({});
  ReplicationCounters counters;
  Replication r(clock, {.suspect_ms = 500}, engine->hints(), counters);
  r.Suspect("b");
  r.Suspect("a");
  r.Suspect("b");
  r.Clear("a");  // answered again: anti-entropy still owes it a comparison
  EXPECT_EQ(r.TakeSuspected(), (std::vector<std::string>{"a", "b"}));
  EXPECT_TRUE(r.TakeSuspected().empty());
}

TEST(ReplicationTest, HintsGoToTheStoreAndRefusalsAreCounted) {
  FakeClock clock(1'000);
  store::MemoryEngineOptions o;
  o.hints.max_hints = 2;
  auto engine = store::NewMemoryEngine(o);
  ReplicationCounters counters;
  Replication r(clock, {}, engine->hints(), counters);
  EXPECT_TRUE(r.AddHint("a", "k1"));
  EXPECT_TRUE(r.AddHint("a", "k1"));  // held already: kept, never refused
  EXPECT_TRUE(r.AddHint("b", "k1"));
  EXPECT_FALSE(r.AddHint("b", "k2"));
  EXPECT_EQ(r.counters().hints_dropped.load(), 1u);
  EXPECT_EQ(engine->hints().Stats().total.hints, 2u);
}

}  // namespace
}  // namespace ringkv::node
