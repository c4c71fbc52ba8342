// RocksDB engine (see internal/rocksdb_engine_impl.h): the walks over the
// ring and the tombstone index.
#include <algorithm>

#include "store/internal/rocksdb_engine_impl.h"

namespace ringkv::store::internal {

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
    const uint64_t position = DecodePosition(View(it->key()));
    if (last_position && position != *last_position &&
        (page.keys.size() >= count || visits >= max_visits)) {
      page.next_cursor = position;
      return page;
    }
    last_position = position;
    ++visits;
    std::optional<Header> header = DecodeHeader(View(it->value()));
    if (header && IsLive(*header, now_ms)) {
      page.keys.emplace_back(DecodeUserKey(View(it->key())));
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
    if (wrapped && DecodePosition(View(it->key())) >= position) return std::nullopt;
    std::optional<Header> header = DecodeHeader(View(it->value()));
    if (header && IsLive(*header, now_ms)) {
      return std::string(DecodeUserKey(View(it->key())));
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
    const uint64_t position = DecodePosition(View(it->key()));
    if (wrapped && position >= start) break;  // a full lap
    std::optional<Header> header = DecodeHeader(View(it->value()));
    if (!header || header->expire_at_ms == 0) continue;  // tombstones have none
    ++checked;
    if (IsExpired(header->expire_at_ms, now_ms) &&
        ReapIfExpired(position, DecodeUserKey(View(it->key())), now_ms)) {
      ++deleted;
    }
  }
  expire_cursor_ = it->Valid() ? DecodePosition(View(it->key())) : 0;
  return deleted;
}

// The index is in version order, so the walk stops at the first tombstone
// too young to purge; what it purged is gone, so the next call starts where
// this one stopped.
size_t RocksDbEngine::PurgeTombstones(int64_t now_ms, int64_t ttl_ms, size_t budget) {
  MutexLock cycle_lock(purge_mu_);
  size_t purged = 0;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(BulkReadOptions(), tombstone_index_));
  it->SeekToFirst();
  for (size_t examined = 0; examined < budget && it->Valid(); ++examined, it->Next()) {
    auto record = DecodeTombstoneIndexKey(View(it->key()));
    if (!record) continue;  // never written; left for Clear
    const auto [version, data_key] = *record;
    if (!TombstonePurgeable(version, now_ms, ttl_ms)) break;
    if (PurgeIfTombstone(data_key, version)) ++purged;
  }
  return purged;
}

bool RocksDbEngine::PurgeIfTombstone(std::string_view data_key, uint64_t version) {
  MutexLock lock(StripeFor(DecodePosition(data_key)));
  rocksdb::PinnableSlice stored;
  rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), data_, data_key, &stored);
  if (!s.ok() && !s.IsNotFound()) return false;
  std::optional<Header> header;
  if (s.ok()) header = DecodeHeader(View(stored));
  const bool purge = header && header->tombstone && header->version == version;
  rocksdb::WriteBatch batch;
  batch.Delete(tombstone_index_, EncodeTombstoneIndexKey(version, data_key));
  if (purge) batch.Delete(data_, data_key);
  if (!gate_->Check().ok()) return false;
  if (!gate_->Done(db_->Write(write_options_, &batch), "purge tombstone").ok()) return false;
  if (!purge) return false;
  --tombstones_;
  ++purged_tombstones_;
  return true;
}

Status RocksDbEngine::VisitRange(uint64_t first, uint64_t last, int64_t now_ms, Include include,
                                 Visitor fn, bool* stopped) {
  rocksdb::ReadOptions read = BulkReadOptions();
  const std::string upper = last == kMaxPosition ? std::string() : EncodePosition(last + 1);
  rocksdb::Slice upper_slice(upper);
  if (last != kMaxPosition) read.iterate_upper_bound = &upper_slice;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(read, data_));
  for (it->Seek(EncodePosition(first)); it->Valid(); it->Next()) {
    const std::string_view key = DecodeUserKey(View(it->key()));
    std::optional<VersionedEntry> v = DecodeValue(View(it->value()));
    if (!v) return DataLoss("rocksdb engine: bad value header for key " + std::string(key));
    if (v->tombstone ? include == Include::kLive : IsExpired(v->entry.expire_at_ms, now_ms)) {
      continue;
    }
    if (!fn(key, *v)) {
      *stopped = true;
      return OkStatus();
    }
  }
  return FromRocks(it->status(), "iterate");
}

// Arc {lo, hi} holds lo < x <= hi, wrapping when lo >= hi (lo == hi is the
// whole ring), so a wrapping arc is (lo, max] followed by [0, hi].
Status RocksDbEngine::VisitArc(const ring::Arc& arc, int64_t now_ms, Include include, Visitor fn,
                               bool* stopped) {
  if (arc.lo < arc.hi) return VisitRange(arc.lo + 1, arc.hi, now_ms, include, fn, stopped);
  if (arc.lo != kMaxPosition) {
    Status s = VisitRange(arc.lo + 1, kMaxPosition, now_ms, include, fn, stopped);
    if (!s.ok() || *stopped) return s;
  }
  return VisitRange(0, arc.hi, now_ms, include, fn, stopped);
}

Status RocksDbEngine::ForEachInArcs(
    std::span<const ring::Arc> arcs, ring::HashKind hash, int64_t now_ms,
    FunctionRef<bool(std::string_view key, const Entry& entry)> fn) {
  return WalkArcs(arcs, hash, now_ms, Include::kLive,
                  [&](std::string_view key, const VersionedEntry& v) { return fn(key, v.entry); });
}

Status RocksDbEngine::ForEachVersionedInArcs(std::span<const ring::Arc> arcs, ring::HashKind hash,
                                             int64_t now_ms, Visitor fn) {
  return WalkArcs(arcs, hash, now_ms, Include::kLiveAndTombstones, fn);
}

Status RocksDbEngine::WalkArcs(std::span<const ring::Arc> arcs, ring::HashKind hash, int64_t now_ms,
                               Include include, Visitor fn) {
  bool stopped = false;
  if (hash != options_.hash) {
    // Positions under another hash are not our layout order: filter a full scan.
    auto filtered = [&](std::string_view key, const VersionedEntry& entry) {
      const uint64_t position = ring::HashKey(hash, key);
      for (const ring::Arc& arc : arcs) {
        if (arc.Contains(position)) return fn(key, entry);
      }
      return true;
    };
    return VisitRange(0, kMaxPosition, now_ms, include, filtered, &stopped);
  }
  for (const ring::Arc& arc : arcs) {
    Status s = VisitArc(arc, now_ms, include, fn, &stopped);
    if (!s.ok() || stopped) return s;
  }
  return OkStatus();
}

}  // namespace ringkv::store::internal
