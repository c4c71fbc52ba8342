// RocksDB engine (see rocksdb_engine.h and internal/rocksdb_engine_impl.h):
// open, point reads and writes, Clear and Stats.
#include "store/rocksdb_engine.h"

#include <rocksdb/cache.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/table.h>
#include <rocksdb/utilities/table_properties_collectors.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <cstdarg>
#include <cstdio>
#include <memory>
#include <string_view>
#include <utility>

#include "store/internal/rocksdb_engine_impl.h"

namespace ringkv::store {
namespace internal {
namespace {

constexpr char kMetaFamily[] = "meta";
constexpr char kMetaHashKind[] = "hash_kind";

// RocksDB's own log, into the node's log rather than a LOG file in the data
// directory: on a full disk a failed LOG write poisons RocksDB's logger, and
// its next line (the one reporting the error) trips an assertion in RocksDB
// 7.8 and aborts the process. Its informational lines are debug lines here.
class LogToSpdlog final : public rocksdb::Logger {
 public:
  LogToSpdlog() : rocksdb::Logger(rocksdb::InfoLogLevel::INFO_LEVEL) {}

  using rocksdb::Logger::Logv;
  void Logv(const char* format, va_list ap) override {
    Logv(rocksdb::InfoLogLevel::INFO_LEVEL, format, ap);
  }
  void Logv(const rocksdb::InfoLogLevel level, const char* format, va_list ap) override {
    const spdlog::level::level_enum to = Level(level);
    if (!spdlog::should_log(to)) return;
    char line[1024];
    const int n = vsnprintf(line, sizeof line, format, ap);
    if (n < 0) return;
    spdlog::log(to, "rocksdb: {}", std::string_view(line, std::min<size_t>(n, sizeof line - 1)));
  }

