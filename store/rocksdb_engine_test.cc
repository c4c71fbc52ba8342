#include "store/rocksdb_engine.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <rocksdb/db.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "base/clock.h"
#include "store/test_util.h"

extern char** environ;

namespace ringkv::store {
namespace {

using ring::HashKind;

using testing::TempDir;

std::unique_ptr<Engine> OpenOrDie(const std::string& path, FsyncPolicy fsync = FsyncPolicy::kNo,
                                  HashKind hash = HashKind::kXxh3) {
  StatusOr<std::unique_ptr<Engine>> engine = OpenRocksDbEngine({path, fsync, hash, 8 << 20});
  EXPECT_TRUE(engine.ok()) << engine.status().ToString();
  return engine.ok() ? std::move(engine).value() : nullptr;
}

Status Put(Engine& engine, std::string_view key, std::string value, int64_t now_ms,
           uint64_t version = 1, int64_t expire_at_ms = 0) {
  return engine.Mutate(key, now_ms, [&](const Entry*) {
    return Mutation::Put({std::move(value), version, expire_at_ms});
  });
}

Status Delete(Engine& engine, std::string_view key, int64_t now_ms) {
  return engine.Mutate(key, now_ms, [](const Entry*) { return Mutation::Delete(); });
}

class RocksDbEngineTest : public ::testing::Test {
 protected:
  void SetUp() override { engine_ = OpenOrDie(dir_.db()); }
  void Reopen(HashKind hash = HashKind::kXxh3) {
    engine_.reset();
    engine_ = OpenOrDie(dir_.db(), FsyncPolicy::kNo, hash);
  }
  int64_t now() const { return clock_.NowMs(); }

