// The hint contract of store/hints.h, run against both engines' hint stores.
#include "store/hints.h"

#include <gtest/gtest.h>

#include <set>
#include <string>
#include <vector>

#include "store/test_util.h"

namespace ringkv::store {
namespace {

using testing::EngineKind;
using testing::Key;

using HintStoreTest = testing::EngineTest;

INSTANTIATE_TEST_SUITE_P(Engines, HintStoreTest,
                         ::testing::Values(EngineKind::kMemory, EngineKind::kRocksDb),
                         testing::EngineKindName);

std::vector<std::string> HintKeys(const HintStore& hints, std::string_view target) {
  std::vector<std::string> keys;
  hints.ForEach(target, [&](std::string_view key, int64_t) {
    keys.emplace_back(key);
    return true;
  });
  return keys;
}

TEST_P(HintStoreTest, HintsAddListAndRemove) {
  HintStore& hints = engine_->hints();
  EXPECT_TRUE(HintKeys(hints, "node-2").empty());
  ASSERT_TRUE(hints.Add("node-2", "b", now()).ok());
  ASSERT_TRUE(hints.Add("node-2", "a", now()).ok());
  ASSERT_TRUE(hints.Add("node-3", "a", now()).ok());
  ASSERT_TRUE(hints.Add("node-2", "", now()).ok());  // the empty key is a key
  EXPECT_EQ(HintKeys(hints, "node-2"), (std::vector<std::string>{"", "a", "b"}));
  EXPECT_EQ(HintKeys(hints, "node-3"), std::vector<std::string>{"a"});
  EXPECT_TRUE(HintKeys(hints, "node-").empty());  // a prefix of a target is another target
  EXPECT_EQ(hints.Add("", "a", now()).code(), StatusCode::kInvalidArgument);

  HintStats stats = hints.Stats();
  EXPECT_EQ(stats.total.hints, 4u);
  EXPECT_EQ(stats.total.bytes, HintBytes("node-2", "b") + HintBytes("node-2", "a") +
                                   HintBytes("node-3", "a") + HintBytes("node-2", ""));
  ASSERT_EQ(stats.targets.size(), 2u);
  EXPECT_EQ(stats.targets["node-2"].hints, 3u);
  EXPECT_EQ(stats.targets["node-3"].bytes, HintBytes("node-3", "a"));

  const std::vector<std::string> batch = {"a", "b", "absent", "a"};
  ASSERT_TRUE(hints.Remove("node-2", batch).ok());
  ASSERT_TRUE(hints.Remove("node-3", "a").ok());
  ASSERT_TRUE(hints.Remove("nobody", "a").ok());
  EXPECT_EQ(HintKeys(hints, "node-2"), std::vector<std::string>{""});
  stats = hints.Stats();
  EXPECT_EQ(stats.total.hints, 1u);
  EXPECT_EQ(stats.total.bytes, HintBytes("node-2", ""));
  EXPECT_EQ(stats.targets.count("node-3"), 0u);
}

TEST_P(HintStoreTest, HintsAreInvisibleToEntryReads) {
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(engine_->hints().Add("node-2", Key(i), now()).ok());
  EXPECT_FALSE(engine_->Get(Key(1), now()));
  EXPECT_FALSE(engine_->Peek(Key(1), now()));
  EXPECT_TRUE(ScanAll().empty());
  EXPECT_FALSE(engine_->RandomKey(now()));
  EXPECT_TRUE(AllVersioned().empty());
  EXPECT_EQ(engine_->Stats().keys, 0u);
  EXPECT_EQ(engine_->Stats().tombstones, 0u);
}

TEST_P(HintStoreTest, ReaddingAHintMovesItsTimeAndIsNeverRefused) {
  StartEmpty({.max_hints = 2, .max_bytes = 0});
  HintStore& hints = engine_->hints();
  ASSERT_TRUE(hints.Add("node-2", "a", now()).ok());
  ASSERT_TRUE(hints.Add("node-2", "b", now()).ok());
  ASSERT_TRUE(hints.Add("node-2", "a", now() + 50).ok());  // full, but already held
  hints.ForEach("node-2", [&](std::string_view key, int64_t created_ms) {
    EXPECT_EQ(created_ms, key == "a" ? now() + 50 : now()) << key;
    return true;
  });
  EXPECT_EQ(hints.Stats().total.hints, 2u);
  EXPECT_EQ(hints.Stats().refused, 0u);
}

TEST_P(HintStoreTest, HintCountBoundRefusesAndChangesNothing) {
  StartEmpty({.max_hints = 10, .max_bytes = 0});
  HintStore& hints = engine_->hints();
  for (int i = 0; i < 10; ++i)
    ASSERT_TRUE(hints.Add("node-" + std::to_string(i % 3), Key(i), now()).ok());
  const HintStats before = hints.Stats();
  Status s = hints.Add("node-0", "one-more", now());
  EXPECT_EQ(s.code(), StatusCode::kResourceExhausted) << s.ToString();
  EXPECT_EQ(hints.Add("node-9", "other-target", now()).code(), StatusCode::kResourceExhausted);
  const HintStats after = hints.Stats();
  EXPECT_EQ(after.total.hints, before.total.hints);
  EXPECT_EQ(after.total.bytes, before.total.bytes);
  EXPECT_EQ(after.targets.size(), 3u);
  EXPECT_EQ(after.refused, 2u);
  EXPECT_EQ(HintKeys(hints, "node-9").size(), 0u);
  ASSERT_TRUE(hints.Remove("node-0", Key(0)).ok());
  EXPECT_TRUE(hints.Add("node-0", "one-more", now()).ok());
}

TEST_P(HintStoreTest, HintByteBoundRefusesAndChangesNothing) {
  const uint64_t one = HintBytes("node-2", Key(0));  // every Key(0..9) is as long
  StartEmpty({.max_hints = 0, .max_bytes = 5 * one + HintBytes("node-2", "ab")});
  HintStore& hints = engine_->hints();
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(hints.Add("node-2", Key(i), now()).ok());
  EXPECT_EQ(hints.Add("node-2", Key(5), now()).code(), StatusCode::kResourceExhausted);
  EXPECT_TRUE(hints.Add("node-2", "ab", now()).ok());  // fits exactly
  EXPECT_EQ(hints.Add("node-2", "c", now()).code(), StatusCode::kResourceExhausted);
  EXPECT_EQ(hints.Stats().total.bytes, 5 * one + HintBytes("node-2", "ab"));
  EXPECT_EQ(hints.Stats().total.hints, 6u);
  EXPECT_EQ(hints.Stats().refused, 2u);
}

TEST_P(HintStoreTest, ExpireHintsDropsOnlyOldOnes) {
  HintStore& hints = engine_->hints();
  const int64_t t0 = now();
  // Enough hints per target to need several lock holds.
  for (int i = 0; i < 600; ++i) {
    ASSERT_TRUE(hints.Add("node-" + std::to_string(i % 2), Key(i), t0 + int64_t{i % 3} * 100).ok());
  }
  StatusOr<size_t> dropped = hints.Expire(t0 + 1000, 1000);  // created at t0 or before
  ASSERT_TRUE(dropped.ok());
  EXPECT_EQ(*dropped, 200u);
  EXPECT_EQ(hints.Stats().total.hints, 400u);
  EXPECT_EQ(hints.Stats().expired, 200u);
  for (const char* target : {"node-0", "node-1"}) {
    hints.ForEach(target, [&](std::string_view key, int64_t created_ms) {
      EXPECT_GT(created_ms, t0) << key;
      return true;
    });
  }
  EXPECT_EQ(*hints.Expire(t0 + 1000, 1000), 0u);
  EXPECT_EQ(*hints.Expire(t0 + 1200, 1000), 400u);
  EXPECT_EQ(hints.Stats().total.hints, 0u);
  EXPECT_EQ(hints.Stats().total.bytes, 0u);
  EXPECT_TRUE(hints.Stats().targets.empty());
}

// The replay loop: walk a target's hints, re-send, remove the ones sent, all
// from inside the callback; every hint is seen once.
TEST_P(HintStoreTest, ForEachHintMayRemoveFromItsCallback) {
  HintStore& hints = engine_->hints();
  std::set<std::string> want;
  for (int i = 0; i < 1000; ++i) {
    ASSERT_TRUE(hints.Add("node-2", Key(i), now()).ok());
    want.insert(Key(i));
  }
  ASSERT_TRUE(hints.Add("node-3", "stays", now()).ok());
  std::set<std::string> seen;
  hints.ForEach("node-2", [&](std::string_view key, int64_t) {
    EXPECT_TRUE(seen.emplace(key).second) << "twice: " << key;
    EXPECT_TRUE(hints.Remove("node-2", key).ok());
    return true;
  });
  EXPECT_EQ(seen, want);
  EXPECT_EQ(hints.Stats().total.hints, 1u);
  int calls = 0;
  for (int i = 0; i < 300; ++i) ASSERT_TRUE(hints.Add("node-2", Key(i), now()).ok());
  hints.ForEach("node-2", [&](std::string_view, int64_t) { return ++calls < 3; });
  EXPECT_EQ(calls, 3);
}

}  // namespace
}  // namespace ringkv::store
