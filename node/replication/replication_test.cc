#include "node/replication/replication.h"

#include <gtest/gtest.h>

namespace ringkv::node {
namespace {

TEST(ReplicationTest, SuspectsExpireAndClear) {
  FakeClock clock(1'000);
  Replication r(clock, {.suspect_ms = 500, .max_hints = 10});
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

TEST(ReplicationTest, HintsAreBoundedAndTakenOnce) {
  FakeClock clock(1'000);
  Replication r(clock, {.suspect_ms = 500, .max_hints = 3});
  EXPECT_TRUE(r.AddHint("a", "k1"));
  EXPECT_TRUE(r.AddHint("a", "k1"));  // the same key once
  EXPECT_TRUE(r.AddHint("a", "k2"));
  EXPECT_TRUE(r.AddHint("b", "k1"));
  EXPECT_EQ(r.hints(), 3u);
  EXPECT_FALSE(r.AddHint("b", "k9"));
  EXPECT_EQ(r.counters().hints_dropped.load(), 1u);
  std::vector<std::string> a = r.TakeHints("a", 10);
  EXPECT_EQ(a.size(), 2u);
  EXPECT_TRUE(r.TakeHints("a", 10).empty());
  EXPECT_EQ(r.HintedNodes(), std::vector<std::string>{"b"});
  EXPECT_EQ(r.hints(), 1u);
}

}  // namespace
}  // namespace ringkv::node
