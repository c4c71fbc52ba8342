// RocksDbEngine's declaration, shared by rocksdb_engine.cc (open, point
// reads and writes, Clear, Stats) and rocksdb_engine_walks.cc (Scan,
// RandomKey, ExpireCycle, PurgeTombstones, the arc walks). Private to
// store/; the public entry point is OpenRocksDbEngine.
//
// Layout: store/internal/rocksdb_format.h. The "meta" column family records
// the hash kind the directory was created with, so a directory is never read
// with another layout.
//
// Concurrency: plain reads go straight to RocksDB. Every read-modify-write
// (Mutate, reaping an expired entry, purging a tombstone) holds one of
// kStripes mutexes chosen by ring position, so it is atomic per key, and
// writes the data and the tombstone index in one batch; Clear holds all of
// them. The counters are kept exact under those locks and recounted on
// open. Hints go through HintSet, which writes them to the "hints" family.
#pragma once

#include <rocksdb/db.h>
#include <rocksdb/listener.h>
#include <rocksdb/options.h>
#include <rocksdb/write_batch.h>

#include <array>
#include <atomic>
#include <memory>
#include <optional>
#include <random>
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "base/thread_annotations.h"
#include "store/internal/hint_set.h"
#include "store/internal/rocksdb_format.h"
#include "store/rocksdb_engine.h"

namespace ringkv::store::internal {

inline constexpr size_t kStripes = 1024;
inline constexpr uint64_t kMaxPosition = UINT64_MAX;

inline std::string_view View(const rocksdb::Slice& s) {
  return s.ToStringView();
}

inline bool IsExpired(int64_t expire_at_ms, int64_t now_ms) {
  return expire_at_ms != 0 && expire_at_ms <= now_ms;
}

// A RocksDB status as ours: corruption is kDataLoss, transient trouble
// kUnavailable, the rest kInternal.
Status FromRocks(const rocksdb::Status& s, std::string_view what);

// Reads that walk many entries should not evict the point-lookup working set.
inline rocksdb::ReadOptions BulkReadOptions() {
  rocksdb::ReadOptions options;
  options.fill_cache = false;
  return options;
}

// The first failed write stops every later one, until RocksDB has
// recovered. After a failed WAL write or flush (a full disk, an I/O error)
// RocksDB takes no more writes, and in RocksDB 7.8 a WAL sync before it has
// recovered trips an assertion that aborts the process. So the engine
// neither writes nor syncs while stopped: writes get the first error, reads
// go on. RocksDB recovers from a full disk by itself, once the disk has room
// for a memtable (it checks every 5 s), and then writes resume
// (GateListener); a restart recovers too (RocksDB replays the WAL up to the
// failed write, which was never acknowledged).
class WriteGate {
 public:
  // OkStatus while writes go on; Unavailable naming the first failure after.
  Status Check() const;
  // The result of a write as our Status. An I/O error stops writes (and is
  // logged once); other errors only pass through.
  Status Done(const rocksdb::Status& s, std::string_view what);
  // RocksDB recovered from the error: writes go on (logged).
  void Resume();
  bool stopped() const { return stopped_.load(std::memory_order_acquire); }

 private:
  std::atomic<bool> stopped_{false};
  mutable Mutex mu_;
  std::string reason_ GUARDED_BY(mu_);
};

// Opens the gate when RocksDB reports a successful recovery.
class GateListener final : public rocksdb::EventListener {
 public:
  explicit GateListener(std::shared_ptr<WriteGate> gate) : gate_(std::move(gate)) {}
  void OnErrorRecoveryEnd(const rocksdb::BackgroundErrorRecoveryInfo& info) override {
    if (info.new_bg_error.ok()) gate_->Resume();
  }

 private:
  const std::shared_ptr<WriteGate> gate_;
};

// Hints written through to the "hints" column family (HintSet's log).
class RocksDbHintLog final : public HintLog {
 public:
  RocksDbHintLog(rocksdb::DB* db, rocksdb::ColumnFamilyHandle* family,
                 const rocksdb::WriteOptions& write, WriteGate& gate)
      : db_(db), family_(family), write_(write), gate_(gate) {}

  Status Put(std::string_view target, std::string_view key, int64_t created_ms) override {
    if (Status st = gate_.Check(); !st.ok()) return st;
    return gate_.Done(
        db_->Put(write_, family_, EncodeHintKey(target, key), EncodeHintValue(created_ms)),
        "write hint");
  }

  Status Delete(std::string_view target, std::span<const std::string> keys) override {
    if (Status st = gate_.Check(); !st.ok()) return st;
    rocksdb::WriteBatch batch;
    for (const std::string& key : keys) batch.Delete(family_, EncodeHintKey(target, key));
    return gate_.Done(db_->Write(write_, &batch), "delete hints");
  }

 private:
  rocksdb::DB* const db_;
  rocksdb::ColumnFamilyHandle* const family_;
  const rocksdb::WriteOptions& write_;
  WriteGate& gate_;
};

class RocksDbEngine final : public Engine {
 public:
  static StatusOr<std::unique_ptr<Engine>> Open(const RocksDbEngineOptions& options);
  ~RocksDbEngine() override;

