// RocksDB engine (see rocksdb_engine.h).
//
// Layout: the default column family holds the data. A key is stored as the
// 8-byte big-endian ring position followed by the key bytes; a value as a
// 17-byte header (format byte, version u64 BE, expire_at_ms i64 BE) followed
// by the value bytes. The "meta" column family records the hash kind the
// directory was created with, so a directory is never read with another
// layout.
//
// Concurrency: plain reads go straight to RocksDB. Every read-modify-write
// (Mutate, and reaping an expired entry) holds one of kStripes mutexes chosen
// by ring position, so it is atomic per key; Clear holds all of them. The key
// counters are kept exact under those locks and recounted on open.

#include "store/rocksdb_engine.h"

#include <rocksdb/cache.h>
#include <rocksdb/db.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/options.h>
#include <rocksdb/table.h>
#include <rocksdb/write_batch.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <random>
#include <thread>
#include <utility>

#include "base/thread_annotations.h"

namespace ringkv::store {
namespace {

constexpr size_t kStripes = 1024;
constexpr size_t kPositionBytes = 8;
constexpr size_t kHeaderBytes = 17;
constexpr char kFormatV1 = 1;
constexpr char kMetaFamily[] = "meta";
constexpr char kMetaHashKind[] = "hash_kind";
constexpr uint64_t kMaxPosition = UINT64_MAX;

void PutBigEndian64(char* out, uint64_t v) {
  for (int i = 7; i >= 0; --i) {
    out[i] = static_cast<char>(v & 0xff);
    v >>= 8;
  }
}

uint64_t GetBigEndian64(const char* p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | static_cast<uint8_t>(p[i]);
  return v;
}

std::string EncodePosition(uint64_t position) {
  std::string out(kPositionBytes, '\0');
  PutBigEndian64(out.data(), position);
  return out;
}

std::string EncodeKey(uint64_t position, std::string_view key) {
  std::string out = EncodePosition(position);
  out.append(key);
  return out;
}

// Data keys are always at least kPositionBytes long (we write nothing else).
uint64_t DecodePosition(const rocksdb::Slice& stored_key) {
  return GetBigEndian64(stored_key.data());
}

std::string_view DecodeUserKey(const rocksdb::Slice& stored_key) {
  return {stored_key.data() + kPositionBytes, stored_key.size() - kPositionBytes};
}

std::string EncodeValue(const Entry& entry) {
  std::string out(kHeaderBytes, '\0');
  out[0] = kFormatV1;
  PutBigEndian64(out.data() + 1, entry.version);
  PutBigEndian64(out.data() + 9, static_cast<uint64_t>(entry.expire_at_ms));
  out.append(entry.value);
  return out;
}

struct Header {
  uint64_t version = 0;
  int64_t expire_at_ms = 0;
};

std::optional<Header> DecodeHeader(const rocksdb::Slice& stored) {
  if (stored.size() < kHeaderBytes || stored[0] != kFormatV1) return std::nullopt;
  return Header{GetBigEndian64(stored.data() + 1),
                static_cast<int64_t>(GetBigEndian64(stored.data() + 9))};
}

std::optional<Entry> DecodeEntry(const rocksdb::Slice& stored) {
  std::optional<Header> header = DecodeHeader(stored);
  if (!header) return std::nullopt;
  return Entry{std::string(stored.data() + kHeaderBytes, stored.size() - kHeaderBytes),
               header->version, header->expire_at_ms};
}

bool IsExpired(int64_t expire_at_ms, int64_t now_ms) {
  return expire_at_ms != 0 && expire_at_ms <= now_ms;
}

Status FromRocks(const rocksdb::Status& s, std::string_view what) {
  if (s.ok()) return OkStatus();
  std::string message = "rocksdb " + std::string(what) + ": " + s.ToString();
  if (s.IsCorruption()) return DataLoss(std::move(message));
  if (s.IsIOError() || s.IsBusy() || s.IsTimedOut() || s.IsTryAgain() || s.IsShutdownInProgress() ||
      s.IsAborted()) {
    return Unavailable(std::move(message));
  }
  return Internal(std::move(message));
}

// Reads that walk many entries should not evict the point-lookup working set.
rocksdb::ReadOptions BulkReadOptions() {
  rocksdb::ReadOptions options;
  options.fill_cache = false;
  return options;
}

rocksdb::Options MakeDbOptions(const RocksDbEngineOptions& options) {
  rocksdb::Options db;
  db.create_if_missing = true;
  db.create_missing_column_families = true;
  db.IncreaseParallelism(2);
  db.compaction_style = rocksdb::kCompactionStyleLevel;
  db.level_compaction_dynamic_level_bytes = true;
  db.compression = rocksdb::kLZ4Compression;
  db.manual_wal_flush = false;  // every Write reaches the OS before it returns
  db.keep_log_file_num = 4;
  rocksdb::BlockBasedTableOptions table;
  table.block_cache = rocksdb::NewLRUCache(options.block_cache_bytes);
  table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
  table.format_version = 5;
  db.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
  return db;
}

class RocksDbEngine final : public Engine {
 public:
  static StatusOr<std::unique_ptr<Engine>> Open(const RocksDbEngineOptions& options);
  ~RocksDbEngine() override;