 private:
  static spdlog::level::level_enum Level(rocksdb::InfoLogLevel level) {
    switch (level) {
      case rocksdb::InfoLogLevel::ERROR_LEVEL:
      case rocksdb::InfoLogLevel::FATAL_LEVEL:
        return spdlog::level::err;
      case rocksdb::InfoLogLevel::WARN_LEVEL:
        return spdlog::level::warn;
      default:  // DEBUG, INFO, and HEADER (the options dumped at open)
        return spdlog::level::debug;
    }
  }
};

rocksdb::Options MakeDbOptions(const RocksDbEngineOptions& options) {
  rocksdb::Options db;
  db.info_log = std::make_shared<LogToSpdlog>();
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

// The tombstone index is read oldest first and deleted from the front, a
// queue: files that gather deletions are compacted early so a purge does not
// wade through them.
rocksdb::ColumnFamilyOptions TombstoneIndexOptions() {
  rocksdb::ColumnFamilyOptions options;
  options.table_properties_collector_factories.emplace_back(
      rocksdb::NewCompactOnDeletionCollectorFactory(/*sliding_window_size=*/1024,
                                                    /*deletion_trigger=*/512));
  return options;
}

}  // namespace

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

Status WriteGate::Check() const {
  if (!stopped()) return OkStatus();
  MutexLock lock(mu_);
  return Unavailable("rocksdb writes stopped after a failed write (" + reason_ +
                     "); reads go on; writes resume once the disk has room for a memtable, or "
                     "after a restart");
}

void WriteGate::Resume() {
  MutexLock lock(mu_);
  if (!stopped()) return;
  spdlog::warn("rocksdb engine: recovered from '{}'; writes go on", reason_);
  reason_.clear();
  stopped_.store(false, std::memory_order_release);
}

Status WriteGate::Done(const rocksdb::Status& s, std::string_view what) {
  if (s.ok() || !s.IsIOError()) return FromRocks(s, what);
  {
    MutexLock lock(mu_);
    if (!stopped()) {
      reason_ = std::string(what) + ": " + s.ToString();
      stopped_.store(true, std::memory_order_release);
      spdlog::error(
          "rocksdb engine: {} failed: {}; no more writes until RocksDB recovers (once the disk "
          "has room for a memtable) or the node restarts; reads go on",
          what, s.ToString());
    }
  }
  return Check();
}

RocksDbEngine::RocksDbEngine(RocksDbEngineOptions options, rocksdb::DB* db,
                             std::vector<rocksdb::ColumnFamilyHandle*> handles,
                             std::shared_ptr<WriteGate> gate)
    : options_(std::move(options)),
      db_(db),
      handles_(std::move(handles)),
      data_(handles_[0]),
      meta_(handles_[1]),
      tombstone_index_(handles_[2]),
      hint_family_(handles_[3]),
      gate_(std::move(gate)),
      rng_(std::random_device{}()),
      hint_log_(db, hint_family_, write_options_, *gate_),
      hints_(options_.hints, &hint_log_) {
  write_options_.sync = options_.fsync == FsyncPolicy::kAlways;
}

StatusOr<std::unique_ptr<Engine>> RocksDbEngine::Open(const RocksDbEngineOptions& options) {
  if (options.path.empty()) return InvalidArgument("rocksdb engine: empty path");
  rocksdb::Options db_options = MakeDbOptions(options);
  auto gate = std::make_shared<WriteGate>();
  db_options.listeners.push_back(std::make_shared<GateListener>(gate));
  // A directory from before tombstones and hints gains their families here.
  std::vector<rocksdb::ColumnFamilyDescriptor> families = {
      {rocksdb::kDefaultColumnFamilyName, rocksdb::ColumnFamilyOptions(db_options)},
      {kMetaFamily, rocksdb::ColumnFamilyOptions()},
      {kTombstoneFamily, TombstoneIndexOptions()},
      {kHintFamily, rocksdb::ColumnFamilyOptions()}};
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* db = nullptr;
  rocksdb::Status s = rocksdb::DB::Open(db_options, options.path, families, &handles, &db);
  if (!s.ok()) return FromRocks(s, "open " + options.path);
  std::unique_ptr<RocksDbEngine> engine(
      new RocksDbEngine(options, db, std::move(handles), std::move(gate)));
  if (Status st = engine->CheckHashKind(); !st.ok()) return st;
  if (Status st = engine->Recount(); !st.ok()) return st;
  if (Status st = engine->LoadHints(); !st.ok()) return st;
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
  if (options_.fsync != FsyncPolicy::kNo && !gate_->stopped())
    db_->SyncWAL().PermitUncheckedError();
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
  return gate_->Done(db_->Put(sync_write, meta_, kMetaHashKind, want), "write metadata");
}

Status RocksDbEngine::Recount() {
  int64_t keys = 0;
  int64_t with_expiry = 0;
  int64_t tombstones = 0;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(BulkReadOptions(), data_));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    std::optional<Header> header = DecodeHeader(View(it->value()));
    if (header && header->tombstone) {
      ++tombstones;
      continue;
    }
    ++keys;
    if (header && header->expire_at_ms != 0) ++with_expiry;
  }
  keys_ = keys;
  keys_with_expiry_ = with_expiry;
  tombstones_ = tombstones;
  return FromRocks(it->status(), "recount");
}

Status RocksDbEngine::LoadHints() {
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(BulkReadOptions(), hint_family_));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    std::optional<HintRecord> hint = DecodeHint(View(it->key()), View(it->value()));
    if (!hint) return DataLoss("rocksdb engine: bad hint record in " + options_.path);
    hints_.Restore(hint->target, hint->key, hint->created_ms);
  }
  return FromRocks(it->status(), "load hints");
}

void RocksDbEngine::StartWalSyncer() {
  if (options_.fsync != FsyncPolicy::kEverySec) return;
  wal_syncer_ = std::thread([this] { WalSyncLoop(); });
}

void RocksDbEngine::WalSyncLoop() {
  MutexLock lock(sync_mu_);
  while (!sync_cv_.WaitFor(sync_mu_, std::chrono::seconds(1),
                           [&]() REQUIRES(sync_mu_) { return stopping_; })) {
    if (gate_->stopped()) continue;  // a sync before RocksDB recovered would abort
    lock.unlock();
    // A failed sync is retried next second; the WAL data is already in the OS.
    db_->SyncWAL().PermitUncheckedError();
    lock.lock();
  }
}

