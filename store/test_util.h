// Helpers shared by the store tests: a temporary directory, HLC versions
// and a fixture that runs a test against both engines.
#pragma once

#include <gtest/gtest.h>
#include <stdlib.h>

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <set>
#include <string>

#include "base/clock.h"
#include "store/engine.h"
#include "store/hints.h"
#include "store/memory_engine.h"
#include "store/rocksdb_engine.h"

namespace ringkv::store::testing {

// A fresh directory per test, removed afterwards.
class TempDir {
 public:
  TempDir() {
    const char* base = getenv("TMPDIR");
    std::string pattern = std::string(base && *base ? base : "/tmp") + "/ringkv_rocks_XXXXXX";
    char* made = mkdtemp(pattern.data());
    EXPECT_NE(made, nullptr);
    path_ = pattern;
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  std::string db() const { return path_ + "/db"; }

 private:
  std::string path_;
};

// An HLC version as HybridClock makes them: (ms << 16) | counter.
inline uint64_t Version(int64_t ms, uint16_t counter = 0) {
  return (static_cast<uint64_t>(ms) << 16) | counter;
}

inline std::string Key(int i) {
  return "key:" + std::to_string(i);
}

enum class EngineKind { kMemory, kRocksDb };

inline std::string EngineKindName(const ::testing::TestParamInfo<EngineKind>& info) {
  return info.param == EngineKind::kMemory ? "Memory" : "RocksDb";
}

// Runs a test against a memory engine and a RocksDB engine in a temporary
// directory. Instantiate with ::testing::Values(EngineKind::kMemory,
// EngineKind::kRocksDb) and EngineKindName.
class EngineTest : public ::testing::TestWithParam<EngineKind> {
 protected:
  void SetUp() override { engine_ = Open({}); }

  std::unique_ptr<Engine> Open(HintLimits limits) {
    if (GetParam() == EngineKind::kMemory) return NewMemoryEngine({.shards = 4, .hints = limits});
    StatusOr<std::unique_ptr<Engine>> engine = OpenRocksDbEngine({.path = dir_.db(),
                                                                  .fsync = FsyncPolicy::kNo,
                                                                  .block_cache_bytes = 8 << 20,
                                                                  .hints = limits});
    EXPECT_TRUE(engine.ok()) << engine.status().ToString();
    return engine.ok() ? std::move(engine).value() : nullptr;
  }
  // Replaces the engine with a fresh, empty one with these hint limits.
  void StartEmpty(HintLimits limits) {
    engine_.reset();
    if (GetParam() == EngineKind::kRocksDb) std::filesystem::remove_all(dir_.db());
    engine_ = Open(limits);
  }

  int64_t now() const { return clock_.NowMs(); }
  uint64_t V(int64_t ms_after_now = 0, uint16_t counter = 0) const {
    return Version(now() + ms_after_now, counter);
  }

  Status Put(std::string_view key, std::string value, uint64_t version, int64_t expire_at_ms = 0) {
    return engine_->Mutate(key, now(), [&](const Entry*) {
      return Mutation::Put({std::move(value), version, expire_at_ms});
    });
  }
  Status Tombstone(std::string_view key, uint64_t version) {
    return engine_->Mutate(key, now(), [&](const Entry*) { return Mutation::Tombstone(version); });
  }
  std::set<std::string> ScanAll() {
    std::set<std::string> keys;
    uint64_t cursor = 0;
    do {
      ScanPage page = engine_->Scan(cursor, 7, now());
      keys.insert(page.keys.begin(), page.keys.end());
      cursor = page.next_cursor;
    } while (cursor != 0);
    return keys;
  }
  // Every key ForEachVersionedInArcs reports over the whole ring.
  std::map<std::string, VersionedEntry> AllVersioned(ring::HashKind hash = ring::HashKind::kXxh3) {
    std::map<std::string, VersionedEntry> out;
    const ring::Arc whole{0, 0, "", ""};
    Status s = engine_->ForEachVersionedInArcs(
        {&whole, 1}, hash, now(), [&](std::string_view key, const VersionedEntry& v) {
          EXPECT_TRUE(out.emplace(std::string(key), v).second) << "twice: " << key;
          return true;
        });
    EXPECT_TRUE(s.ok()) << s.ToString();
    return out;
  }

  TempDir dir_;
  FakeClock clock_;
  std::unique_ptr<Engine> engine_;
};

}  // namespace ringkv::store::testing