  std::optional<Entry> Get(std::string_view key, int64_t now_ms) override;
  Status Mutate(std::string_view key, int64_t now_ms,
                FunctionRef<Mutation(const Entry* current)> fn) override;
  Status Clear() override;
  ScanPage Scan(uint64_t cursor, size_t count, int64_t now_ms) override;
  std::optional<std::string> RandomKey(int64_t now_ms) override;
  size_t ExpireCycle(int64_t now_ms, size_t budget) override;
  Status ForEachInArcs(std::span<const ring::Arc> arcs, ring::HashKind hash, int64_t now_ms,
                       FunctionRef<bool(std::string_view key, const Entry& entry)> fn) override;
  EngineStats Stats() const override;

 private:
  using Visitor = FunctionRef<bool(std::string_view key, const Entry& entry)>;

  RocksDbEngine(RocksDbEngineOptions options, rocksdb::DB* db,
                std::vector<rocksdb::ColumnFamilyHandle*> handles);

  Status CheckHashKind();
  Status Recount();
  void StartWalSyncer();
  void WalSyncLoop();
  Mutex& StripeFor(uint64_t position) { return stripes_[position % kStripes]; }
  // Clear's hold of every stripe. The analysis cannot follow a lock taken
  // for each element of an array in a loop, so these two are not checked.
  void LockAllStripes() NO_THREAD_SAFETY_ANALYSIS;
  void UnlockAllStripes() NO_THREAD_SAFETY_ANALYSIS;
  // Applies `m` to the stored key under its stripe lock; `old` is the stored
  // entry (possibly expired), nullptr if absent.
  Status Apply(const std::string& stored_key, const Entry* old, bool old_expired,
               const Mutation& m);
  // Deletes the key if it is (still) expired at now_ms. Takes the stripe lock.
  bool ReapIfExpired(uint64_t position, std::string_view key, int64_t now_ms);
  // Visits live entries with positions in [first, last]; *stopped when fn said so.
  Status VisitRange(uint64_t first, uint64_t last, int64_t now_ms, Visitor fn, bool* stopped);
  Status VisitArc(const ring::Arc& arc, int64_t now_ms, Visitor fn, bool* stopped);
  std::optional<std::string> FirstLiveFrom(uint64_t position, int64_t now_ms, size_t max_visits);
  uint64_t RandomPosition();

  const RocksDbEngineOptions options_;
  std::unique_ptr<rocksdb::DB> db_;
  std::vector<rocksdb::ColumnFamilyHandle*> handles_;  // owned; destroyed before db_
  rocksdb::ColumnFamilyHandle* data_;
  rocksdb::ColumnFamilyHandle* meta_;
  rocksdb::WriteOptions write_options_;

  std::array<Mutex, kStripes> stripes_;
  std::atomic<int64_t> keys_{0};
  std::atomic<int64_t> keys_with_expiry_{0};
  std::atomic<uint64_t> expired_keys_{0};

  Mutex expire_mu_;                                    // serializes ExpireCycle
  uint64_t expire_cursor_ GUARDED_BY(expire_mu_) = 0;  // where the next cycle starts

