#include "store/memory_engine.h"

#include <gtest/gtest.h>
#include <malloc.h>

#include <algorithm>
#include <bit>
#include <chrono>
#include <cstdio>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "base/clock.h"
#include "store/internal/node_table.h"

namespace ringkv::store {
namespace {

Status Put(Engine& e, std::string_view key, std::string value, uint64_t version = 1,
           int64_t expire_at_ms = 0, int64_t now_ms = 0) {
  return e.Mutate(key, now_ms, [&](const Entry*) {
    return Mutation::Put(Entry{std::move(value), version, expire_at_ms});
  });
}

Status Delete(Engine& e, std::string_view key, int64_t now_ms = 0) {
  return e.Mutate(key, now_ms, [](const Entry*) { return Mutation::Delete(); });
}

std::string Key(int i) {
  return "key:" + std::to_string(i);
}

std::set<std::string> ScanAll(Engine& e, int64_t now_ms, size_t count = 10) {
  std::set<std::string> keys;
  uint64_t cursor = 0;
  do {
    ScanPage page = e.Scan(cursor, count, now_ms);
    keys.insert(page.keys.begin(), page.keys.end());
    cursor = page.next_cursor;
  } while (cursor != 0);
  return keys;
}

TEST(MemoryEngineTest, GetPutDelete) {
  auto e = NewMemoryEngine({});
  EXPECT_FALSE(e->Get("a", 0));
  ASSERT_TRUE(Put(*e, "a", "1", 7).ok());
  auto got = e->Get("a", 0);
  ASSERT_TRUE(got);
  EXPECT_EQ(got->value, "1");
  EXPECT_EQ(got->version, 7u);
  EXPECT_EQ(got->expire_at_ms, 0);
  ASSERT_TRUE(Delete(*e, "a").ok());
  EXPECT_FALSE(e->Get("a", 0));
  ASSERT_TRUE(Delete(*e, "never-there").ok());
  EXPECT_EQ(e->Stats().keys, 0u);
}

TEST(MemoryEngineTest, EmptyKeyAndValue) {
  auto e = NewMemoryEngine({});
  ASSERT_TRUE(Put(*e, "", "").ok());
  ASSERT_TRUE(e->Get("", 0));
  EXPECT_EQ(e->Get("", 0)->value, "");
}

TEST(MemoryEngineTest, OverwriteReplacesValueVersionAndExpiry) {
  auto e = NewMemoryEngine({});
  ASSERT_TRUE(Put(*e, "k", "short", 1).ok());
  ASSERT_TRUE(Put(*e, "k", "a much longer value than before", 2, 5000).ok());
  auto got = e->Get("k", 0);
  EXPECT_EQ(got->value, "a much longer value than before");
  EXPECT_EQ(got->version, 2u);
  EXPECT_EQ(got->expire_at_ms, 5000);
  ASSERT_TRUE(Put(*e, "k", "a much longer value than befor!", 3, 6000).ok());  // same size
  got = e->Get("k", 0);
  EXPECT_EQ(got->value, "a much longer value than befor!");
  EXPECT_EQ(got->version, 3u);
  EXPECT_EQ(got->expire_at_ms, 6000);
  ASSERT_TRUE(Put(*e, "k", "x", 4).ok());
  got = e->Get("k", 0);
  EXPECT_EQ(got->value, "x");
  EXPECT_EQ(got->expire_at_ms, 0);
  EXPECT_EQ(e->Stats().keys, 1u);
  EXPECT_EQ(e->Stats().keys_with_expiry, 0u);
}

TEST(MemoryEngineTest, MutateSeesCurrentAndIsCalledOnce) {
  auto e = NewMemoryEngine({});
  int calls = 0;
  ASSERT_TRUE(e->Mutate("k", 0, [&](const Entry* cur) {
                 ++calls;
                 EXPECT_EQ(cur, nullptr);
                 return Mutation::Keep();
               }).ok());
  EXPECT_EQ(calls, 1);
  EXPECT_FALSE(e->Get("k", 0));
  ASSERT_TRUE(Put(*e, "k", "v", 9).ok());
  ASSERT_TRUE(e->Mutate("k", 0, [&](const Entry* cur) {
                 ++calls;
                 EXPECT_NE(cur, nullptr);
                 EXPECT_EQ(cur->value, "v");
                 EXPECT_EQ(cur->version, 9u);
                 return Mutation::Keep();
               }).ok());
  EXPECT_EQ(calls, 2);
  EXPECT_EQ(e->Get("k", 0)->value, "v");
}

TEST(MemoryEngineTest, LazyExpiry) {
  FakeClock clock;
  auto e = NewMemoryEngine({});
  int64_t t0 = clock.NowMs();
  ASSERT_TRUE(Put(*e, "k", "v", 1, t0 + 100, t0).ok());
  ASSERT_TRUE(Put(*e, "forever", "v", 1, 0, t0).ok());
  EXPECT_TRUE(e->Get("k", clock.NowMs()));
  EXPECT_EQ(e->Stats().keys_with_expiry, 1u);
  clock.Advance(99);
  EXPECT_TRUE(e->Get("k", clock.NowMs()));
  clock.Advance(1);  // expire_at_ms <= now: expired
  EXPECT_FALSE(e->Get("k", clock.NowMs()));
  EngineStats stats = e->Stats();
  EXPECT_EQ(stats.expired_keys, 1u);
  EXPECT_EQ(stats.keys, 1u);
  EXPECT_EQ(stats.keys_with_expiry, 0u);
  EXPECT_TRUE(e->Get("forever", clock.NowMs()));
}

TEST(MemoryEngineTest, ExpiredKeysAreInvisibleEverywhere) {
  FakeClock clock;
  auto e = NewMemoryEngine({.shards = 4});
  int64_t t0 = clock.NowMs();
  for (int i = 0; i < 50; ++i) ASSERT_TRUE(Put(*e, Key(i), "v", 1, t0 + 10, t0).ok());
  clock.Advance(10);
  int64_t now = clock.NowMs();
  EXPECT_TRUE(ScanAll(*e, now).empty());
  EXPECT_FALSE(e->RandomKey(now));
  ring::Arc whole{0, 0, "", ""};
  int visited = 0;
  ASSERT_TRUE(e->ForEachInArcs({&whole, 1}, ring::HashKind::kXxh3, now,
                               [&](std::string_view, const Entry&) { return ++visited, true; })
                  .ok());
  EXPECT_EQ(visited, 0);
  ASSERT_TRUE(e->Mutate(Key(3), now, [](const Entry* cur) {
                 EXPECT_EQ(cur, nullptr);
                 return Mutation::Keep();
               }).ok());
  EXPECT_GE(e->Stats().expired_keys, 1u);  // Mutate (and RandomKey) reap what they meet
}

TEST(MemoryEngineTest, ActiveExpiryRespectsBudget) {
  FakeClock clock;
  auto e = NewMemoryEngine({.shards = 4});
  int64_t t0 = clock.NowMs();
  for (int i = 0; i < 100; ++i) ASSERT_TRUE(Put(*e, Key(i), "v", 1, t0 + 10, t0).ok());
  for (int i = 100; i < 200; ++i) ASSERT_TRUE(Put(*e, Key(i), "v", 1, t0 + 1000, t0).ok());
  for (int i = 200; i < 300; ++i) ASSERT_TRUE(Put(*e, Key(i), "v", 1, 0, t0).ok());
  EXPECT_EQ(e->ExpireCycle(clock.NowMs(), 1000), 0u);
  clock.Advance(10);
  size_t first = e->ExpireCycle(clock.NowMs(), 20);
  EXPECT_LE(first, 20u);
  size_t total = first;
  for (int round = 0; round < 50 && total < 100; ++round) {
    total += e->ExpireCycle(clock.NowMs(), 20);
  }
  EXPECT_EQ(total, 100u);
  EngineStats stats = e->Stats();
  EXPECT_EQ(stats.keys, 200u);
  EXPECT_EQ(stats.keys_with_expiry, 100u);
  EXPECT_EQ(stats.expired_keys, 100u);
  clock.Advance(1000);
  EXPECT_EQ(e->ExpireCycle(clock.NowMs(), 1000), 100u);
  EXPECT_EQ(e->Stats().keys, 100u);
  EXPECT_EQ(e->Stats().keys_with_expiry, 0u);
}

TEST(MemoryEngineTest, LruEvictsLeastRecentlyUsed) {
  MemoryEngineOptions options{.shards = 1};
  auto probe = NewMemoryEngine(options);
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(Put(*probe, Key(i), std::string(100, 'x')).ok());
  options.max_memory = probe->Stats().used_bytes + 50;  // room for 10 keys, not 11
  auto e = NewMemoryEngine(options);
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(Put(*e, Key(i), std::string(100, 'x')).ok());
  EXPECT_EQ(e->Stats().evicted_keys, 0u);
  ASSERT_TRUE(e->Get(Key(0), 0));  // key 0 becomes the most recently used
  ASSERT_TRUE(Put(*e, Key(10), std::string(100, 'x')).ok());
  EngineStats stats = e->Stats();
  EXPECT_EQ(stats.evicted_keys, 1u);
  EXPECT_LE(stats.used_bytes, stats.max_memory);
  EXPECT_TRUE(e->Get(Key(0), 0));
  EXPECT_FALSE(e->Get(Key(1), 0));  // the least recently used
  EXPECT_TRUE(e->Get(Key(10), 0));
  // A Mutate read also counts as a use.
  ASSERT_TRUE(e->Mutate(Key(2), 0, [](const Entry*) { return Mutation::Keep(); }).ok());
  ASSERT_TRUE(Put(*e, Key(11), std::string(100, 'x')).ok());
  EXPECT_TRUE(e->Get(Key(2), 0));
  EXPECT_FALSE(e->Get(Key(3), 0));
}

// Large shards evict by sampling; recently used keys should still survive.
TEST(MemoryEngineTest, SampledLruKeepsRecentlyUsedKeys) {
  MemoryEngineOptions options{.shards = 2};
  auto probe = NewMemoryEngine(options);
  for (int i = 0; i < 1000; ++i) ASSERT_TRUE(Put(*probe, Key(i), std::string(100, 'x')).ok());
  options.max_memory = probe->Stats().used_bytes;
  auto e = NewMemoryEngine(options);
  for (int i = 0; i < 1000; ++i) ASSERT_TRUE(Put(*e, Key(i), std::string(100, 'x')).ok());
  for (int i = 0; i < 100; ++i) ASSERT_TRUE(e->Get(Key(i), 0));
  for (int i = 1000; i < 1500; ++i) ASSERT_TRUE(Put(*e, Key(i), std::string(100, 'x')).ok());
  EXPECT_GE(e->Stats().evicted_keys, 450u);
  int survivors = 0;
  for (int i = 0; i < 100; ++i) survivors += e->Get(Key(i), 0).has_value();
  EXPECT_GE(survivors, 95);
}

TEST(MemoryEngineTest, LruKeepsUsedBytesUnderTheLimitWithManyShards) {
  auto e = NewMemoryEngine({.max_memory = 200'000, .shards = 8});
  for (int i = 0; i < 5000; ++i) ASSERT_TRUE(Put(*e, Key(i), std::string(64, 'v')).ok());
  EngineStats stats = e->Stats();
  EXPECT_LE(stats.used_bytes, stats.max_memory);
  EXPECT_GT(stats.evicted_keys, 0u);
  EXPECT_EQ(stats.keys + stats.evicted_keys, 5000u);
  EXPECT_TRUE(e->Get(Key(4999), 0));  // the newest key is never the victim
}

TEST(MemoryEngineTest, LruEvictsFromOtherShardsWhenTheWrittenOneIsEmpty) {
  auto probe = NewMemoryEngine({.shards = 2});
  uint64_t empty_used = probe->Stats().used_bytes;
  // Keys of shard 1 (top hash bit set) fill the memory; then a key of the
  // empty shard 0 must evict from shard 1.
  std::vector<std::string> high, low;
  for (int i = 0; high.size() < 20 || low.empty(); ++i) {
    std::string k = Key(i);
    (internal::KeyHash(k) >> 63 ? high : low).push_back(k);
  }
  auto e = NewMemoryEngine({.max_memory = empty_used + 20 * 150, .shards = 2});
  for (const auto& k : high) ASSERT_TRUE(Put(*e, k, std::string(100, 'x')).ok());
  ASSERT_TRUE(Put(*e, low[0], std::string(1000, 'y')).ok());
  EngineStats stats = e->Stats();
  EXPECT_GT(stats.evicted_keys, 0u);
  EXPECT_LE(stats.used_bytes, stats.max_memory);
  EXPECT_TRUE(e->Get(low[0], 0));
  // A value that could never fit is refused even under LRU.
  Status st = Put(*e, "huge", std::string(10'000, 'z'));
  EXPECT_EQ(st.code(), StatusCode::kResourceExhausted);
}

TEST(MemoryEngineTest, NoEvictionRefusesAndKeepsData) {
  auto probe = NewMemoryEngine({.shards = 1});
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(Put(*probe, Key(i), std::string(100, 'x')).ok());
  auto e = NewMemoryEngine({.max_memory = probe->Stats().used_bytes + 50,
                            .policy = EvictionPolicy::kNoEviction,
                            .shards = 1});
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(Put(*e, Key(i), std::string(100, 'x')).ok());
  EngineStats before = e->Stats();
  Status st = Put(*e, Key(10), std::string(100, 'x'));
  EXPECT_EQ(st.code(), StatusCode::kResourceExhausted);
  EXPECT_EQ(st.message(), "OOM command not allowed when used memory > 'maxmemory'.");
  st = Put(*e, Key(0), std::string(1000, 'x'));  // a growing overwrite is refused too
  EXPECT_EQ(st.code(), StatusCode::kResourceExhausted);
  EngineStats after = e->Stats();
  EXPECT_EQ(after.keys, before.keys);
  EXPECT_EQ(after.used_bytes, before.used_bytes);
  EXPECT_EQ(after.evicted_keys, 0u);
  for (int i = 0; i < 10; ++i) EXPECT_EQ(e->Get(Key(i), 0)->value, std::string(100, 'x'));
  EXPECT_FALSE(e->Get(Key(10), 0));
  // Shrinking overwrites and deletes are always allowed.
  ASSERT_TRUE(Put(*e, Key(0), "small").ok());
  ASSERT_TRUE(Delete(*e, Key(1)).ok());
  EXPECT_LT(e->Stats().used_bytes, before.used_bytes);
  EXPECT_TRUE(Put(*e, Key(10), std::string(100, 'x')).ok());
}

// Near the limit, a new key whose node fits is stored without doubling the
// bucket array rather than refused for the doubling's sake.
TEST(MemoryEngineTest, NoEvictionDefersTableGrowth) {
  auto e = NewMemoryEngine({.policy = EvictionPolicy::kNoEviction, .shards = 1});
  for (size_t i = 0; i < internal::NodeTable::kMinBuckets; ++i) {
    ASSERT_TRUE(Put(*e, Key(i), std::string(100, 'x')).ok());
  }
  uint64_t node = internal::AllocatedSize(internal::NodeSize(Key(8).size(), 100, false));
  auto limited = NewMemoryEngine({.max_memory = e->Stats().used_bytes + node + 10,
                                  .policy = EvictionPolicy::kNoEviction,
                                  .shards = 1});
  for (size_t i = 0; i < internal::NodeTable::kMinBuckets; ++i) {
    ASSERT_TRUE(Put(*limited, Key(i), std::string(100, 'x')).ok());
  }
  ASSERT_TRUE(Put(*limited, Key(8), std::string(100, 'x')).ok());
  EngineStats stats = limited->Stats();
  EXPECT_EQ(stats.keys, 9u);
  EXPECT_LE(stats.used_bytes, stats.max_memory);
  EXPECT_EQ(Put(*limited, Key(9), std::string(100, 'x')).code(), StatusCode::kResourceExhausted);
  EXPECT_TRUE(limited->Get(Key(8), 0));
  EXPECT_EQ(ScanAll(*limited, 0).size(), 9u);
}

TEST(MemoryEngineTest, UsedBytesRisesAndFalls) {
  auto e = NewMemoryEngine({.shards = 4});
  uint64_t empty = e->Stats().used_bytes;
  EXPECT_GT(empty, 0u);  // bucket arrays and shard structs
  uint64_t last = empty;
  for (int i = 0; i < 1000; ++i) {
    ASSERT_TRUE(Put(*e, Key(i), std::string(32, 'v')).ok());
    uint64_t now = e->Stats().used_bytes;
    EXPECT_GT(now, last);
    last = now;
  }
  EXPECT_GE(last - empty, 1000u * (32 + 8));
  ASSERT_TRUE(Put(*e, Key(0), std::string(1000, 'v')).ok());
  EXPECT_GE(e->Stats().used_bytes, last + 900);
  for (int i = 0; i < 1000; ++i) ASSERT_TRUE(Delete(*e, Key(i)).ok());
  EXPECT_EQ(e->Stats().used_bytes, empty);
  for (int i = 0; i < 1000; ++i) ASSERT_TRUE(Put(*e, Key(i), "v", 1, 5000).ok());
  EXPECT_GT(e->Stats().used_bytes, empty);
  ASSERT_TRUE(e->Clear().ok());
  EXPECT_EQ(e->Stats().used_bytes, empty);
}

TEST(MemoryEngineTest, ScanReturnsEveryKeyWhileTheTableGrows) {
  auto e = NewMemoryEngine({.shards = 4});
  std::set<std::string> original;
  for (int i = 0; i < 500; ++i) {
    ASSERT_TRUE(Put(*e, Key(i), "v").ok());
    original.insert(Key(i));
  }
  std::set<std::string> seen;
  uint64_t cursor = 0;
  int next = 500, calls = 0;
  do {
    ScanPage page = e->Scan(cursor, 7, 0);
    seen.insert(page.keys.begin(), page.keys.end());
    cursor = page.next_cursor;
    for (int j = 0; j < 20 && next < 8000; ++j) ASSERT_TRUE(Put(*e, Key(next++), "v").ok());
    ++calls;
  } while (cursor != 0);
  EXPECT_GT(calls, 10);
  EXPECT_GT(next, 2000);  // the table doubled a few times during the scan
  for (const auto& k : original) EXPECT_TRUE(seen.count(k)) << k;
}

TEST(MemoryEngineTest, ScanReturnsEveryKeyWhileTheTableShrinks) {
  auto e = NewMemoryEngine({.shards = 2});
  for (int i = 0; i < 4000; ++i) ASSERT_TRUE(Put(*e, "temp" + std::to_string(i), "v").ok());
  std::set<std::string> stable;
  for (int i = 0; i < 50; ++i) {
    ASSERT_TRUE(Put(*e, Key(i), "v").ok());
    stable.insert(Key(i));
  }
  std::set<std::string> seen;
  uint64_t cursor = 0;
  int deleted = 0;
  do {
    ScanPage page = e->Scan(cursor, 5, 0);
    seen.insert(page.keys.begin(), page.keys.end());
    cursor = page.next_cursor;
    for (int j = 0; j < 200 && deleted < 4000; ++j) {
      ASSERT_TRUE(Delete(*e, "temp" + std::to_string(deleted++)).ok());
    }
  } while (cursor != 0);
  for (const auto& k : stable) EXPECT_TRUE(seen.count(k)) << k;
}

TEST(MemoryEngineTest, ScanOfStableTableIsExact) {
  auto e = NewMemoryEngine({.shards = 8});
  EXPECT_TRUE(ScanAll(*e, 0).empty());
  std::set<std::string> want;
  for (int i = 0; i < 1000; ++i) {
    ASSERT_TRUE(Put(*e, Key(i), "v").ok());
    want.insert(Key(i));
  }
  EXPECT_EQ(ScanAll(*e, 0, 1), want);
  EXPECT_EQ(ScanAll(*e, 0, 100), want);
  EXPECT_EQ(ScanAll(*e, 0, 100000), want);
}

TEST(MemoryEngineTest, RandomKey) {
  FakeClock clock;
  auto e = NewMemoryEngine({.shards = 4});
  EXPECT_FALSE(e->RandomKey(clock.NowMs()));
  std::set<std::string> all;
  for (int i = 0; i < 10; ++i) {
    ASSERT_TRUE(Put(*e, Key(i), "v").ok());
    all.insert(Key(i));
  }
  std::set<std::string> seen;
  for (int i = 0; i < 2000; ++i) {
    auto k = e->RandomKey(clock.NowMs());
    ASSERT_TRUE(k);
    EXPECT_TRUE(all.count(*k));
    seen.insert(*k);
  }
  EXPECT_EQ(seen, all);
  // With one live key among many expired ones, that key is found.
  for (int i = 10; i < 1000; ++i) {
    ASSERT_TRUE(Put(*e, Key(i), "v", 1, clock.NowMs() + 5).ok());
  }
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(Delete(*e, Key(i)).ok());
  ASSERT_TRUE(Put(*e, "alive", "v").ok());
  clock.Advance(5);
  EXPECT_EQ(e->RandomKey(clock.NowMs()), "alive");
}

// Arc sets to check ForEachInArcs with: fixed corner cases, then random ones.
std::vector<std::vector<ring::Arc>> ArcSetsToCheck() {
  std::vector<std::vector<ring::Arc>> sets = {
      {
          {UINT64_MAX / 10, UINT64_MAX / 5, "a", "b"},
          {UINT64_MAX / 2, UINT64_MAX / 2 + UINT64_MAX / 20, "a", "c"},
          {UINT64_MAX - UINT64_MAX / 10, UINT64_MAX / 30, "b", "c"},  // wraps around 0
      },
      {{42, 42, "a", "b"}},                      // lo == hi: the whole ring
      {{UINT64_MAX, UINT64_MAX / 3, "a", "b"}},  // starts right at 0
      {{UINT64_MAX / 3, UINT64_MAX, "a", "b"}},  // ends at the top
      {},
  };
  std::mt19937_64 rng(11);
  for (int i = 0; i < 20; ++i) {
    std::vector<ring::Arc> arcs;
    const int n = 1 + static_cast<int>(rng() % 200);  // up to a 160-vnode node's worth
    for (int k = 0; k < n; ++k) {
      const uint64_t lo = rng();
      const uint64_t width = rng() >> (1 + rng() % 20);
      arcs.push_back({lo, lo + width, "a", "b"});  // some wrap around 0
    }
    sets.push_back(std::move(arcs));
  }
  return sets;
}

TEST(MemoryEngineTest, ForEachInArcsMatchesBruteForce) {
  FakeClock clock;
  const int64_t now = clock.NowMs();
  const std::vector<std::vector<ring::Arc>> arc_sets = ArcSetsToCheck();
  for (uint32_t shards : {1u, 4u, 64u}) {
    auto e = NewMemoryEngine({.shards = shards});
    for (int i = 0; i < 3000; ++i) ASSERT_TRUE(Put(*e, Key(i), "v" + std::to_string(i), i).ok());
    for (int i = 3000; i < 3100; ++i) ASSERT_TRUE(Put(*e, Key(i), "x", 1, now).ok());  // expired
    for (ring::HashKind kind : {ring::HashKind::kXxh3, ring::HashKind::kSha256}) {
      size_t checked = 0;
      for (const std::vector<ring::Arc>& arcs : arc_sets) {
        std::set<std::string> want;
        for (int i = 0; i < 3000; ++i) {
          uint64_t pos = ring::HashKey(kind, Key(i));
          if (std::any_of(arcs.begin(), arcs.end(),
                          [&](const ring::Arc& a) { return a.Contains(pos); })) {
            want.insert(Key(i));
          }
        }
        std::set<std::string> got;
        ASSERT_TRUE(
            e->ForEachInArcs(arcs, kind, now, [&](std::string_view key, const Entry& entry) {
               EXPECT_EQ(entry.value, "v" + std::string(key.substr(4)));
               EXPECT_TRUE(got.insert(std::string(key)).second) << "twice: " << key;
               return true;
             }).ok());
        EXPECT_EQ(got, want) << shards << " shards, set " << checked;
        ++checked;
      }
    }
    int calls = 0;
    ASSERT_TRUE(e->ForEachInArcs(arc_sets[0], ring::HashKind::kXxh3, now,
                                 [&](std::string_view, const Entry&) { return ++calls, false; })
                    .ok());
    EXPECT_EQ(calls, 1);
  }
}

// The arcs' keys are found by walking only their buckets, so keys that are
// added and removed elsewhere on the ring while a walk pauses in the callback
// neither break it nor get reported.
TEST(MemoryEngineTest, ForEachInArcsWhileTheTableResizes) {
  auto e = NewMemoryEngine({.shards = 2});
  for (int i = 0; i < 2000; ++i) ASSERT_TRUE(Put(*e, Key(i), "v").ok());
  const std::vector<ring::Arc> arcs = {{UINT64_MAX / 8, UINT64_MAX / 8 * 3, "a", "b"}};
  std::set<std::string> want;
  for (int i = 0; i < 2000; ++i) {
    if (arcs[0].Contains(ring::HashXxh3(Key(i)))) want.insert(Key(i));
  }
  std::set<std::string> got;
  int added = 2000, removed = 0;
  ASSERT_TRUE(
      e->ForEachInArcs(arcs, ring::HashKind::kXxh3, 0, [&](std::string_view key, const Entry&) {
         got.insert(std::string(key));
         // Grow, then shrink, the tables under the walk.
         for (int j = 0; j < 20 && added < 12000; ++j) {
           EXPECT_TRUE(Put(*e, "grow" + std::to_string(added++), "v").ok());
         }
         if (added >= 12000) {
           for (int j = 0; j < 200 && removed < 10000; ++j) {
             EXPECT_TRUE(Delete(*e, "grow" + std::to_string(2000 + removed++)).ok());
           }
         }
         return true;
       }).ok());
  for (const std::string& k : want) EXPECT_TRUE(got.count(k)) << k;
  for (const std::string& k : got) {
    if (!k.starts_with("grow")) {
      EXPECT_TRUE(want.count(k)) << k;
    }
  }
  EXPECT_GT(added, 4000);
}

TEST(MemoryEngineTest, ClearKeepsCounters) {
  FakeClock clock;
  auto e = NewMemoryEngine({.shards = 4});
  uint64_t empty = e->Stats().used_bytes;
  ASSERT_TRUE(Put(*e, "gone", "v", 1, clock.NowMs() + 1).ok());
  clock.Advance(1);
  EXPECT_FALSE(e->Get("gone", clock.NowMs()));
  for (int i = 0; i < 100; ++i) ASSERT_TRUE(Put(*e, Key(i), "v", 1, i % 2 ? 0 : 1 << 30).ok());
  ASSERT_TRUE(e->Clear().ok());
  EngineStats stats = e->Stats();
  EXPECT_EQ(stats.keys, 0u);
  EXPECT_EQ(stats.keys_with_expiry, 0u);
  EXPECT_EQ(stats.expired_keys, 1u);
  EXPECT_EQ(stats.used_bytes, empty);
  EXPECT_FALSE(e->Get(Key(1), clock.NowMs()));
  EXPECT_TRUE(ScanAll(*e, clock.NowMs()).empty());
  ASSERT_TRUE(Put(*e, "again", "v").ok());
  EXPECT_TRUE(e->Get("again", clock.NowMs()));
}

TEST(MemoryEngineTest, ConcurrentIncrementsAreExact) {
  auto e = NewMemoryEngine({.shards = 4});
  constexpr int kThreads = 4, kIncrements = 20000, kKeys = 8;
  std::vector<std::thread> threads;
  std::atomic<bool> stop{false};
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kIncrements; ++i) {
        Status st = e->Mutate(Key((i + t) % kKeys), 0, [](const Entry* cur) {
          uint64_t n = cur ? std::stoull(cur->value) : 0;
          return Mutation::Put(Entry{std::to_string(n + 1), n + 1, 0});
        });
        ASSERT_TRUE(st.ok());
      }
    });
  }
  std::thread reader([&] {  // readers and scans race with the writers
    while (!stop) {
      e->Get(Key(0), 0);
      ScanAll(*e, 0);
      e->RandomKey(0);
      e->Stats();
    }
  });
  for (auto& t : threads) t.join();
  stop = true;
  reader.join();
  uint64_t total = 0;
  for (int k = 0; k < kKeys; ++k) {
    auto got = e->Get(Key(k), 0);
    ASSERT_TRUE(got);
    EXPECT_EQ(got->version, std::stoull(got->value));
    total += std::stoull(got->value);
  }
  EXPECT_EQ(total, uint64_t{kThreads} * kIncrements);
}

TEST(MemoryEngineTest, ConcurrentEvictionStaysConsistent) {
  auto e = NewMemoryEngine({.max_memory = 100'000, .shards = 4});
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 20000; ++i) {
        std::string k = Key(t * 100000 + i);
        ASSERT_TRUE(Put(*e, k, std::string(40 + i % 50, 'v'), 1, i % 3 ? 0 : 1 << 30).ok());
        if (i % 7 == 0) e->Get(Key(t * 100000 + i / 2), 0);
        if (i % 11 == 0) {
          ASSERT_TRUE(Delete(*e, Key(t * 100000 + i / 3)).ok());
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  EngineStats stats = e->Stats();
  EXPECT_LE(stats.used_bytes, stats.max_memory + 4096);  // racing writers may overshoot a little
  EXPECT_GT(stats.evicted_keys, 0u);
  EXPECT_EQ(ScanAll(*e, 0).size(), stats.keys);
  ASSERT_TRUE(e->Clear().ok());
  EXPECT_LT(e->Stats().used_bytes, 4096u);
}

// Records the memory cost of 1M keys of 16 bytes with 32-byte values, both as
// accounted by the engine and as measured by malloc. Loose bound only.
TEST(MemoryEngineTest, BytesPerKeyForOneMillionKeys) {
  constexpr int kKeys = 1'000'000;
  auto heap = [] { return mallinfo2().uordblks + mallinfo2().hblkhd; };  // brk + mmap
  size_t heap_before = heap();
  auto e = NewMemoryEngine({});
  uint64_t empty = e->Stats().used_bytes;
  char key[17], value[33];
  auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < kKeys; ++i) {
    std::snprintf(key, sizeof(key), "key:%012d", i);
    std::snprintf(value, sizeof(value), "value:%026d", i);
    ASSERT_TRUE(Put(*e, std::string_view(key, 16), std::string(value, 32), i).ok());
  }
  double put_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  start = std::chrono::steady_clock::now();
  for (int i = 0; i < kKeys; ++i) {
    std::snprintf(key, sizeof(key), "key:%012d", i);
    ASSERT_TRUE(e->Get(std::string_view(key, 16), 0));
  }
  double get_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EngineStats stats = e->Stats();
  double accounted = double(stats.used_bytes - empty) / kKeys;
  double measured = double(heap() - heap_before) / kKeys;
  std::printf(
      "[ bytes/key ] accounted %.1f, malloc-measured %.1f (1M keys, 16 B key, 32 B value)\n",
      accounted, measured);
  std::printf("[ ops/s     ] put %.0f, get %.0f (one thread)\n", kKeys / put_s, kKeys / get_s);
  EXPECT_EQ(stats.keys, uint64_t{kKeys});
  EXPECT_LT(accounted, 200);
  EXPECT_LT(measured, 200);
}

// A GET-heavy mix from two threads (the node's shape): every read finds its
// key, and afterwards every key holds one of the values written. (Speed is
// measured in bench/, not here.)
TEST(MemoryEngineTest, TwoThreadsOfGetsAndPutsKeepEveryKey) {
  constexpr int kKeys = 20'000, kOpsPerThread = 100'000;
  auto e = NewMemoryEngine({});
  for (int i = 0; i < kKeys; ++i) ASSERT_TRUE(Put(*e, Key(i), std::string(32, 'v')).ok());
  std::vector<std::thread> threads;
  for (int t = 0; t < 2; ++t) {
    threads.emplace_back([&, t] {
      uint64_t x = 88172645463325252ULL + t;
      for (int i = 0; i < kOpsPerThread; ++i) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        std::string k = Key(static_cast<int>(x % kKeys));
        if (i % 5 == 0) {
          ASSERT_TRUE(Put(*e, k, std::string(32, static_cast<char>('a' + t)), i + 1).ok());
        } else {
          ASSERT_TRUE(e->Get(k, 0));
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(e->Stats().keys, uint64_t{kKeys});
  for (int i = 0; i < kKeys; ++i) {
    std::optional<Entry> got = e->Get(Key(i), 0);
    ASSERT_TRUE(got);
    EXPECT_TRUE(got->value == std::string(32, 'v') || got->value == std::string(32, 'a') ||
                got->value == std::string(32, 'b'))
        << got->value;
  }
}

Status Tombstone(Engine& e, std::string_view key, uint64_t version, int64_t now_ms = 0) {
  return e.Mutate(key, now_ms, [&](const Entry*) { return Mutation::Tombstone(version); });
}

// A tombstone costs its key and a node header (plus its slot in the purge
// index), and gives back the value.
TEST(MemoryEngineTest, TombstonesCountInUsedBytes) {
  auto e = NewMemoryEngine({.shards = 1});
  const uint64_t empty = e->Stats().used_bytes;
  ASSERT_TRUE(Put(*e, "k", std::string(1000, 'v')).ok());
  const uint64_t with_entry = e->Stats().used_bytes;
  ASSERT_TRUE(Tombstone(*e, "k", 2).ok());
  const uint64_t one = e->Stats().used_bytes;
  const uint64_t node = internal::AllocatedSize(internal::TombstoneNodeSize(1));
  EXPECT_GE(one, empty + node);
  EXPECT_LE(one, empty + node + internal::AllocatedSize(sizeof(void*)));  // the index slot
  EXPECT_LT(one, with_entry);
  ASSERT_TRUE(Tombstone(*e, "k", 3).ok());  // in place
  EXPECT_EQ(e->Stats().used_bytes, one);
  for (int i = 0; i < 1000; ++i) ASSERT_TRUE(Tombstone(*e, Key(i), 1).ok());
  const uint64_t many = e->Stats().used_bytes;
  EXPECT_GT(many, one + 1000 * internal::AllocatedSize(internal::TombstoneNodeSize(5)));
  EXPECT_EQ(e->PurgeTombstones(1 << 30, 0, 2000), 1001u);
  EXPECT_LT(e->Stats().used_bytes, empty + 1024);  // what is left of the table and the index
  ASSERT_TRUE(Tombstone(*e, "k", 4).ok());
  ASSERT_TRUE(e->Clear().ok());
  EXPECT_EQ(e->Stats().used_bytes, empty);
}

// Dropping a tombstone could let an older copy of its key come back, so
// eviction takes live entries only, however old the tombstones are.
TEST(MemoryEngineTest, EvictionNeverTakesTombstones) {
  auto e = NewMemoryEngine({.max_memory = 60'000, .shards = 2});
  for (int i = 0; i < 200; ++i) ASSERT_TRUE(Tombstone(*e, "dead" + std::to_string(i), 1).ok());
  for (int i = 0; i < 2000; ++i) ASSERT_TRUE(Put(*e, Key(i), std::string(64, 'v')).ok());
  EngineStats stats = e->Stats();
  EXPECT_GT(stats.evicted_keys, 0u);
  EXPECT_EQ(stats.tombstones, 200u);
  EXPECT_LE(stats.used_bytes, stats.max_memory);
  for (int i = 0; i < 200; ++i) EXPECT_TRUE(e->Peek("dead" + std::to_string(i), 0));
  // Nothing but tombstones left to evict: a put still proceeds.
  auto full = NewMemoryEngine({.max_memory = 20'000, .shards = 1});
  for (int i = 0; i < 300; ++i) ASSERT_TRUE(Tombstone(*full, "dead" + std::to_string(i), 1).ok());
  EXPECT_TRUE(Put(*full, "k", "v").ok());
  EXPECT_EQ(full->Stats().tombstones, 300u);
}

// A delete must not fail for memory: under noeviction a tombstone is stored
// even at the limit, where a put is refused.
TEST(MemoryEngineTest, NoEvictionAcceptsTombstones) {
  auto probe = NewMemoryEngine({.shards = 1});
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(Put(*probe, Key(i), std::string(100, 'x')).ok());
  auto e = NewMemoryEngine({.max_memory = probe->Stats().used_bytes + 20,
                            .policy = EvictionPolicy::kNoEviction,
                            .shards = 1});
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(Put(*e, Key(i), std::string(100, 'x')).ok());
  EXPECT_EQ(Put(*e, "new", "x").code(), StatusCode::kResourceExhausted);
  ASSERT_TRUE(Tombstone(*e, "new", 5).ok());
  ASSERT_TRUE(Tombstone(*e, Key(0), 5).ok());
  EXPECT_EQ(e->Stats().tombstones, 2u);
  EXPECT_EQ(e->Stats().keys, 9u);
  EXPECT_TRUE(e->Peek("new", 0)->tombstone);
  // Past the limit, nothing is evicted from any shard either.
  auto sharded =
      NewMemoryEngine({.max_memory = 40'000, .policy = EvictionPolicy::kNoEviction, .shards = 4});
  int stored = 0;
  while (Put(*sharded, Key(stored), std::string(100, 'x')).ok()) ++stored;
  for (int i = 0; i < 200; ++i)
    ASSERT_TRUE(Tombstone(*sharded, "dead" + std::to_string(i), 1).ok());
  EngineStats stats = sharded->Stats();
  EXPECT_GT(stats.used_bytes, stats.max_memory);
  EXPECT_EQ(stats.evicted_keys, 0u);
  EXPECT_EQ(stats.keys, static_cast<uint64_t>(stored));
}

// A table of `keys` nodes for keys Key(0..keys-1), grown as the shard grows it.
struct FilledTable {
  FilledTable(size_t keys, unsigned skip_bits) : table(skip_bits) {
    for (size_t i = 0; i < keys; ++i) {
      std::string key = Key(static_cast<int>(i));
      if (size_t b = table.BucketsForInsert(); b != 0) table.Resize(b);
      nodes.push_back(internal::NewNode(key, "v", i + 1, 0));
      table.Insert(internal::KeyHash(key), nodes.back());
    }
  }
  ~FilledTable() {
    for (internal::Node* n : nodes) internal::FreeNode(n);
  }
  uint64_t Pos(const internal::Node* n) const {
    return table.Position(internal::KeyHash(internal::NodeKey(n)));
  }
  internal::NodeTable table;
  std::vector<internal::Node*> nodes;
};

TEST(NodeTableTest, BucketsAreInRingOrder) {
  for (unsigned skip : {0u, 4u, 16u}) {
    FilledTable t(5000, skip);
    std::vector<uint64_t> positions;
    internal::NodeTable::Step step{0, false};
    size_t buckets = 0;
    while (!step.done) {
      std::vector<uint64_t> in_bucket;
      step = t.table.VisitBucket(step.next,
                                 [&](const internal::Node* n) { in_bucket.push_back(t.Pos(n)); });
      std::sort(in_bucket.begin(), in_bucket.end());
      positions.insert(positions.end(), in_bucket.begin(), in_bucket.end());
      ++buckets;
    }
    EXPECT_EQ(buckets, t.table.bucket_count());
    EXPECT_EQ(positions.size(), 5000u);
    EXPECT_TRUE(std::is_sorted(positions.begin(), positions.end())) << "skip " << skip;
  }
}

TEST(NodeTableTest, VisitRangeCoversTheRangeAndLittleElse) {
  std::mt19937_64 rng(7);
  for (size_t keys : {0u, 1u, 7u, 100u, 5000u}) {
    for (unsigned skip : {0u, 3u}) {
      FilledTable t(keys, skip);
      const uint64_t bucket_width = uint64_t{1} << (64 - std::countr_zero(t.table.bucket_count()));
      for (int round = 0; round < 200; ++round) {
        uint64_t from = rng(), last = rng();
        if (round % 3 == 0) last = from + rng() % (bucket_width * 4);  // a few buckets
        if (last < from) std::swap(from, last);
        const size_t step_nodes = round % 2 == 0 ? 1 : 64;
        std::set<const internal::Node*> got;
        internal::NodeTable::Step step{from, false};
        while (!step.done) {
          step = t.table.VisitRange(step.next, last, step_nodes, [&](const internal::Node* n) {
            EXPECT_TRUE(got.insert(n).second);
          });
        }
        for (const internal::Node* n : t.nodes) {
          const uint64_t pos = t.Pos(n);
          // Every node in the range is visited; outside it, only those sharing
          // a bucket with its ends.
          if (pos >= from && pos <= last) {
            EXPECT_TRUE(got.count(n)) << keys << " keys, skip " << skip;
          } else if (got.count(n)) {
            const bool near = pos / bucket_width == from / bucket_width ||
                              pos / bucket_width == last / bucket_width;
            EXPECT_TRUE(near) << keys << " keys, skip " << skip;
          }
        }
      }
    }
  }
}

TEST(NodeTableTest, VisitRangeOverEverythingSeesWhatVisitBucketSees) {
  for (size_t keys : {0u, 1u, 7u, 100u, 5000u}) {
    FilledTable t(keys, 2);
    std::vector<const internal::Node*> want;
    internal::NodeTable::Step step{0, false};
    while (!step.done) {
      step = t.table.VisitBucket(step.next, [&](const internal::Node* n) { want.push_back(n); });
    }
    for (size_t step_nodes : {1u, 3u, 64u, 100000u}) {
      std::vector<const internal::Node*> got;
      internal::NodeTable::Step s{0, false};
      while (!s.done) {
        const size_t before = got.size();
        s = t.table.VisitRange(s.next, UINT64_MAX, step_nodes,
                               [&](const internal::Node* n) { got.push_back(n); });
        // Stops at the first bucket that brings the count to `step_nodes`, or at the end.
        if (!s.done) {
          EXPECT_GE(got.size() - before, step_nodes);
        }
      }
      EXPECT_EQ(got, want) << keys << " keys, steps of " << step_nodes;
    }
  }
}

}  // namespace
}  // namespace ringkv::store