std::optional<Entry> RocksDbEngine::Get(std::string_view key, int64_t now_ms) {
  std::optional<VersionedEntry> v = Peek(key, now_ms);
  if (!v || v->tombstone) return std::nullopt;
  return std::move(v->entry);
}

std::optional<VersionedEntry> RocksDbEngine::Peek(std::string_view key, int64_t now_ms) {
  const uint64_t position = ring::HashKey(options_.hash, key);
  rocksdb::PinnableSlice stored;
  rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), data_, EncodeKey(position, key), &stored);
  if (!s.ok()) return std::nullopt;  // absent; I/O errors read as a miss (no Status here)
  std::optional<VersionedEntry> v = DecodeValue(View(stored));
  if (v && !v->tombstone && IsExpired(v->entry.expire_at_ms, now_ms)) {
    ReapIfExpired(position, key, now_ms);
    return std::nullopt;
  }
  return v;
}

Status RocksDbEngine::Mutate(std::string_view key, int64_t now_ms,
                             FunctionRef<Mutation(const Entry* current)> fn) {
  return MutateVersioned(key, now_ms, [&](const VersionedEntry* current) {
    return fn(current != nullptr && !current->tombstone ? &current->entry : nullptr);
  });
}

Status RocksDbEngine::MutateVersioned(std::string_view key, int64_t now_ms,
                                      FunctionRef<Mutation(const VersionedEntry* current)> fn) {
  const uint64_t position = ring::HashKey(options_.hash, key);
  const std::string stored_key = EncodeKey(position, key);
  if (Status st = gate_->Check(); !st.ok()) return st;
  MutexLock lock(StripeFor(position));
  rocksdb::PinnableSlice stored;
  rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), data_, stored_key, &stored);
  if (!s.ok() && !s.IsNotFound()) return FromRocks(s, "get");
  std::optional<VersionedEntry> old;
  if (s.ok()) {
    old = DecodeValue(View(stored));
    if (!old) return DataLoss("rocksdb engine: bad value header for key " + std::string(key));
  }
  const bool expired = old && !old->tombstone && IsExpired(old->entry.expire_at_ms, now_ms);
  const Mutation m = fn(old && !expired ? &*old : nullptr);
  return Apply(stored_key, old ? &*old : nullptr, expired, m);
}

// One batch writes the key and its tombstone index record, so they never
// disagree: an index record exists exactly for each stored tombstone.
Status RocksDbEngine::Apply(const std::string& stored_key, const VersionedEntry* old,
                            bool old_expired, const Mutation& m) {
  rocksdb::WriteBatch batch;
  std::optional<VersionedEntry> after;
  switch (m.kind) {
    case Mutation::Kind::kKeep:
      if (!old_expired) return OkStatus();
      batch.Delete(data_, stored_key);  // reap
      break;
    case Mutation::Kind::kDelete:
      if (old == nullptr) return OkStatus();
      batch.Delete(data_, stored_key);
      break;
    case Mutation::Kind::kPut:
      batch.Put(data_, stored_key, EncodeValue(m.entry));
      after = VersionedEntry{m.entry, false};
      break;
    case Mutation::Kind::kTombstone:
      batch.Put(data_, stored_key, EncodeTombstone(m.entry.version));
      batch.Put(tombstone_index_, EncodeTombstoneIndexKey(m.entry.version, stored_key),
                rocksdb::Slice());
      after = VersionedEntry{Entry{{}, m.entry.version, 0}, true};
      break;
  }
  if (old != nullptr && old->tombstone &&
      !(after && after->tombstone && after->entry.version == old->entry.version)) {
    batch.Delete(tombstone_index_, EncodeTombstoneIndexKey(old->entry.version, stored_key));
  }
  if (Status st = gate_->Check(); !st.ok()) return st;
  if (Status st = gate_->Done(db_->Write(write_options_, &batch), "write"); !st.ok()) return st;
  Count(old, -1);
  Count(after ? &*after : nullptr, +1);
  if (old_expired) ++expired_keys_;
  return OkStatus();
}