  Mutex rng_mu_;
  std::mt19937_64 rng_ GUARDED_BY(rng_mu_);

  Mutex sync_mu_;
  CondVar sync_cv_;
  bool stopping_ GUARDED_BY(sync_mu_) = false;
  std::thread wal_syncer_;
};

RocksDbEngine::RocksDbEngine(RocksDbEngineOptions options, rocksdb::DB* db,
                             std::vector<rocksdb::ColumnFamilyHandle*> handles)
    : options_(std::move(options)),
      db_(db),
      handles_(std::move(handles)),
      data_(handles_[0]),
      meta_(handles_[1]),
      rng_(std::random_device{}()) {
  write_options_.sync = options_.fsync == FsyncPolicy::kAlways;
}

StatusOr<std::unique_ptr<Engine>> RocksDbEngine::Open(const RocksDbEngineOptions& options) {
  if (options.path.empty()) return InvalidArgument("rocksdb engine: empty path");
  rocksdb::Options db_options = MakeDbOptions(options);
  std::vector<rocksdb::ColumnFamilyDescriptor> families = {
      {rocksdb::kDefaultColumnFamilyName, rocksdb::ColumnFamilyOptions(db_options)},
      {kMetaFamily, rocksdb::ColumnFamilyOptions()}};
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* db = nullptr;
  rocksdb::Status s = rocksdb::DB::Open(db_options, options.path, families, &handles, &db);
  if (!s.ok()) return FromRocks(s, "open " + options.path);
  std::unique_ptr<RocksDbEngine> engine(new RocksDbEngine(options, db, std::move(handles)));
  if (Status st = engine->CheckHashKind(); !st.ok()) return st;
  if (Status st = engine->Recount(); !st.ok()) return st;
  engine->StartWalSyncer();
  return std::unique_ptr<Engine>(std::move(engine));
}

RocksDbEngine::~RocksDbEngine() {
  {
    MutexLock lock(sync_mu_);
    stopping_ = true;
  }
  sync_cv_.NotifyAll();
  if (wal_syncer_.joinable()) wal_syncer_.join();
  if (options_.fsync != FsyncPolicy::kNo) db_->SyncWAL().PermitUncheckedError();
  for (rocksdb::ColumnFamilyHandle* handle : handles_) {
    db_->DestroyColumnFamilyHandle(handle).PermitUncheckedError();
  }
  db_->Close().PermitUncheckedError();
}

// A new directory records its hash kind; an existing one must match it.
Status RocksDbEngine::CheckHashKind() {
  const std::string want(ring::HashKindName(options_.hash));
  std::string have;
  rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), meta_, kMetaHashKind, &have);
  if (s.ok()) {
    if (have == want) return OkStatus();
    return FailedPrecondition("rocksdb engine: " + options_.path + " was created with hash kind " +
                              have + ", cannot open it with hash kind " + want);
  }
  if (!s.IsNotFound()) return FromRocks(s, "read metadata");
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(BulkReadOptions(), data_));
  it->SeekToFirst();
  if (it->Valid()) {
    return DataLoss("rocksdb engine: " + options_.path + " holds data but no hash kind metadata");
  }
  rocksdb::WriteOptions sync_write;
  sync_write.sync = true;
  return FromRocks(db_->Put(sync_write, meta_, kMetaHashKind, want), "write metadata");
}

Status RocksDbEngine::Recount() {
  int64_t keys = 0;
  int64_t with_expiry = 0;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(BulkReadOptions(), data_));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    ++keys;
    std::optional<Header> header = DecodeHeader(it->value());
    if (header && header->expire_at_ms != 0) ++with_expiry;
  }
  keys_ = keys;
  keys_with_expiry_ = with_expiry;
  return FromRocks(it->status(), "recount");
}

void RocksDbEngine::StartWalSyncer() {
  if (options_.fsync != FsyncPolicy::kEverySec) return;
  wal_syncer_ = std::thread([this] { WalSyncLoop(); });
}