  std::optional<Entry> Get(std::string_view key, int64_t now_ms) override;
  std::optional<VersionedEntry> Peek(std::string_view key, int64_t now_ms) override;
  Status Mutate(std::string_view key, int64_t now_ms,
                FunctionRef<Mutation(const Entry* current)> fn) override;
  Status MutateVersioned(std::string_view key, int64_t now_ms,
                         FunctionRef<Mutation(const VersionedEntry* current)> fn) override;
  Status Clear() override;
  ScanPage Scan(uint64_t cursor, size_t count, int64_t now_ms) override;
  std::optional<std::string> RandomKey(int64_t now_ms) override;
  size_t ExpireCycle(int64_t now_ms, size_t budget) override;
  size_t PurgeTombstones(int64_t now_ms, int64_t ttl_ms, size_t budget) override;
  Status ForEachInArcs(std::span<const ring::Arc> arcs, ring::HashKind hash, int64_t now_ms,
                       FunctionRef<bool(std::string_view key, const Entry& entry)> fn) override;
  Status ForEachVersionedInArcs(
      std::span<const ring::Arc> arcs, ring::HashKind hash, int64_t now_ms,
      FunctionRef<bool(std::string_view key, const VersionedEntry& entry)> fn) override;
  HintStore& hints() override { return hints_; }
  EngineStats Stats() const override;

 private:
  using Visitor = FunctionRef<bool(std::string_view key, const VersionedEntry& entry)>;
  // Which records a walk hands out.
  enum class Include : uint8_t { kLive, kLiveAndTombstones };

  RocksDbEngine(RocksDbEngineOptions options, rocksdb::DB* db,
                std::vector<rocksdb::ColumnFamilyHandle*> handles, std::shared_ptr<WriteGate> gate);

  Status CheckHashKind();
  Status Recount();
  Status LoadHints();
  void StartWalSyncer();
  void WalSyncLoop();
  Mutex& StripeFor(uint64_t position) { return stripes_[position % kStripes]; }
  // Clear's hold of every stripe. The analysis cannot follow a lock taken
  // for each element of an array in a loop, so these two are not checked.
  void LockAllStripes() NO_THREAD_SAFETY_ANALYSIS;
  void UnlockAllStripes() NO_THREAD_SAFETY_ANALYSIS;
  // Deletes every record of `family` (with every stripe held).
  rocksdb::Status ClearFamily(rocksdb::ColumnFamilyHandle* family);
  // Applies `m` to the stored key under its stripe lock; `old` is the stored
  // entry or tombstone (possibly an expired entry), nullptr if absent.
  Status Apply(const std::string& stored_key, const VersionedEntry* old, bool old_expired,
               const Mutation& m);
  // Adds the counters of what `v` is (nullptr: nothing) times `sign`.
  void Count(const VersionedEntry* v, int sign);
  // Deletes the key if it is (still) expired at now_ms. Takes the stripe lock.
  bool ReapIfExpired(uint64_t position, std::string_view key, int64_t now_ms);
  // Deletes the tombstone index record and, if the key still holds that
  // tombstone, the key. Takes the stripe lock. True when the key was purged.
  bool PurgeIfTombstone(std::string_view data_key, uint64_t version);
  Status WalkArcs(std::span<const ring::Arc> arcs, ring::HashKind hash, int64_t now_ms,
                  Include include, Visitor fn);
  // Visits records with positions in [first, last]; *stopped when fn said so.
  Status VisitRange(uint64_t first, uint64_t last, int64_t now_ms, Include include, Visitor fn,
                    bool* stopped);
  Status VisitArc(const ring::Arc& arc, int64_t now_ms, Include include, Visitor fn, bool* stopped);
  std::optional<std::string> FirstLiveFrom(uint64_t position, int64_t now_ms, size_t max_visits);
  uint64_t RandomPosition();

  const RocksDbEngineOptions options_;
  std::unique_ptr<rocksdb::DB> db_;
  std::vector<rocksdb::ColumnFamilyHandle*> handles_;  // owned; destroyed before db_
  rocksdb::ColumnFamilyHandle* data_;
  rocksdb::ColumnFamilyHandle* meta_;
  rocksdb::ColumnFamilyHandle* tombstone_index_;
  rocksdb::ColumnFamilyHandle* hint_family_;
  rocksdb::WriteOptions write_options_;
  const std::shared_ptr<WriteGate> gate_;  // shared with the GateListener RocksDB holds

  std::array<Mutex, kStripes> stripes_;
  std::atomic<int64_t> keys_{0};
  std::atomic<int64_t> keys_with_expiry_{0};
  std::atomic<int64_t> tombstones_{0};
  std::atomic<uint64_t> expired_keys_{0};
  std::atomic<uint64_t> purged_tombstones_{0};

  Mutex expire_mu_;                                    // serializes ExpireCycle
  uint64_t expire_cursor_ GUARDED_BY(expire_mu_) = 0;  // where the next cycle starts
  Mutex purge_mu_;                                     // serializes PurgeTombstones

  Mutex rng_mu_;
  std::mt19937_64 rng_ GUARDED_BY(rng_mu_);

  Mutex sync_mu_;
  CondVar sync_cv_;
  bool stopping_ GUARDED_BY(sync_mu_) = false;
  std::thread wal_syncer_;

  RocksDbHintLog hint_log_;
  HintSet hints_;
};

}  // namespace ringkv::store::internal