void RocksDbEngine::Count(const VersionedEntry* v, int sign) {
  if (v == nullptr) return;
  if (v->tombstone) {
    tombstones_ += sign;
    return;
  }
  keys_ += sign;
  if (v->entry.expire_at_ms != 0) keys_with_expiry_ += sign;
}

bool RocksDbEngine::ReapIfExpired(uint64_t position, std::string_view key, int64_t now_ms) {
  const std::string stored_key = EncodeKey(position, key);
  MutexLock lock(StripeFor(position));
  rocksdb::PinnableSlice stored;
  if (!db_->Get(rocksdb::ReadOptions(), data_, stored_key, &stored).ok()) return false;
  std::optional<Header> header = DecodeHeader(View(stored));
  if (!header || header->tombstone || !IsExpired(header->expire_at_ms, now_ms)) return false;
  if (!gate_->Check().ok()) return false;
  if (!gate_->Done(db_->Delete(write_options_, data_, stored_key), "reap").ok()) return false;
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

// Every key of every family is below 8 bytes of 0xff, or starts with them:
// the range delete takes the former, a walk the latter.
rocksdb::Status RocksDbEngine::ClearFamily(rocksdb::ColumnFamilyHandle* family) {
  const std::string last = EncodePosition(kMaxPosition);
  rocksdb::Status s = db_->DeleteRange(write_options_, family, rocksdb::Slice(), last);
  if (!s.ok()) return s;
  rocksdb::WriteBatch batch;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(BulkReadOptions(), family));
  for (it->Seek(last); it->Valid(); it->Next()) batch.Delete(family, it->key());
  if (!it->status().ok()) return it->status();
  return db_->Write(write_options_, &batch);
}

// Holds every stripe so no read-modify-write interleaves and the counters
// stay exact.
Status RocksDbEngine::Clear() {
  if (Status st = gate_->Check(); !st.ok()) return st;
  LockAllStripes();
  rocksdb::Status s = ClearFamily(data_);
  if (s.ok()) s = ClearFamily(tombstone_index_);
  if (s.ok()) {
    keys_ = 0;
    keys_with_expiry_ = 0;
    tombstones_ = 0;
  }
  UnlockAllStripes();
  if (Status st = gate_->Done(s, "clear"); !st.ok()) return st;
  rocksdb::CompactRangeOptions compact;
  for (rocksdb::ColumnFamilyHandle* family : {data_, tombstone_index_}) {
    if (Status st = gate_->Done(db_->CompactRange(compact, family, nullptr, nullptr),
                                "compact after clear");
        !st.ok()) {
      return st;
    }
  }
  return OkStatus();
}

EngineStats RocksDbEngine::Stats() const {
  EngineStats stats;
  stats.keys = static_cast<uint64_t>(std::max<int64_t>(keys_.load(), 0));
  stats.keys_with_expiry = static_cast<uint64_t>(std::max<int64_t>(keys_with_expiry_.load(), 0));
  stats.tombstones = static_cast<uint64_t>(std::max<int64_t>(tombstones_.load(), 0));
  stats.expired_keys = expired_keys_.load();
  stats.purged_tombstones = purged_tombstones_.load();
  stats.writes_stopped = gate_->stopped();
  for (rocksdb::ColumnFamilyHandle* family : {data_, tombstone_index_, hint_family_}) {
    uint64_t value = 0;
    if (db_->GetIntProperty(family, rocksdb::DB::Properties::kLiveSstFilesSize, &value)) {
      stats.used_bytes += value;
    }
    if (db_->GetIntProperty(family, rocksdb::DB::Properties::kCurSizeAllMemTables, &value)) {
      stats.used_bytes += value;
    }
  }
  return stats;
}

}  // namespace internal

StatusOr<std::unique_ptr<Engine>> OpenRocksDbEngine(const RocksDbEngineOptions& options) {
  return internal::RocksDbEngine::Open(options);
}

}  // namespace ringkv::store