void RocksDbEngine::WalSyncLoop() {
  MutexLock lock(sync_mu_);
  while (!sync_cv_.WaitFor(sync_mu_, std::chrono::seconds(1),
                           [&]() REQUIRES(sync_mu_) { return stopping_; })) {
    lock.unlock();
    // A failed sync is retried next second; the WAL data is already in the OS.
    db_->SyncWAL().PermitUncheckedError();
    lock.lock();
  }
}

std::optional<Entry> RocksDbEngine::Get(std::string_view key, int64_t now_ms) {
  const uint64_t position = ring::HashKey(options_.hash, key);
  rocksdb::PinnableSlice stored;
  rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), data_, EncodeKey(position, key), &stored);
  if (!s.ok()) return std::nullopt;  // absent; I/O errors read as a miss (no Status here)
  std::optional<Entry> entry = DecodeEntry(stored);
  if (entry && IsExpired(entry->expire_at_ms, now_ms)) {
    ReapIfExpired(position, key, now_ms);
    return std::nullopt;
  }
  return entry;
}

Status RocksDbEngine::Mutate(std::string_view key, int64_t now_ms,
                             FunctionRef<Mutation(const Entry* current)> fn) {
  const uint64_t position = ring::HashKey(options_.hash, key);
  const std::string stored_key = EncodeKey(position, key);
  MutexLock lock(StripeFor(position));
  rocksdb::PinnableSlice stored;
  rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), data_, stored_key, &stored);
  if (!s.ok() && !s.IsNotFound()) return FromRocks(s, "get");
  std::optional<Entry> old;
  if (s.ok()) {
    old = DecodeEntry(stored);
    if (!old) return DataLoss("rocksdb engine: bad value header for key " + std::string(key));
  }
  const bool expired = old && IsExpired(old->expire_at_ms, now_ms);
  const Mutation m = fn(old && !expired ? &*old : nullptr);
  return Apply(stored_key, old ? &*old : nullptr, expired, m);
}

Status RocksDbEngine::Apply(const std::string& stored_key, const Entry* old, bool old_expired,
                            const Mutation& m) {
  const bool put = m.kind == Mutation::Kind::kPut;
  const bool remove = old != nullptr && !put && (m.kind == Mutation::Kind::kDelete || old_expired);
  rocksdb::Status s;
  if (put) {
    s = db_->Put(write_options_, data_, stored_key, EncodeValue(m.entry));
  } else if (remove) {
    s = db_->Delete(write_options_, data_, stored_key);
  } else {
    return OkStatus();
  }
  if (!s.ok()) return FromRocks(s, "write");
  const bool had_expiry = old != nullptr && old->expire_at_ms != 0;
  const bool has_expiry = put && m.entry.expire_at_ms != 0;
  keys_ += (put ? 1 : 0) - (old != nullptr ? 1 : 0);
  keys_with_expiry_ += (has_expiry ? 1 : 0) - (had_expiry ? 1 : 0);
  if (old_expired) ++expired_keys_;
  return OkStatus();
}

bool RocksDbEngine::ReapIfExpired(uint64_t position, std::string_view key, int64_t now_ms) {
  const std::string stored_key = EncodeKey(position, key);
  MutexLock lock(StripeFor(position));
  rocksdb::PinnableSlice stored;
  if (!db_->Get(rocksdb::ReadOptions(), data_, stored_key, &stored).ok()) return false;
  std::optional<Header> header = DecodeHeader(stored);
  if (!header || !IsExpired(header->expire_at_ms, now_ms)) return false;
  if (!db_->Delete(write_options_, data_, stored_key).ok()) return false;
  --keys_;
  --keys_with_expiry_;
  ++expired_keys_;
  return true;
}

void RocksDbEngine::LockAllStripes() {
  for (Mutex& stripe : stripes_) stripe.lock();
}

void RocksDbEngine::UnlockAllStripes() {
  for (Mutex& stripe : stripes_) stripe.unlock();
}