  TempDir dir_;
  FakeClock clock_;
  std::unique_ptr<Engine> engine_;
};

TEST_F(RocksDbEngineTest, Crud) {
  EXPECT_FALSE(engine_->Get("a", now()));
  ASSERT_TRUE(Put(*engine_, "a", "1", now(), 7).ok());
  std::optional<Entry> got = engine_->Get("a", now());
  ASSERT_TRUE(got);
  EXPECT_EQ(got->value, "1");
  EXPECT_EQ(got->version, 7u);
  EXPECT_EQ(got->expire_at_ms, 0);
  ASSERT_TRUE(Put(*engine_, "a", std::string("x\0y", 3), now(), 8).ok());
  EXPECT_EQ(engine_->Get("a", now())->value, std::string("x\0y", 3));
  ASSERT_TRUE(Put(*engine_, "", "empty key", now()).ok());
  EXPECT_EQ(engine_->Get("", now())->value, "empty key");
  EXPECT_EQ(engine_->Stats().keys, 2u);
  ASSERT_TRUE(Delete(*engine_, "a", now()).ok());
  ASSERT_TRUE(Delete(*engine_, "missing", now()).ok());
  EXPECT_FALSE(engine_->Get("a", now()));
  EXPECT_EQ(engine_->Stats().keys, 1u);
  EXPECT_GT(engine_->Stats().used_bytes, 0u);
}

TEST_F(RocksDbEngineTest, MutateSeesCurrentEntryAndKeepChangesNothing) {
  ASSERT_TRUE(Put(*engine_, "k", "old", now(), 5).ok());
  // Last-writer-wins on version: an older write is dropped.
  auto lww = [&](std::string value, uint64_t version) {
    return engine_->Mutate("k", now(), [&](const Entry* cur) {
      if (cur && cur->version >= version) return Mutation::Keep();
      return Mutation::Put({value, version, 0});
    });
  };
  ASSERT_TRUE(lww("older", 4).ok());
  EXPECT_EQ(engine_->Get("k", now())->value, "old");
  ASSERT_TRUE(lww("newer", 6).ok());
  EXPECT_EQ(engine_->Get("k", now())->value, "newer");
  int calls = 0;
  ASSERT_TRUE(engine_
                  ->Mutate("absent", now(),
                           [&](const Entry* cur) {
                             ++calls;
                             EXPECT_EQ(cur, nullptr);
                             return Mutation::Keep();
                           })
                  .ok());
  EXPECT_EQ(calls, 1);
  EXPECT_FALSE(engine_->Get("absent", now()));
}

TEST_F(RocksDbEngineTest, TtlIsLazyAndCounted) {
  ASSERT_TRUE(Put(*engine_, "t", "v", now(), 1, now() + 1000).ok());
  ASSERT_TRUE(Put(*engine_, "u", "v", now(), 1, now() + 1000).ok());
  EXPECT_EQ(engine_->Stats().keys_with_expiry, 2u);
  EXPECT_EQ(engine_->Get("t", now() + 999)->expire_at_ms, now() + 1000);
  clock_.Advance(1000);
  EXPECT_FALSE(engine_->Get("t", now()));
  EXPECT_EQ(engine_->Stats().expired_keys, 1u);
  EXPECT_EQ(engine_->Stats().keys, 1u);
  // Mutate sees an expired entry as absent and reaps it.
  ASSERT_TRUE(engine_
                  ->Mutate("u", now(),
                           [](const Entry* cur) {
                             EXPECT_EQ(cur, nullptr);
                             return Mutation::Keep();
                           })
                  .ok());
  EngineStats stats = engine_->Stats();
  EXPECT_EQ(stats.expired_keys, 2u);
  EXPECT_EQ(stats.keys, 0u);
  EXPECT_EQ(stats.keys_with_expiry, 0u);
}

TEST_F(RocksDbEngineTest, ExpireCycleDeletesOnlyExpiredWithinBudget) {
  for (int i = 0; i < 200; ++i) {
    int64_t expire = i % 2 == 0 ? now() + 100 : (i % 3 == 0 ? now() + 100'000 : 0);
    ASSERT_TRUE(Put(*engine_, "key" + std::to_string(i), "v", now(), 1, expire).ok());
  }
  EXPECT_EQ(engine_->ExpireCycle(now(), 50), 0u);
  clock_.Advance(100);
  size_t first = engine_->ExpireCycle(now(), 10);
  EXPECT_LE(first, 10u);
  size_t total = first;
  for (int round = 0; round < 100; ++round) total += engine_->ExpireCycle(now(), 10);
  EXPECT_EQ(total, 100u);
  EngineStats stats = engine_->Stats();
  EXPECT_EQ(stats.keys, 100u);
  EXPECT_EQ(stats.expired_keys, 100u);
  EXPECT_EQ(stats.keys_with_expiry, 33u);  // odd multiples of 3 below 200
  EXPECT_TRUE(engine_->Get("key3", now()));
  EXPECT_TRUE(engine_->Get("key1", now()));
}

TEST_F(RocksDbEngineTest, DataAndTtlSurviveReopen) {
  ASSERT_TRUE(Put(*engine_, "p", "persistent", now(), 3).ok());
  ASSERT_TRUE(Put(*engine_, "t", "ttl", now(), 4, now() + 5000).ok());
  Reopen();
  EngineStats stats = engine_->Stats();
  EXPECT_EQ(stats.keys, 2u);
  EXPECT_EQ(stats.keys_with_expiry, 1u);
  std::optional<Entry> p = engine_->Get("p", now());
  ASSERT_TRUE(p);
  EXPECT_EQ(p->value, "persistent");
  EXPECT_EQ(p->version, 3u);
  std::optional<Entry> t = engine_->Get("t", now());
  ASSERT_TRUE(t);
  EXPECT_EQ(t->expire_at_ms, now() + 5000);
  clock_.Advance(5000);
  EXPECT_FALSE(engine_->Get("t", now()));
}

TEST_F(RocksDbEngineTest, RefusesAnotherHashKind) {
  ASSERT_TRUE(Put(*engine_, "k", "v", now()).ok());
  engine_.reset();
  StatusOr<std::unique_ptr<Engine>> other =
      OpenRocksDbEngine({dir_.db(), FsyncPolicy::kNo, HashKind::kSha256, 8 << 20});
  ASSERT_FALSE(other.ok());
  EXPECT_EQ(other.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(other.status().message().find("xxh3"), std::string::npos);
  EXPECT_NE(other.status().message().find("sha256"), std::string::npos);
  Reopen();
  EXPECT_EQ(engine_->Get("k", now())->value, "v");
}

std::vector<std::string> ScanAll(Engine& engine, size_t count, int64_t now_ms) {
  std::vector<std::string> keys;
  uint64_t cursor = 0;
  for (int pages = 0; pages < 100'000; ++pages) {
    ScanPage page = engine.Scan(cursor, count, now_ms);
    keys.insert(keys.end(), page.keys.begin(), page.keys.end());
    if (page.next_cursor == 0) return keys;
    EXPECT_GT(page.next_cursor, cursor);
    cursor = page.next_cursor;
  }
  ADD_FAILURE() << "scan did not finish";
  return keys;
}

TEST_F(RocksDbEngineTest, ScanReturnsEveryLiveKeyOnce) {
  std::set<std::string> want;
  for (int i = 0; i < 1000; ++i) {
    std::string key = "scan" + std::to_string(i);
    const bool expires = i % 10 == 0;
    ASSERT_TRUE(Put(*engine_, key, "v", now(), 1, expires ? now() + 10 : 0).ok());
    if (!expires) want.insert(key);
  }
  clock_.Advance(10);
  for (size_t count : {0, 1, 7, 100, 5000}) {
    std::vector<std::string> got = ScanAll(*engine_, count, now());
    EXPECT_EQ(got.size(), want.size()) << "count " << count;
    EXPECT_EQ(std::set<std::string>(got.begin(), got.end()), want) << "count " << count;
  }
}

TEST_F(RocksDbEngineTest, ScanKeepsKeysPresentThroughoutUnderChurn) {
  std::set<std::string> stable;
  for (int i = 0; i < 500; ++i) {
    stable.insert("stable" + std::to_string(i));
    ASSERT_TRUE(Put(*engine_, "stable" + std::to_string(i), "v", now()).ok());
  }
  std::set<std::string> seen;
  uint64_t cursor = 0;
  int churn = 0;
  do {
    ScanPage page = engine_->Scan(cursor, 10, now());
    seen.insert(page.keys.begin(), page.keys.end());
    cursor = page.next_cursor;
    for (int i = 0; i < 5; ++i, ++churn) {
      ASSERT_TRUE(Put(*engine_, "churn" + std::to_string(churn), "v", now()).ok());
      ASSERT_TRUE(Delete(*engine_, "churn" + std::to_string(churn / 2), now()).ok());
    }
  } while (cursor != 0);
  for (const std::string& key : stable) EXPECT_TRUE(seen.count(key)) << key;
}

TEST_F(RocksDbEngineTest, EmptyEngine) {
  ScanPage page = engine_->Scan(0, 10, now());
  EXPECT_EQ(page.next_cursor, 0u);
  EXPECT_TRUE(page.keys.empty());
  EXPECT_FALSE(engine_->RandomKey(now()));
  EXPECT_EQ(engine_->ExpireCycle(now(), 10), 0u);
  EXPECT_EQ(engine_->Stats().keys, 0u);
}

TEST_F(RocksDbEngineTest, RandomKeyReturnsLiveKeys) {
  std::set<std::string> live;
  for (int i = 0; i < 50; ++i) {
    std::string key = "r" + std::to_string(i);
    ASSERT_TRUE(Put(*engine_, key, "v", now(), 1, i < 40 ? now() + 1 : 0).ok());
    if (i >= 40) live.insert(key);
  }
  clock_.Advance(1);
  std::set<std::string> seen;
  for (int i = 0; i < 300; ++i) {
    std::optional<std::string> key = engine_->RandomKey(now());
    ASSERT_TRUE(key);
    EXPECT_TRUE(live.count(*key)) << *key;
    seen.insert(*key);
  }
  EXPECT_GT(seen.size(), 5u);
  for (const std::string& key : live) ASSERT_TRUE(Delete(*engine_, key, now()).ok());
  EXPECT_FALSE(engine_->RandomKey(now()));
}

TEST_F(RocksDbEngineTest, ClearRemovesEverything) {
  for (int i = 0; i < 300; ++i) {
    ASSERT_TRUE(Put(*engine_, "c" + std::to_string(i), "v", now(), 1, i % 2 ? now() + 9 : 0).ok());
  }
  ASSERT_TRUE(engine_->Clear().ok());
  EngineStats stats = engine_->Stats();
  EXPECT_EQ(stats.keys, 0u);
  EXPECT_EQ(stats.keys_with_expiry, 0u);
  EXPECT_FALSE(engine_->Get("c1", now()));
  EXPECT_TRUE(ScanAll(*engine_, 100, now()).empty());
  ASSERT_TRUE(Put(*engine_, "c1", "again", now()).ok());
  EXPECT_EQ(engine_->Get("c1", now())->value, "again");
  Reopen();
  EXPECT_EQ(engine_->Stats().keys, 1u);
}

ring::Arc MakeArc(uint64_t lo, uint64_t hi) {
  ring::Arc arc;
  arc.lo = lo;
  arc.hi = hi;
  return arc;
}

// A directory opened with RocksDB itself, with every column family it has;
// `create_families` makes a new directory with just those (an older layout).
class RawDb {
 public:
  explicit RawDb(const std::string& path, std::vector<std::string> create_families = {}) {
    rocksdb::Options options;
    std::vector<std::string> names = std::move(create_families);
    if (names.empty()) {
      EXPECT_TRUE(rocksdb::DB::ListColumnFamilies(options, path, &names).ok());
    } else {
      options.create_if_missing = true;
      options.create_missing_column_families = true;
    }
    std::vector<rocksdb::ColumnFamilyDescriptor> families;
    families.reserve(names.size());
    for (const std::string& name : names) {
      families.emplace_back(name, rocksdb::ColumnFamilyOptions());
    }
    rocksdb::DB* db = nullptr;
    rocksdb::Status s = rocksdb::DB::Open(options, path, families, &handles_, &db);
    EXPECT_TRUE(s.ok()) << s.ToString();
    db_.reset(db);
    names_ = names;
  }
  ~RawDb() {
    for (rocksdb::ColumnFamilyHandle* handle : handles_) {
      EXPECT_TRUE(db_->DestroyColumnFamilyHandle(handle).ok());
    }
  }
  rocksdb::DB& db() { return *db_; }
  rocksdb::ColumnFamilyHandle* family(std::string_view name) {
    for (size_t i = 0; i < names_.size(); ++i) {
      if (names_[i] == name) return handles_[i];
    }
    ADD_FAILURE() << "no column family " << name;
    return nullptr;
  }
  // Every record of a family, in order.
  std::vector<std::pair<std::string, std::string>> All(std::string_view name) {
    std::vector<std::pair<std::string, std::string>> out;
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator({}, family(name)));
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      out.emplace_back(it->key().ToString(), it->value().ToString());
    }
    return out;
  }

 private:
  std::vector<std::string> names_;
  std::vector<rocksdb::ColumnFamilyHandle*> handles_;
  std::unique_ptr<rocksdb::DB> db_;
};

std::string BigEndian(uint64_t v) {
  std::string out(8, '\0');
  for (int i = 7; i >= 0; --i, v >>= 8) out[i] = static_cast<char>(v & 0xff);
  return out;
}

// How the engine lays a key out: ring position (big-endian), then the key.
std::string StoredKey(std::string_view key) {
  return BigEndian(ring::HashKey(HashKind::kXxh3, key)) + std::string(key);
}

// A value written behind the engine's back with an unknown header format.
void WriteRawCorruptValue(const std::string& path, std::string_view key) {
  RawDb raw(path);
  ASSERT_TRUE(
      raw.db()
          .Put({}, raw.family(rocksdb::kDefaultColumnFamilyName), StoredKey(key), "\x09junk")
          .ok());
}

TEST_F(RocksDbEngineTest, CorruptValueIsReportedNotReturned) {
  ASSERT_TRUE(Put(*engine_, "good", "v", now()).ok());
  engine_.reset();
  WriteRawCorruptValue(dir_.db(), "bad");
  Reopen();
  EXPECT_FALSE(engine_->Get("bad", now()));
  Status s = Put(*engine_, "bad", "v", now());
  EXPECT_EQ(s.code(), StatusCode::kDataLoss) << s.ToString();
  std::vector<ring::Arc> whole = {MakeArc(0, 0)};
  s = engine_->ForEachInArcs(whole, HashKind::kXxh3, now(),
                             [](std::string_view, const Entry&) { return true; });
  EXPECT_EQ(s.code(), StatusCode::kDataLoss) << s.ToString();
  EXPECT_EQ(ScanAll(*engine_, 10, now()), std::vector<std::string>{"good"});
  ASSERT_TRUE(engine_->Clear().ok());
  EXPECT_TRUE(Put(*engine_, "bad", "v", now()).ok());
}

Status Tombstone(Engine& engine, std::string_view key, uint64_t version, int64_t now_ms) {
  return engine.Mutate(key, now_ms, [&](const Entry*) { return Mutation::Tombstone(version); });
}

TEST_F(RocksDbEngineTest, TombstonesSurviveReopen) {
  const uint64_t old_version = testing::Version(now() - 5000);
  const uint64_t new_version = testing::Version(now());
  ASSERT_TRUE(Put(*engine_, "live", "v", now(), new_version).ok());
  ASSERT_TRUE(Tombstone(*engine_, "old", old_version, now()).ok());
  ASSERT_TRUE(Tombstone(*engine_, "new", new_version, now()).ok());
  Reopen();
  EngineStats stats = engine_->Stats();
  EXPECT_EQ(stats.keys, 1u);
  EXPECT_EQ(stats.tombstones, 2u);
  std::optional<VersionedEntry> old = engine_->Peek("old", now());
  ASSERT_TRUE(old);
  EXPECT_TRUE(old->tombstone);
  EXPECT_EQ(old->entry.version, old_version);
  EXPECT_FALSE(engine_->Get("old", now()));
  EXPECT_EQ(ScanAll(*engine_, 10, now()), std::vector<std::string>{"live"});
  // The purge index came back too.
  EXPECT_EQ(engine_->PurgeTombstones(now(), 1000, 100), 1u);
  Reopen();
  EXPECT_FALSE(engine_->Peek("old", now()));
  EXPECT_TRUE(engine_->Peek("new", now())->tombstone);
  EXPECT_EQ(engine_->Stats().tombstones, 1u);
}

TEST_F(RocksDbEngineTest, HintsSurviveReopen) {
  ASSERT_TRUE(engine_->hints().Add("node-2", "a", now()).ok());
  ASSERT_TRUE(engine_->hints().Add("node-2", "b", now() + 1).ok());
  ASSERT_TRUE(engine_->hints().Add("node-3", "a", now() + 2).ok());
  ASSERT_TRUE(engine_->hints().Add("node-2", "a", now() + 3).ok());  // moves a's time
  ASSERT_TRUE(engine_->hints().Remove("node-2", "b").ok());
  const HintStats before = engine_->hints().Stats();
  Reopen();
  const HintStats after = engine_->hints().Stats();
  EXPECT_EQ(after.total.hints, 2u);
  EXPECT_EQ(after.total.bytes, before.total.bytes);
  EXPECT_EQ(after.targets.size(), 2u);
  std::map<std::string, int64_t> node2;
  engine_->hints().ForEach("node-2", [&](std::string_view key, int64_t created_ms) {
    node2[std::string(key)] = created_ms;
    return true;
  });
  EXPECT_EQ(node2, (std::map<std::string, int64_t>{{"a", now() + 3}}));
  ASSERT_EQ(*engine_->hints().Expire(now() + 3, 0), 2u);
  Reopen();
  EXPECT_EQ(engine_->hints().Stats().total.hints, 0u);
  EXPECT_EQ(engine_->Stats().keys, 0u);  // hints were never entries
}

// Hints written under larger limits are kept when the directory is opened
// with smaller ones; new hints wait until the old ones drop below.
TEST_F(RocksDbEngineTest, HintsOverSmallerLimitsAreKeptOnOpen) {
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(engine_->hints().Add("node-2", "k" + std::to_string(i), now()).ok());
  }
  engine_.reset();
  StatusOr<std::unique_ptr<Engine>> small = OpenRocksDbEngine(
      {.path = dir_.db(), .fsync = FsyncPolicy::kNo, .hints = {.max_hints = 3, .max_bytes = 0}});
  ASSERT_TRUE(small.ok()) << small.status().ToString();
  engine_ = std::move(small).value();
  EXPECT_EQ(engine_->hints().Stats().total.hints, 5u);
  EXPECT_EQ(engine_->hints().Add("node-2", "new", now()).code(), StatusCode::kResourceExhausted);
  const std::vector<std::string> three = {"k0", "k1", "k2"};
  ASSERT_TRUE(engine_->hints().Remove("node-2", three).ok());
  EXPECT_TRUE(engine_->hints().Add("node-2", "new", now()).ok());
}

// A directory written before tombstones and hints existed: only the default
// and "meta" families, and values in the one format of the time, built here
// byte by byte (format 1, version u64 BE, expire_at_ms i64 BE, value).
TEST(RocksDbEngineFormatTest, DirectoryFromBeforeTombstonesOpensAndReads) {
  TempDir dir;
  const int64_t now_ms = 1'700'000'000'000;
  auto old_value = [](uint64_t version, int64_t expire_at_ms, std::string_view value) {
    return std::string(1, '\x01') + BigEndian(version) +
           BigEndian(static_cast<uint64_t>(expire_at_ms)) + std::string(value);
  };
  {
    RawDb raw(dir.db(), {rocksdb::kDefaultColumnFamilyName, "meta"});
    rocksdb::ColumnFamilyHandle* data = raw.family(rocksdb::kDefaultColumnFamilyName);
    ASSERT_TRUE(raw.db().Put({}, raw.family("meta"), "hash_kind", "xxh3").ok());
    ASSERT_TRUE(raw.db().Put({}, data, StoredKey("plain"), old_value(7, 0, "hello")).ok());
    ASSERT_TRUE(raw.db().Put({}, data, StoredKey("ttl"), old_value(8, now_ms + 1000, "t")).ok());
    ASSERT_TRUE(raw.db().Put({}, data, StoredKey("empty"), old_value(9, 0, "")).ok());
  }
  std::unique_ptr<Engine> engine = OpenOrDie(dir.db());
  ASSERT_NE(engine, nullptr);
  EngineStats stats = engine->Stats();
  EXPECT_EQ(stats.keys, 3u);
  EXPECT_EQ(stats.keys_with_expiry, 1u);
  EXPECT_EQ(stats.tombstones, 0u);
  std::optional<Entry> plain = engine->Get("plain", now_ms);
  ASSERT_TRUE(plain);
  EXPECT_EQ(plain->value, "hello");
  EXPECT_EQ(plain->version, 7u);
  EXPECT_EQ(engine->Get("ttl", now_ms)->expire_at_ms, now_ms + 1000);
  EXPECT_FALSE(engine->Get("ttl", now_ms + 1000));
  EXPECT_EQ(engine->Get("empty", now_ms)->value, "");
  std::optional<VersionedEntry> peeked = engine->Peek("plain", now_ms);
  ASSERT_TRUE(peeked);
  EXPECT_FALSE(peeked->tombstone);
  EXPECT_EQ(engine->hints().Stats().total.hints, 0u);
  // The directory now takes tombstones and hints, and keeps them.
  ASSERT_TRUE(Tombstone(*engine, "plain", 10, now_ms).ok());
  ASSERT_TRUE(engine->hints().Add("node-2", "plain", now_ms).ok());
  engine.reset();
  engine = OpenOrDie(dir.db());
  EXPECT_TRUE(engine->Peek("plain", now_ms)->tombstone);
  EXPECT_EQ(engine->Stats().keys, 1u);  // "empty"; "ttl" was reaped
  EXPECT_EQ(engine->hints().Stats().total.hints, 1u);
  // Entries are still written in the old format: only tombstones are new.
  engine.reset();
  RawDb raw(dir.db());
  for (const auto& [key, value] : raw.All(rocksdb::kDefaultColumnFamilyName)) {
    EXPECT_EQ(value[0], key.substr(8) == "plain" ? '\x02' : '\x01') << key.substr(8);
  }
}

// After any mix of writes, the purge index holds exactly one record per
// stored tombstone, under its version.
TEST_F(RocksDbEngineTest, TombstoneIndexMatchesTheTombstones) {
  std::mt19937_64 rng(5);
  for (int i = 0; i < 2000; ++i) {
    const std::string key = "k" + std::to_string(rng() % 100);
    const uint64_t version = testing::Version(now() - static_cast<int64_t>(rng() % 5000), i);
    switch (rng() % 4) {
      case 0:
        ASSERT_TRUE(Put(*engine_, key, "v", now(), version).ok());
        break;
      case 1:
        ASSERT_TRUE(Delete(*engine_, key, now()).ok());
        break;
      default:
        ASSERT_TRUE(Tombstone(*engine_, key, version, now()).ok());
    }
    if (i % 500 == 499) engine_->PurgeTombstones(now(), 2500, 20);
  }
  const uint64_t tombstones = engine_->Stats().tombstones;
  engine_.reset();
  RawDb raw(dir_.db());
  std::set<std::string> want;
  for (const auto& [key, value] : raw.All(rocksdb::kDefaultColumnFamilyName)) {
    if (value[0] == '\x02') want.insert(value.substr(1, 8) + key);
  }
  std::set<std::string> index;
  for (const auto& [key, value] : raw.All("tombstones")) index.insert(key);
  EXPECT_EQ(index.size(), want.size());
  EXPECT_TRUE(index == want);  // (the records are binary: not printed)
  EXPECT_EQ(want.size(), tombstones);
  EXPECT_GT(tombstones, 0u);
}

TEST_F(RocksDbEngineTest, HintsLiveApartFromTheData) {
  ASSERT_TRUE(Put(*engine_, "k", "v", now()).ok());
  ASSERT_TRUE(engine_->hints().Add("node-2", "k", now()).ok());
  ASSERT_TRUE(engine_->hints().Add("node-2", "other", now()).ok());
  engine_.reset();
  RawDb raw(dir_.db());
  EXPECT_EQ(raw.All(rocksdb::kDefaultColumnFamilyName).size(), 1u);
  EXPECT_EQ(raw.All("hints").size(), 2u);
}

// Brute force: every live key whose position lies in one of the arcs.
std::set<std::string> InArcs(const std::map<std::string, uint64_t>& positions,
                             const std::vector<ring::Arc>& arcs) {
  std::set<std::string> out;
  for (const auto& [key, position] : positions) {
    for (const ring::Arc& arc : arcs) {
      if (arc.Contains(position)) out.insert(key);
    }
  }
  return out;
}

class ForEachInArcsTest : public RocksDbEngineTest {
 protected:
  void SetUp() override {
    RocksDbEngineTest::SetUp();
    for (int i = 0; i < 600; ++i) {
      std::string key = "arc" + std::to_string(i);
      const bool expired = i % 7 == 0;
      ASSERT_TRUE(Put(*engine_, key, "v" + std::to_string(i), now(), 1, expired ? now() : 0).ok());
      if (!expired) {
        xxh3_[key] = ring::HashKey(HashKind::kXxh3, key);
        sha_[key] = ring::HashKey(HashKind::kSha256, key);
      }
    }
  }
  std::set<std::string> Visit(const std::vector<ring::Arc>& arcs, HashKind hash) {
    std::set<std::string> out;
    Status s = engine_->ForEachInArcs(arcs, hash, now(), [&](std::string_view key, const Entry& e) {
      EXPECT_EQ(e.value, "v" + std::string(key.substr(3)));
      EXPECT_TRUE(out.insert(std::string(key)).second) << "visited twice: " << key;
      return true;
    });
    EXPECT_TRUE(s.ok()) << s.ToString();
    return out;
  }

