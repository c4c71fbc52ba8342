// The tombstone contract of store/engine.h, run against both engines.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "store/engine.h"
#include "store/test_util.h"

namespace ringkv::store {
namespace {

using testing::EngineKind;
using testing::Key;
using testing::Version;

using EngineTombstonesTest = testing::EngineTest;

INSTANTIATE_TEST_SUITE_P(Engines, EngineTombstonesTest,
                         ::testing::Values(EngineKind::kMemory, EngineKind::kRocksDb),
                         testing::EngineKindName);

TEST_P(EngineTombstonesTest, TombstonesAreInvisibleToEveryExistingRead) {
  for (int i = 0; i < 40; ++i) ASSERT_TRUE(Put(Key(i), "v", V()).ok());
  for (int i = 0; i < 40; i += 2) ASSERT_TRUE(Tombstone(Key(i), V(1)).ok());
  ASSERT_TRUE(Tombstone("never-written", V(1)).ok());
  std::set<std::string> live;
  for (int i = 1; i < 40; i += 2) live.insert(Key(i));

  for (int i = 0; i < 40; i += 2) EXPECT_FALSE(engine_->Get(Key(i), now())) << Key(i);
  EXPECT_FALSE(engine_->Get("never-written", now()));
  EXPECT_EQ(ScanAll(), live);
  for (int i = 0; i < 200; ++i) {
    std::optional<std::string> k = engine_->RandomKey(now());
    ASSERT_TRUE(k);
    EXPECT_TRUE(live.count(*k)) << *k;
  }
  EngineStats stats = engine_->Stats();
  EXPECT_EQ(stats.keys, 20u);
  EXPECT_EQ(stats.tombstones, 21u);
  EXPECT_EQ(engine_->ExpireCycle(now() + 1'000'000, 1000), 0u);
  EXPECT_EQ(engine_->Stats().tombstones, 21u);
  for (ring::HashKind hash : {ring::HashKind::kXxh3, ring::HashKind::kSha256}) {
    const ring::Arc whole{7, 7, "", ""};
    std::set<std::string> visited;
    ASSERT_TRUE(engine_
                    ->ForEachInArcs({&whole, 1}, hash, now(),
                                    [&](std::string_view key, const Entry&) {
                                      visited.emplace(key);
                                      return true;
                                    })
                    .ok());
    EXPECT_EQ(visited, live);
  }
  ASSERT_TRUE(engine_
                  ->Mutate(Key(0), now(),
                           [](const Entry* cur) {
                             EXPECT_EQ(cur, nullptr);
                             return Mutation::Keep();
                           })
                  .ok());
  // Once every live key is a tombstone there is no random key.
  for (int i = 1; i < 40; i += 2) ASSERT_TRUE(Tombstone(Key(i), V(2)).ok());
  EXPECT_FALSE(engine_->RandomKey(now()));
  EXPECT_TRUE(ScanAll().empty());
  EXPECT_EQ(engine_->Stats().keys, 0u);
}

TEST_P(EngineTombstonesTest, PeekSeesEntriesAndTombstones) {
  EXPECT_FALSE(engine_->Peek("k", now()));
  ASSERT_TRUE(Put("k", "v", V(0, 3), now() + 100).ok());
  std::optional<VersionedEntry> got = engine_->Peek("k", now());
  ASSERT_TRUE(got);
  EXPECT_FALSE(got->tombstone);
  EXPECT_EQ(got->entry.value, "v");
  EXPECT_EQ(got->entry.version, V(0, 3));
  EXPECT_EQ(got->entry.expire_at_ms, now() + 100);
  ASSERT_TRUE(Tombstone("k", V(0, 4)).ok());
  got = engine_->Peek("k", now());
  ASSERT_TRUE(got);
  EXPECT_TRUE(got->tombstone);
  EXPECT_EQ(got->entry.version, V(0, 4));
  EXPECT_EQ(got->entry.value, "");
  EXPECT_EQ(got->entry.expire_at_ms, 0);
  // A tombstone never expires by itself; an expired entry is absent.
  EXPECT_TRUE(engine_->Peek("k", now() + 1'000'000'000));
  ASSERT_TRUE(Put("e", "v", V(), now() + 10).ok());
  EXPECT_FALSE(engine_->Peek("e", now() + 10));
}

TEST_P(EngineTombstonesTest, MutateVersionedSeesTheTombstoneAndMutateDoesNot) {
  ASSERT_TRUE(Tombstone("k", V(0, 9)).ok());
  int calls = 0;
  ASSERT_TRUE(engine_
                  ->MutateVersioned("k", now(),
                                    [&](const VersionedEntry* cur) {
                                      ++calls;
                                      EXPECT_NE(cur, nullptr);
                                      if (cur != nullptr) {
                                        EXPECT_TRUE(cur->tombstone);
                                        EXPECT_EQ(cur->entry.version, V(0, 9));
                                      }
                                      return Mutation::Keep();
                                    })
                  .ok());
  EXPECT_EQ(calls, 1);
  EXPECT_TRUE(engine_->Peek("k", now())->tombstone);  // Keep left it
  ASSERT_TRUE(Put("live", "v", V(0, 1)).ok());
  ASSERT_TRUE(engine_
                  ->MutateVersioned("live", now(),
                                    [&](const VersionedEntry* cur) {
                                      EXPECT_NE(cur, nullptr);
                                      if (cur != nullptr) {
                                        EXPECT_FALSE(cur->tombstone);
                                        EXPECT_EQ(cur->entry.value, "v");
                                      }
                                      return Mutation::Tombstone(V(0, 2));
                                    })
                  .ok());
  EXPECT_FALSE(engine_->Get("live", now()));
  EXPECT_EQ(engine_->Stats().tombstones, 2u);
  EXPECT_EQ(engine_->Stats().keys, 0u);
}

// Existing callers (SET after DEL) do not compare versions: a put replaces a
// tombstone whatever its version. Delete leaves no trace, tombstone or not.
TEST_P(EngineTombstonesTest, PutReplacesATombstoneAndDeleteRemovesIt) {
  ASSERT_TRUE(Tombstone("k", V(100)).ok());
  ASSERT_TRUE(Put("k", "again", V(0)).ok());
  std::optional<Entry> got = engine_->Get("k", now());
  ASSERT_TRUE(got);
  EXPECT_EQ(got->value, "again");
  EXPECT_EQ(got->version, V(0));
  EXPECT_EQ(engine_->Stats().tombstones, 0u);
  EXPECT_EQ(engine_->Stats().keys, 1u);

  ASSERT_TRUE(Tombstone("k", V(1)).ok());
  ASSERT_TRUE(Tombstone("k", V(2)).ok());  // a newer delete replaces the tombstone
  EXPECT_EQ(engine_->Peek("k", now())->entry.version, V(2));
  EXPECT_EQ(engine_->Stats().tombstones, 1u);
  ASSERT_TRUE(
      engine_->MutateVersioned("k", now(), [](const VersionedEntry*) { return Mutation::Delete(); })
          .ok());
  EXPECT_FALSE(engine_->Peek("k", now()));
  EXPECT_EQ(engine_->Stats().tombstones, 0u);
  EXPECT_EQ(engine_->Stats().keys, 0u);
}

TEST_P(EngineTombstonesTest, ForEachVersionedInArcsIncludesTombstones) {
  std::map<std::string, VersionedEntry> want;
  for (int i = 0; i < 300; ++i) {
    const std::string key = Key(i);
    switch (i % 3) {
      case 0:
        ASSERT_TRUE(Put(key, "v" + std::to_string(i), V(0, i)).ok());
        want[key] = {{"v" + std::to_string(i), V(0, i), 0}, false};
        break;
      case 1:
        ASSERT_TRUE(Tombstone(key, V(0, i)).ok());
        want[key] = {{"", V(0, i), 0}, true};
        break;
      default:
        ASSERT_TRUE(Put(key, "gone", V(0, i), now()).ok());  // already expired
    }
  }
  for (ring::HashKind hash : {ring::HashKind::kXxh3, ring::HashKind::kSha256}) {
    std::map<std::string, VersionedEntry> got = AllVersioned(hash);
    ASSERT_EQ(got.size(), want.size());
    for (const auto& [key, v] : want) {
      ASSERT_TRUE(got.count(key)) << key;
      EXPECT_EQ(got[key].tombstone, v.tombstone) << key;
      EXPECT_EQ(got[key].entry.version, v.entry.version) << key;
      EXPECT_EQ(got[key].entry.value, v.entry.value) << key;
    }
  }
  // Arcs select by position as ForEachInArcs does, and a false return stops.
  const std::vector<ring::Arc> half = {{0, UINT64_MAX / 2, "", ""}};
  size_t in_half = 0;
  for (const auto& [key, v] : want) {
    if (half[0].Contains(ring::HashXxh3(key))) ++in_half;
  }
  size_t visited = 0;
  ASSERT_TRUE(engine_
                  ->ForEachVersionedInArcs(half, ring::HashKind::kXxh3, now(),
                                           [&](std::string_view key, const VersionedEntry&) {
                                             EXPECT_TRUE(half[0].Contains(ring::HashXxh3(key)));
                                             ++visited;
                                             return true;
                                           })
                  .ok());
  EXPECT_EQ(visited, in_half);
  int calls = 0;
  ASSERT_TRUE(engine_
                  ->ForEachVersionedInArcs(
                      half, ring::HashKind::kXxh3, now(),
                      [&](std::string_view, const VersionedEntry&) { return ++calls < 2; })
                  .ok());
  EXPECT_EQ(calls, 2);
}

TEST_P(EngineTombstonesTest, InstallIfNewerAcceptsOnlyNewerVersions) {
  const VersionedEntry v5{{"five", V(0, 5), 0}, false};
  const VersionedEntry t7{{"", V(0, 7), 0}, true};
  const VersionedEntry v6{{"six", V(0, 6), 0}, false};
  const VersionedEntry v8{{"eight", V(0, 8), 0}, false};
  EXPECT_TRUE(*InstallIfNewer(*engine_, "k", now(), v5));
  EXPECT_FALSE(*InstallIfNewer(*engine_, "k", now(), v5));  // the same version: kept
  EXPECT_TRUE(*InstallIfNewer(*engine_, "k", now(), t7));
  EXPECT_FALSE(*InstallIfNewer(*engine_, "k", now(), v6));  // older than the tombstone
  EXPECT_FALSE(engine_->Get("k", now()));
  EXPECT_FALSE(*InstallIfNewer(*engine_, "k", now(), t7));
  EXPECT_TRUE(*InstallIfNewer(*engine_, "k", now(), v8));
  EXPECT_EQ(engine_->Get("k", now())->value, "eight");
  EXPECT_FALSE(*InstallIfNewer(*engine_, "k", now(), t7));  // older than the entry
  EXPECT_EQ(engine_->Get("k", now())->value, "eight");
  EXPECT_EQ(engine_->Stats().tombstones, 0u);
}

// Property: whatever the order in which the versions of a key arrive, entries
// and tombstones mixed, every engine ends up holding the newest one.
TEST_P(EngineTombstonesTest, KeepNewerInstallsConvergeToTheNewestInAnyOrder) {
  std::mt19937_64 rng(20240601);
  constexpr int kKeys = 64;
  for (int round = 0; round < 8; ++round) {
    ASSERT_TRUE(engine_->Clear().ok());
    std::vector<std::pair<std::string, VersionedEntry>> arrivals;
    std::map<std::string, VersionedEntry> newest;
    for (int k = 0; k < kKeys; ++k) {
      const std::string key = Key(k);
      std::set<uint64_t> versions;
      const int n = 1 + static_cast<int>(rng() % 6);
      while (static_cast<int>(versions.size()) < n) {
        versions.insert(Version(now() - static_cast<int64_t>(rng() % 1000), rng() % 4));
      }
      for (uint64_t version : versions) {
        const bool tombstone = rng() % 3 == 0;
        VersionedEntry v{{tombstone ? "" : "v" + std::to_string(version), version, 0}, tombstone};
        arrivals.emplace_back(key, v);
        newest[key] = v;  // versions ascend
      }
    }
    std::shuffle(arrivals.begin(), arrivals.end(), rng);
    for (const auto& [key, v] : arrivals) {
      ASSERT_TRUE(InstallIfNewer(*engine_, key, now(), v).ok());
    }
    std::map<std::string, VersionedEntry> held = AllVersioned();
    ASSERT_EQ(held.size(), newest.size()) << "round " << round;
    size_t live = 0;
    for (const auto& [key, want] : newest) {
      const VersionedEntry& got = held[key];
      EXPECT_EQ(got.entry.version, want.entry.version) << key;
      EXPECT_EQ(got.tombstone, want.tombstone) << key;
      EXPECT_EQ(got.entry.value, want.entry.value) << key;
      EXPECT_EQ(engine_->Get(key, now()).has_value(), !want.tombstone) << key;
      live += want.tombstone ? 0 : 1;
    }
    EXPECT_EQ(engine_->Stats().keys, live);
    EXPECT_EQ(engine_->Stats().tombstones, newest.size() - live);
  }
}

// The same property with the arrivals racing from several threads.
TEST_P(EngineTombstonesTest, ConcurrentKeepNewerInstallsConverge) {
  constexpr int kThreads = 4, kKeys = 16, kVersionsPerThread = 200;
  std::vector<std::thread> threads;
  threads.reserve(kThreads);
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      std::mt19937_64 rng(t);
      for (int i = 0; i < kVersionsPerThread; ++i) {
        // Distinct versions across threads: the counter carries the thread.
        const uint64_t version = Version(now() + static_cast<int64_t>(rng() % 100000), t);
        const bool tombstone = rng() % 2 == 0;
        const VersionedEntry v{{tombstone ? "" : std::to_string(version), version, 0}, tombstone};
        ASSERT_TRUE(InstallIfNewer(*engine_, Key(static_cast<int>(rng() % kKeys)), now(), v).ok());
      }
    });
  }
  for (std::thread& t : threads) t.join();
  // Replaying every thread's arrivals on one thread gives the same result.
  std::map<std::string, uint64_t> newest;
  for (int t = 0; t < kThreads; ++t) {
    std::mt19937_64 rng(t);
    for (int i = 0; i < kVersionsPerThread; ++i) {
      const uint64_t version = Version(now() + static_cast<int64_t>(rng() % 100000), t);
      rng();  // the tombstone coin
      uint64_t& best = newest[Key(static_cast<int>(rng() % kKeys))];
      best = std::max(best, version);
    }
  }
  std::map<std::string, VersionedEntry> held = AllVersioned();
  ASSERT_EQ(held.size(), newest.size());
  for (const auto& [key, version] : newest) EXPECT_EQ(held[key].entry.version, version) << key;
}

TEST_P(EngineTombstonesTest, PurgeRemovesOnlyOldTombstones) {
  constexpr int64_t kTtl = 1000;
  for (int i = 0; i < 30; ++i) {
    // Ten tombstones each 2000, 1000 and 500 ms old.
    const int64_t age = i < 10 ? 2000 : (i < 20 ? 1000 : 500);
    ASSERT_TRUE(Tombstone(Key(i), V(-age, i)).ok());
  }
  ASSERT_TRUE(Put("old-entry", "v", V(-5000)).ok());
  ASSERT_TRUE(Put("expired-entry", "v", V(-5000), now() - 1).ok());
  EXPECT_EQ(engine_->PurgeTombstones(now(), kTtl, 1000), 20u);  // 1000 ms old is old enough
  for (int i = 0; i < 30; ++i) {
    EXPECT_EQ(engine_->Peek(Key(i), now()).has_value(), i >= 20) << Key(i);
  }
  EngineStats stats = engine_->Stats();
  EXPECT_EQ(stats.tombstones, 10u);
  EXPECT_EQ(stats.purged_tombstones, 20u);
  EXPECT_EQ(stats.keys, 2u);  // purge leaves entries alone, expired ones too
  EXPECT_TRUE(engine_->Get("old-entry", now()));
  EXPECT_EQ(engine_->PurgeTombstones(now(), kTtl, 1000), 0u);
  clock_.Advance(500);
  EXPECT_EQ(engine_->PurgeTombstones(now(), kTtl, 1000), 10u);
  EXPECT_EQ(engine_->Stats().tombstones, 0u);
  EXPECT_EQ(engine_->Stats().keys, 2u);
}

TEST_P(EngineTombstonesTest, PurgeRespectsItsBudgetAndFinishes) {
  for (int i = 0; i < 200; ++i) ASSERT_TRUE(Tombstone(Key(i), V(-10'000, i)).ok());
  for (int i = 200; i < 300; ++i) ASSERT_TRUE(Tombstone(Key(i), V(0, i)).ok());
  size_t first = engine_->PurgeTombstones(now(), 1000, 10);
  EXPECT_GT(first, 0u);
  EXPECT_LE(first, 10u);
  size_t total = first;
  for (int round = 0; round < 200 && total < 200; ++round) {
    total += engine_->PurgeTombstones(now(), 1000, 10);
  }
  EXPECT_EQ(total, 200u);
  EXPECT_EQ(engine_->Stats().tombstones, 100u);
  EXPECT_EQ(engine_->PurgeTombstones(now(), 1000, 0), 0u);
}

// A tombstone replaced by a put or by a newer tombstone is purged (or kept)
// as what the key holds now, not as what it held.
TEST_P(EngineTombstonesTest, PurgeJudgesWhatTheKeyHoldsNow) {
  ASSERT_TRUE(Tombstone("revived", V(-5000)).ok());
  ASSERT_TRUE(Put("revived", "v", V(-4000)).ok());
  ASSERT_TRUE(Tombstone("deleted-again", V(-5000)).ok());
  ASSERT_TRUE(Tombstone("deleted-again", V(0)).ok());
  EXPECT_EQ(engine_->PurgeTombstones(now(), 1000, 100), 0u);
  EXPECT_TRUE(engine_->Get("revived", now()));
  EXPECT_TRUE(engine_->Peek("deleted-again", now())->tombstone);
  EXPECT_EQ(engine_->PurgeTombstones(now() + 1000, 1000, 100), 1u);
  EXPECT_FALSE(engine_->Peek("deleted-again", now()));
  EXPECT_TRUE(engine_->Get("revived", now()));
}

TEST_P(EngineTombstonesTest, ClearRemovesTombstonesAndKeepsHints) {
  ASSERT_TRUE(Put("a", "v", V()).ok());
  ASSERT_TRUE(Tombstone("b", V()).ok());
  ASSERT_TRUE(engine_->hints().Add("node-2", "a", now()).ok());
  ASSERT_TRUE(engine_->Clear().ok());
  EXPECT_FALSE(engine_->Peek("a", now()));
  EXPECT_FALSE(engine_->Peek("b", now()));
  EXPECT_EQ(engine_->Stats().tombstones, 0u);
  EXPECT_TRUE(AllVersioned().empty());
  EXPECT_EQ(engine_->hints().Stats().total.hints, 1u);
  EXPECT_EQ(engine_->PurgeTombstones(now() + 1'000'000, 0, 100), 0u);
}

}  // namespace
}  // namespace ringkv::store