// Holds every stripe so no read-modify-write interleaves and the counters
// stay exact. Keys at the last position are past the range end and deleted
// one by one.
Status RocksDbEngine::Clear() {
  LockAllStripes();
  const std::string last = EncodePosition(kMaxPosition);
  rocksdb::Status s = db_->DeleteRange(write_options_, data_, rocksdb::Slice(), last);
  if (s.ok()) {
    rocksdb::WriteBatch batch;
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(BulkReadOptions(), data_));
    for (it->Seek(last); it->Valid(); it->Next()) batch.Delete(data_, it->key());
    s = it->status();
    if (s.ok()) s = db_->Write(write_options_, &batch);
  }
  if (s.ok()) {
    keys_ = 0;
    keys_with_expiry_ = 0;
  }
  UnlockAllStripes();
  if (!s.ok()) return FromRocks(s, "clear");
  rocksdb::CompactRangeOptions compact;
  return FromRocks(db_->CompactRange(compact, data_, nullptr, nullptr), "compact after clear");
}

// The cursor is the ring position to resume at. A page always ends on a
// position boundary (all keys at the last visited position are included), so
// the next cursor is greater than every position visited and thus never 0.
ScanPage RocksDbEngine::Scan(uint64_t cursor, size_t count, int64_t now_ms) {
  ScanPage page;
  count = std::max<size_t>(count, 1);
  const size_t max_visits = count * 10 + 64;  // bounds work across runs of expired keys
  size_t visits = 0;
  std::optional<uint64_t> last_position;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(BulkReadOptions(), data_));
  for (it->Seek(EncodePosition(cursor)); it->Valid(); it->Next()) {
    const uint64_t position = DecodePosition(it->key());
    if (last_position && position != *last_position &&
        (page.keys.size() >= count || visits >= max_visits)) {
      page.next_cursor = position;
      return page;
    }
    last_position = position;
    ++visits;
    std::optional<Header> header = DecodeHeader(it->value());
    if (header && !IsExpired(header->expire_at_ms, now_ms)) {
      page.keys.emplace_back(DecodeUserKey(it->key()));
    }
  }
  return page;
}

uint64_t RocksDbEngine::RandomPosition() {
  MutexLock lock(rng_mu_);
  return rng_();
}

// The first live key at or after `position`, wrapping once around the ring,
// looking at no more than max_visits entries.
std::optional<std::string> RocksDbEngine::FirstLiveFrom(uint64_t position, int64_t now_ms,
                                                        size_t max_visits) {
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(BulkReadOptions(), data_));
  it->Seek(EncodePosition(position));
  bool wrapped = false;
  for (size_t visits = 0; visits < max_visits; ++visits) {
    if (!it->Valid()) {
      if (wrapped || position == 0) return std::nullopt;
      wrapped = true;
      it->SeekToFirst();
      if (!it->Valid()) return std::nullopt;
    }
    if (wrapped && DecodePosition(it->key()) >= position) return std::nullopt;
    std::optional<Header> header = DecodeHeader(it->value());
    if (header && !IsExpired(header->expire_at_ms, now_ms)) {
      return std::string(DecodeUserKey(it->key()));
    }
    it->Next();
  }
  return std::nullopt;
}

std::optional<std::string> RocksDbEngine::RandomKey(int64_t now_ms) {
  constexpr int kAttempts = 4;
  constexpr size_t kVisitsPerAttempt = 64;
  for (int attempt = 0; attempt < kAttempts; ++attempt) {
    std::optional<std::string> key = FirstLiveFrom(RandomPosition(), now_ms, kVisitsPerAttempt);
    if (key) return key;
    if (keys_.load() <= 0) return std::nullopt;
  }
  return std::nullopt;
}

// Walks the ring from where the previous cycle stopped. Only entries with an
// expiry count toward `budget`; total visits are bounded too, so a ring of
// mostly persistent keys costs at most ~16 visits per budget unit.
size_t RocksDbEngine::ExpireCycle(int64_t now_ms, size_t budget) {
  if (budget == 0) return 0;
  MutexLock cycle_lock(expire_mu_);
  const uint64_t start = expire_cursor_;
  const size_t max_visits = budget * 16 + 64;
  size_t checked = 0;
  size_t deleted = 0;
  bool wrapped = false;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(BulkReadOptions(), data_));
  it->Seek(EncodePosition(start));
  for (size_t visits = 0; visits < max_visits && checked < budget; ++visits, it->Next()) {
    if (!it->Valid()) {
      if (wrapped || start == 0) break;
      wrapped = true;
      it->SeekToFirst();
      if (!it->Valid()) break;
    }
    const uint64_t position = DecodePosition(it->key());
    if (wrapped && position >= start) break;  // a full lap
    std::optional<Header> header = DecodeHeader(it->value());
    if (!header || header->expire_at_ms == 0) continue;
    ++checked;
    if (IsExpired(header->expire_at_ms, now_ms) &&
        ReapIfExpired(position, DecodeUserKey(it->key()), now_ms)) {
      ++deleted;
    }
  }
  expire_cursor_ = it->Valid() ? DecodePosition(it->key()) : 0;
  return deleted;
}