  std::map<std::string, uint64_t> xxh3_;
  std::map<std::string, uint64_t> sha_;
};

TEST_F(ForEachInArcsTest, MatchesBruteForce) {
  std::mt19937_64 rng(42);
  std::vector<std::vector<ring::Arc>> cases = {
      {MakeArc(0, 0)},                    // whole ring
      {MakeArc(12345, 12345)},            // whole ring, elsewhere
      {MakeArc(UINT64_MAX, UINT64_MAX)},  // whole ring at the top
      {MakeArc(UINT64_MAX, 1ull << 63)},  // wraps from the very top
      {MakeArc(0, UINT64_MAX)},           // all but position 0
      {MakeArc(1ull << 62, 1ull << 63), MakeArc(3ull << 62, 1ull << 61)},
  };
  // Disjoint arcs between sorted random cut points, as Diff produces them;
  // every other case also takes the arc that wraps from the last point.
  for (int i = 0; i < 40; ++i) {
    std::vector<uint64_t> cuts(2 * (1 + i % 3));
    for (uint64_t& cut : cuts) cut = rng();
    std::sort(cuts.begin(), cuts.end());
    std::vector<ring::Arc> arcs;
    for (size_t j = 0; j + 1 < cuts.size(); j += 2) arcs.push_back(MakeArc(cuts[j], cuts[j + 1]));
    if (i % 2 == 1) arcs.back() = MakeArc(cuts.back(), cuts.front());
    cases.push_back(arcs);
  }
  for (const auto& arcs : cases) {
    EXPECT_EQ(Visit(arcs, HashKind::kXxh3), InArcs(xxh3_, arcs)) << arcs[0].lo << " " << arcs[0].hi;
  }
  // Another hash kind than the layout's still answers correctly (full scan).
  for (size_t i = 6; i < 12; ++i) {
    EXPECT_EQ(Visit(cases[i], HashKind::kSha256), InArcs(sha_, cases[i]));
  }
}

TEST_F(ForEachInArcsTest, StopsWhenCallbackSaysSo) {
  int calls = 0;
  std::vector<ring::Arc> arcs = {MakeArc(5, 5), MakeArc(1, 2)};
  ASSERT_TRUE(engine_
                  ->ForEachInArcs(arcs, HashKind::kXxh3, now(),
                                  [&](std::string_view, const Entry&) { return ++calls < 3; })
                  .ok());
  EXPECT_EQ(calls, 3);
}

TEST_F(RocksDbEngineTest, ConcurrentIncrementsAreExact) {
  constexpr int kThreads = 8;
  constexpr int kPerThread = 1000;
  constexpr int kKeys = 4;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        std::string key = "counter" + std::to_string((i + t) % kKeys);
        Status s = engine_->Mutate(key, now(), [](const Entry* cur) {
          const int64_t n = cur ? std::stoll(cur->value) : 0;
          return Mutation::Put({std::to_string(n + 1), cur ? cur->version + 1 : 1, 0});
        });
        ASSERT_TRUE(s.ok()) << s.ToString();
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  for (int k = 0; k < kKeys; ++k) {
    std::optional<Entry> e = engine_->Get("counter" + std::to_string(k), now());
    ASSERT_TRUE(e);
    EXPECT_EQ(e->value, std::to_string(kThreads * kPerThread / kKeys));
    EXPECT_EQ(e->version, static_cast<uint64_t>(kThreads * kPerThread / kKeys));
  }
  EXPECT_EQ(engine_->Stats().keys, static_cast<uint64_t>(kKeys));
}

// ---- kill -9 durability -------------------------------------------------
//
// The test re-executes this binary with RINGKV_CRASH_DIR set; before main the
// child opens the engine, writes key i and then reports i on a pipe, forever.
// The parent kills it with SIGKILL and checks every reported key is on disk.

constexpr char kCrashDirVar[] = "RINGKV_CRASH_DIR";
constexpr char kCrashFdVar[] = "RINGKV_CRASH_FD";
constexpr char kCrashFsyncVar[] = "RINGKV_CRASH_FSYNC";

std::string CrashKey(uint32_t i) {
  return "crash" + std::to_string(i);
}

int MaybeRunCrashChild() {
  const char* dir = getenv(kCrashDirVar);
  if (dir == nullptr) return 0;
  const int fd = atoi(getenv(kCrashFdVar));
  const FsyncPolicy fsync = std::string(getenv(kCrashFsyncVar)) == "always"
                                ? FsyncPolicy::kAlways
                                : FsyncPolicy::kEverySec;
  StatusOr<std::unique_ptr<Engine>> engine = OpenRocksDbEngine({dir, fsync, HashKind::kXxh3});
  if (!engine.ok()) _exit(3);
  for (uint32_t i = 0; i < 10'000'000; ++i) {
    if (!Put(**engine, CrashKey(i), "value" + std::to_string(i), 1, i + 1).ok()) _exit(4);
    if (write(fd, &i, sizeof(i)) != sizeof(i)) _exit(5);
  }
  _exit(0);
}

[[maybe_unused]] const int kCrashChild = MaybeRunCrashChild();

// Reads reported indexes until `want` more arrived (or EOF/timeout when want
// is 0 after the kill); returns the highest one, or -1.
int64_t ReadAcks(int fd, int64_t want, int64_t last) {
  for (int64_t got = 0; want == 0 || got < want;) {
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, 20'000) <= 0) break;
    uint32_t i = 0;
    ssize_t n = read(fd, &i, sizeof(i));  // 4-byte writes to a pipe are atomic
    if (n != sizeof(i)) break;
    EXPECT_EQ(static_cast<int64_t>(i), last + 1);
    last = i;
    ++got;
  }
  return last;
}

void KillAndCheck(FsyncPolicy fsync, int64_t acks_before_kill) {
  TempDir dir;
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  std::vector<std::string> env_strings;
  for (char** e = environ; *e != nullptr; ++e) env_strings.emplace_back(*e);
  env_strings.push_back(std::string(kCrashDirVar) + "=" + dir.db());
  env_strings.push_back(std::string(kCrashFdVar) + "=" + std::to_string(fds[1]));
  env_strings.push_back(std::string(kCrashFsyncVar) + "=" +
                        (fsync == FsyncPolicy::kAlways ? "always" : "everysec"));
  std::vector<char*> envp;
  for (std::string& s : env_strings) envp.push_back(s.data());
  envp.push_back(nullptr);
  char self[] = "/proc/self/exe";
  char* argv[] = {self, nullptr};

  const pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    close(fds[0]);
    execve(self, argv, envp.data());
    _exit(127);
  }
  close(fds[1]);
  int64_t last = ReadAcks(fds[0], acks_before_kill, -1);
  ASSERT_EQ(kill(pid, SIGKILL), 0);
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) << "child status " << status;
  last = ReadAcks(fds[0], 0, last);  // acknowledged before the kill landed
  close(fds[0]);
  ASSERT_GE(last + 1, acks_before_kill);

  std::unique_ptr<Engine> engine = OpenOrDie(dir.db(), fsync);
  ASSERT_NE(engine, nullptr);
  for (int64_t i = 0; i <= last; ++i) {
    std::optional<Entry> e = engine->Get(CrashKey(static_cast<uint32_t>(i)), 2);
    ASSERT_TRUE(e) << "lost acknowledged write " << i << " of " << last + 1;
    ASSERT_EQ(e->value, "value" + std::to_string(i));
  }
  EXPECT_GE(engine->Stats().keys, static_cast<uint64_t>(last + 1));
}

TEST(RocksDbEngineCrashTest, KillNineLosesNoAcknowledgedWriteWithFsyncAlways) {
  KillAndCheck(FsyncPolicy::kAlways, 200);
}

TEST(RocksDbEngineCrashTest, KillNineLosesNoAcknowledgedWriteWithFsyncEverySec) {
  KillAndCheck(FsyncPolicy::kEverySec, 5000);
}

}  // namespace
}  // namespace ringkv::store