Status RocksDbEngine::VisitRange(uint64_t first, uint64_t last, int64_t now_ms, Visitor fn,
                                 bool* stopped) {
  rocksdb::ReadOptions read = BulkReadOptions();
  const std::string upper = last == kMaxPosition ? std::string() : EncodePosition(last + 1);
  rocksdb::Slice upper_slice(upper);
  if (last != kMaxPosition) read.iterate_upper_bound = &upper_slice;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(read, data_));
  for (it->Seek(EncodePosition(first)); it->Valid(); it->Next()) {
    std::optional<Entry> entry = DecodeEntry(it->value());
    if (!entry) {
      return DataLoss("rocksdb engine: bad value header for key " +
                      std::string(DecodeUserKey(it->key())));
    }
    if (IsExpired(entry->expire_at_ms, now_ms)) continue;
    if (!fn(DecodeUserKey(it->key()), *entry)) {
      *stopped = true;
      return OkStatus();
    }
  }
  return FromRocks(it->status(), "iterate");
}

// Arc {lo, hi} holds lo < x <= hi, wrapping when lo >= hi (lo == hi is the
// whole ring), so a wrapping arc is (lo, max] followed by [0, hi].
Status RocksDbEngine::VisitArc(const ring::Arc& arc, int64_t now_ms, Visitor fn, bool* stopped) {
  if (arc.lo < arc.hi) return VisitRange(arc.lo + 1, arc.hi, now_ms, fn, stopped);
  if (arc.lo != kMaxPosition) {
    Status s = VisitRange(arc.lo + 1, kMaxPosition, now_ms, fn, stopped);
    if (!s.ok() || *stopped) return s;
  }
  return VisitRange(0, arc.hi, now_ms, fn, stopped);
}

Status RocksDbEngine::ForEachInArcs(std::span<const ring::Arc> arcs, ring::HashKind hash,
                                    int64_t now_ms, Visitor fn) {
  bool stopped = false;
  if (hash != options_.hash) {
    // Positions under another hash are not our layout order: filter a full scan.
    auto filtered = [&](std::string_view key, const Entry& entry) {
      const uint64_t position = ring::HashKey(hash, key);
      for (const ring::Arc& arc : arcs) {
        if (arc.Contains(position)) return fn(key, entry);
      }
      return true;
    };
    return VisitRange(0, kMaxPosition, now_ms, filtered, &stopped);
  }
  for (const ring::Arc& arc : arcs) {
    Status s = VisitArc(arc, now_ms, fn, &stopped);
    if (!s.ok() || stopped) return s;
  }
  return OkStatus();
}

EngineStats RocksDbEngine::Stats() const {
  EngineStats stats;
  stats.keys = static_cast<uint64_t>(std::max<int64_t>(keys_.load(), 0));
  stats.keys_with_expiry = static_cast<uint64_t>(std::max<int64_t>(keys_with_expiry_.load(), 0));
  stats.expired_keys = expired_keys_.load();
  uint64_t value = 0;
  if (db_->GetIntProperty(data_, rocksdb::DB::Properties::kLiveSstFilesSize, &value)) {
    stats.used_bytes += value;
  }
  if (db_->GetIntProperty(data_, rocksdb::DB::Properties::kCurSizeAllMemTables, &value)) {
    stats.used_bytes += value;
  }
  return stats;
}

}  // namespace

StatusOr<std::unique_ptr<Engine>> OpenRocksDbEngine(const RocksDbEngineOptions& options) {
  return RocksDbEngine::Open(options);
}

}  // namespace ringkv::store
