// The memory engine: a thin concurrent shell over internal::Shard. Each
// operation hashes the key once (XXH3), takes the high bits as the shard and
// the next bits as the bucket (so shards and buckets are in ring order; see
// NodeTable), and runs the synchronous shard code under that
// shard's mutex. Only one shard lock is ever held at a time, so there is no
// lock order to get wrong.
#include "store/memory_engine.h"

#include <algorithm>
#include <array>
#include <atomic>
#include <bit>
#include <memory>
#include <vector>

#include "ring/arc_set.h"
#include "store/internal/hint_set.h"
#include "store/internal/node.h"
#include "store/internal/node_table.h"
#include "store/internal/shard.h"

namespace ringkv::store {
namespace {

using internal::Node;
using internal::Shard;

constexpr uint32_t kMaxShards = 1 << 16;
// ForEachInArcs examines about this many nodes per lock hold.
constexpr size_t kArcBatchNodes = 256;
// Scan visits at most count * kScanEmptyFactor buckets per call, as Redis does.
constexpr size_t kScanEmptyFactor = 10;
// Larger SCAN counts are clamped to this.
constexpr size_t kMaxScanCount = size_t{1} << 24;
// Scan releases a shard's lock after visiting this many buckets, so a large
// COUNT does not stall writers.
constexpr size_t kScanBucketsPerLock = 1024;

Status OomError() {
  return ResourceExhausted("OOM command not allowed when used memory > 'maxmemory'.");
}

class MemoryEngine final : public Engine {
 public:
  explicit MemoryEngine(const MemoryEngineOptions& options);

  std::optional<Entry> Get(std::string_view key, int64_t now_ms) override;
  std::optional<VersionedEntry> Peek(std::string_view key, int64_t now_ms) override;
  void Prefetch(std::span<const std::string_view> keys) override;
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

  // Entries copied under a shard lock, handed out after it is released.
  struct Batch {
    std::vector<std::pair<std::string, VersionedEntry>> slots;  // the first `size` are in use
    size_t size = 0;
  };
  // Which nodes a walk hands out.
  enum class Include : uint8_t { kLive, kLiveAndTombstones };

  size_t ShardIndex(uint64_t hash) const {
    return shard_bits_ == 0 ? 0 : static_cast<size_t>(hash >> (64 - shard_bits_));
  }
  bool OverLimit() const {
    return max_memory_ != 0 && used_.load(std::memory_order_relaxed) > max_memory_;
  }
  bool Fits(int64_t delta) const {
    return max_memory_ == 0 || delta <= 0 ||
           used_.load(std::memory_order_relaxed) + delta <= max_memory_;
  }
  enum class TableGrowth : uint8_t { kAllowed, kDeferred };
  StatusOr<TableGrowth> Admit(Shard& s, std::string_view key, const Node* cur, const Entry& e,
                              int64_t now_ms) REQUIRES(s.mu);
  TableGrowth AdmitTombstone(Shard& s, std::string_view key, const Node* cur, int64_t now_ms)
      REQUIRES(s.mu);
  // Applies `m` to the key whose node in `s` is `cur` (or nullptr).
  Status Apply(Shard& s, uint64_t hash, std::string_view key, Node* cur, const Mutation& m,
               int64_t now_ms) REQUIRES(s.mu);
  void EvictFromOtherShards(size_t written, int64_t now_ms);
  Status WalkArcs(std::span<const ring::Arc> arcs, ring::HashKind hash, int64_t now_ms,
                  Include include, Visitor fn);
  template <typename Wanted>
  bool WalkRange(uint64_t first, uint64_t last, int64_t now_ms, Include include,
                 const Wanted& wanted, Batch& batch, Visitor fn);
  template <typename Wanted>
  internal::NodeTable::Step CopyRange(Shard& s, uint64_t from, uint64_t last, int64_t now_ms,
                                      Include include, const Wanted& wanted, Batch* out);

  const int64_t max_memory_;
  const EvictionPolicy policy_;
  const uint32_t shard_bits_;
  // Declared before the shards, which account into it until destroyed.
  alignas(64) std::atomic<int64_t> used_{0};
  alignas(64) std::atomic<uint32_t> expire_round_robin_{0};
  std::atomic<uint32_t> purge_round_robin_{0};
  std::vector<std::unique_ptr<Shard>> shards_;
  internal::HintSet hints_;
};

MemoryEngine::MemoryEngine(const MemoryEngineOptions& options)
    : max_memory_(static_cast<int64_t>(std::min<uint64_t>(options.max_memory, INT64_MAX))),
      policy_(options.policy),
      shard_bits_(
          std::countr_zero(std::bit_ceil(std::clamp<uint32_t>(options.shards, 1, kMaxShards)))),
      hints_(options.hints, /*log=*/nullptr) {
  shards_.reserve(size_t{1} << shard_bits_);
  for (size_t i = 0; i < (size_t{1} << shard_bits_); ++i) {
    shards_.push_back(std::make_unique<Shard>(&used_, shard_bits_));
  }
  used_ += static_cast<int64_t>(internal::AllocatedSize(sizeof(Shard)) * shards_.size());
}

std::optional<Entry> MemoryEngine::Get(std::string_view key, int64_t now_ms) {
  uint64_t hash = internal::KeyHash(key);
  Shard& s = *shards_[ShardIndex(hash)];
  MutexLock lock(s.mu);
  Node* n = s.FindLive(hash, key, now_ms);
  if (n == nullptr) return std::nullopt;
  s.Touch(n);
  return internal::ToEntry(n);
}

std::optional<VersionedEntry> MemoryEngine::Peek(std::string_view key, int64_t now_ms) {
  uint64_t hash = internal::KeyHash(key);
  Shard& s = *shards_[ShardIndex(hash)];
  MutexLock lock(s.mu);
  const Node* n = s.FindStored(hash, key, now_ms);
  if (n == nullptr) return std::nullopt;
  return VersionedEntry{internal::ToEntry(n), internal::IsTombstone(n)};
}

// Two passes over the keys, each touching one level of the chained table
// (the bucket slot, then the first node of its chain) for all keys before
// the next level, so that the cache misses of a batch overlap instead of
// coming one after another. The locks are only for reading the table's
// arrays; what is prefetched may be stale by the time it is read.
void MemoryEngine::Prefetch(std::span<const std::string_view> keys) {
  constexpr size_t kMaxKeys = 64;
  if (keys.size() < 2) return;  // nothing to overlap
  std::array<uint64_t, kMaxKeys> hashes;
  const size_t n = std::min(keys.size(), kMaxKeys);
  for (size_t i = 0; i < n; ++i) {
    hashes[i] = internal::KeyHash(keys[i]);
    Shard& s = *shards_[ShardIndex(hashes[i])];
    MutexLock lock(s.mu);
    __builtin_prefetch(s.table().SlotOf(hashes[i]));
  }
  for (size_t i = 0; i < n; ++i) {
    Shard& s = *shards_[ShardIndex(hashes[i])];
    MutexLock lock(s.mu);
    if (const internal::Node* head = s.table().HeadOf(hashes[i])) __builtin_prefetch(head);
  }
}

Status MemoryEngine::Mutate(std::string_view key, int64_t now_ms,
                            FunctionRef<Mutation(const Entry* current)> fn) {
  return MutateVersioned(key, now_ms, [&](const VersionedEntry* current) {
    return fn(current != nullptr && !current->tombstone ? &current->entry : nullptr);
  });
}

Status MemoryEngine::MutateVersioned(std::string_view key, int64_t now_ms,
                                     FunctionRef<Mutation(const VersionedEntry* current)> fn) {
  if (key.size() > internal::kMaxFieldLen) return InvalidArgument("key too long");
  uint64_t hash = internal::KeyHash(key);
  size_t index = ShardIndex(hash);
  Shard& s = *shards_[index];
  {
    MutexLock lock(s.mu);
    Node* cur = s.FindStored(hash, key, now_ms);
    std::optional<VersionedEntry> current;
    if (cur != nullptr) current = {internal::ToEntry(cur), internal::IsTombstone(cur)};
    const Mutation m = fn(current ? &*current : nullptr);
    if (Status st = Apply(s, hash, key, cur, m, now_ms); !st.ok()) return st;
    if (m.kind == Mutation::Kind::kKeep || m.kind == Mutation::Kind::kDelete) return OkStatus();
  }
  // The written shard had too little to evict; the rest comes from others,
  // after releasing its lock so that only one shard lock is ever held. (A
  // tombstone under noeviction may pass the limit: nothing is evicted.)
  if (policy_ == EvictionPolicy::kAllKeysLru && OverLimit()) EvictFromOtherShards(index, now_ms);
  return OkStatus();
}

Status MemoryEngine::Apply(Shard& s, uint64_t hash, std::string_view key, Node* cur,
                           const Mutation& m, int64_t now_ms) {
  switch (m.kind) {
    case Mutation::Kind::kKeep:
      if (cur != nullptr && !internal::IsTombstone(cur)) s.Touch(cur);
      return OkStatus();
    case Mutation::Kind::kDelete:
      if (cur != nullptr) s.Remove(cur);
      return OkStatus();
    case Mutation::Kind::kTombstone: {
      const TableGrowth growth = AdmitTombstone(s, key, cur, now_ms);
      s.PutTombstone(hash, key, cur, m.entry.version, growth == TableGrowth::kAllowed);
      return OkStatus();
    }
    case Mutation::Kind::kPut:
      break;
  }
  if (m.entry.value.size() > internal::kMaxFieldLen) return InvalidArgument("value too long");
  StatusOr<TableGrowth> growth = Admit(s, key, cur, m.entry, now_ms);
  if (!growth.ok()) return growth.status();
  s.Put(hash, key, cur, m.entry, *growth == TableGrowth::kAllowed);
  return OkStatus();
}

// Decides whether a put of `e` may proceed, evicting from `s` (never `cur`)
// under kAllKeysLru. With the put's own shard exhausted the put proceeds and
// the caller evicts from other shards. Under kNoEviction a put whose node
// fits but whose table doubling does not proceeds without the doubling.
StatusOr<MemoryEngine::TableGrowth> MemoryEngine::Admit(Shard& s, std::string_view key,
                                                        const Node* cur, const Entry& e,
                                                        int64_t now_ms) {
  auto delta = [&]() REQUIRES(s.mu) { return s.PutDelta(cur, key.size(), e, /*grow=*/true); };
  if (Fits(delta())) return TableGrowth::kAllowed;
  if (policy_ == EvictionPolicy::kNoEviction) {
    if (s.CanDeferGrowth() && Fits(s.PutDelta(cur, key.size(), e, /*grow=*/false))) {
      return TableGrowth::kDeferred;
    }
    return OomError();
  }
  bool has_expiry = e.expire_at_ms != 0;
  auto own = internal::AllocatedSize(internal::NodeSize(key.size(), e.value.size(), has_expiry));
  if (static_cast<int64_t>(own) > max_memory_) return OomError();  // could never fit
  while (!Fits(delta())) {
    Node* victim = s.PickVictim(cur, now_ms);
    if (victim == nullptr) break;
    s.Evict(victim, now_ms);
  }
  return TableGrowth::kAllowed;
}

// A tombstone is never refused: a delete must not fail for memory (Redis
// accepts DEL under maxmemory too). Under kAllKeysLru it evicts live entries
// to make room, like a put; under kNoEviction it is stored over the limit,
// without a due table doubling if that is what does not fit.
MemoryEngine::TableGrowth MemoryEngine::AdmitTombstone(Shard& s, std::string_view key,
                                                       const Node* cur, int64_t now_ms) {
  auto delta = [&]() REQUIRES(s.mu) {
    return s.PutDelta(cur, key.size(), Entry{}, /*grow=*/true, /*tombstone=*/true);
  };
  if (Fits(delta())) return TableGrowth::kAllowed;
  if (policy_ == EvictionPolicy::kNoEviction) {
    return s.CanDeferGrowth() ? TableGrowth::kDeferred : TableGrowth::kAllowed;
  }
  while (!Fits(delta())) {
    Node* victim = s.PickVictim(cur, now_ms);
    if (victim == nullptr) break;
    s.Evict(victim, now_ms);
  }
  return TableGrowth::kAllowed;
}

void MemoryEngine::EvictFromOtherShards(size_t written, int64_t now_ms) {
  for (size_t i = 1; i < shards_.size() && OverLimit(); ++i) {
    Shard& s = *shards_[(written + i) & (shards_.size() - 1)];
    MutexLock lock(s.mu);
    while (OverLimit()) {
      Node* victim = s.PickVictim(nullptr, now_ms);
      if (victim == nullptr) break;
      s.Evict(victim, now_ms);
    }
  }
}

Status MemoryEngine::Clear() {
  for (auto& s : shards_) {
    MutexLock lock(s->mu);
    s->Clear();
  }
  return OkStatus();
}

// The cursor is a ring position (a key hash): shards and their buckets are
// both in ring order, so the scan walks the ring once, and a cursor keeps its
// meaning when a table resizes between calls. A shard-local cursor is a
// multiple of its bucket width, 2^(64 - log2(buckets)), which is far wider
// than 2^shard_bits, so dropping its low shard_bits bits loses nothing.
ScanPage MemoryEngine::Scan(uint64_t cursor, size_t count, int64_t now_ms) {
  count = std::clamp<size_t>(count, 1, kMaxScanCount);
  size_t index = ShardIndex(cursor);
  uint64_t local = cursor << shard_bits_;
  size_t buckets_left = count * kScanEmptyFactor;
  ScanPage page;
  for (;;) {
    Shard& s = *shards_[index];
    internal::NodeTable::Step step{local, false};
    {
      MutexLock lock(s.mu);
      size_t held = 0;
      do {
        step = s.table().VisitBucket(step.next, [&](const Node* n) {
          if (internal::IsLive(n, now_ms)) page.keys.emplace_back(internal::NodeKey(n));
        });
        --buckets_left;
      } while (!step.done && page.keys.size() < count && buckets_left > 0 &&
               ++held < kScanBucketsPerLock);
    }
    local = step.next;
    if (step.done && ++index == shards_.size()) return page;  // next_cursor 0: complete
    if (page.keys.size() >= count || buckets_left == 0) {
      page.next_cursor = shard_bits_ == 0
                             ? local
                             : (uint64_t{index} << (64 - shard_bits_)) | (local >> shard_bits_);
      return page;
    }
  }
}

std::optional<std::string> MemoryEngine::RandomKey(int64_t now_ms) {
  size_t start = internal::FastRandom();
  for (size_t i = 0; i < shards_.size(); ++i) {
    Shard& s = *shards_[(start + i) & (shards_.size() - 1)];
    MutexLock lock(s.mu);
    if (const Node* n = s.RandomLive(now_ms)) return std::string(internal::NodeKey(n));
  }
  return std::nullopt;
}

// Visits shards round-robin, giving each an equal part of what is left of
// the budget, so shards with few expiring keys pass their share on.
size_t MemoryEngine::ExpireCycle(int64_t now_ms, size_t budget) {
  size_t n = shards_.size();
  size_t start = expire_round_robin_.fetch_add(1, std::memory_order_relaxed);
  size_t reaped = 0;
  for (size_t i = 0; i < n && budget > 0; ++i) {
    size_t quota = (budget + (n - i) - 1) / (n - i);
    Shard& s = *shards_[(start + i) & (n - 1)];
    MutexLock lock(s.mu);
    auto [examined, removed] = s.ExpireSome(now_ms, quota);
    budget -= examined;
    reaped += removed;
  }
  return reaped;
}

// Shares the budget among the shards as ExpireCycle does.
size_t MemoryEngine::PurgeTombstones(int64_t now_ms, int64_t ttl_ms, size_t budget) {
  size_t n = shards_.size();
  size_t start = purge_round_robin_.fetch_add(1, std::memory_order_relaxed);
  size_t purged = 0;
  for (size_t i = 0; i < n && budget > 0; ++i) {
    size_t quota = (budget + (n - i) - 1) / (n - i);
    Shard& s = *shards_[(start + i) & (n - 1)];
    MutexLock lock(s.mu);
    auto [examined, removed] = s.PurgeSome(now_ms, ttl_ms, quota);
    budget -= examined;
    purged += removed;
  }
  return purged;
}

Status MemoryEngine::ForEachInArcs(std::span<const ring::Arc> arcs, ring::HashKind hash,
                                   int64_t now_ms,
                                   FunctionRef<bool(std::string_view key, const Entry& entry)> fn) {
  return WalkArcs(arcs, hash, now_ms, Include::kLive,
                  [&](std::string_view key, const VersionedEntry& v) { return fn(key, v.entry); });
}

Status MemoryEngine::ForEachVersionedInArcs(std::span<const ring::Arc> arcs, ring::HashKind hash,
                                            int64_t now_ms, Visitor fn) {
  return WalkArcs(arcs, hash, now_ms, Include::kLiveAndTombstones, fn);
}

Status MemoryEngine::WalkArcs(std::span<const ring::Arc> arcs, ring::HashKind hash, int64_t now_ms,
                              Include include, Visitor fn) {
  ring::ArcSet set(arcs);
  Batch batch;
  if (hash == ring::HashKind::kXxh3) {
    // The key hash is the ring position: walk only the buckets of each span.
    for (const ring::ArcSet::Span& span : set.spans()) {
      auto in_span = [&](const Node* n) {
        const uint64_t pos = internal::KeyHash(internal::NodeKey(n));
        return pos >= span.first && pos <= span.last;
      };
      if (!WalkRange(span.first, span.last, now_ms, include, in_span, batch, fn)) break;
    }
    return OkStatus();
  }
  auto in_arcs = [&](const Node* n) {
    return set.Contains(ring::HashKey(hash, internal::NodeKey(n)));
  };
  WalkRange(0, UINT64_MAX, now_ms, include, in_arcs, batch, fn);
  return OkStatus();
}

// Hands fn every node `include` admits and `wanted` accepts in the buckets
// covering key hashes first..last, a lock hold's worth at a time; false when
// fn asked to stop.
template <typename Wanted>
bool MemoryEngine::WalkRange(uint64_t first, uint64_t last, int64_t now_ms, Include include,
                             const Wanted& wanted, Batch& batch, Visitor fn) {
  const size_t first_shard = ShardIndex(first), last_shard = ShardIndex(last);
  for (size_t i = first_shard; i <= last_shard; ++i) {
    uint64_t from = i == first_shard ? first << shard_bits_ : 0;
    const uint64_t to = i == last_shard ? last << shard_bits_ : UINT64_MAX;
    for (bool done = false; !done;) {
      internal::NodeTable::Step step =
          CopyRange(*shards_[i], from, to, now_ms, include, wanted, &batch);
      for (size_t k = 0; k < batch.size; ++k) {
        if (!fn(batch.slots[k].first, batch.slots[k].second)) return false;
      }
      from = step.next;
      done = step.done;
    }
  }
  return true;
}

// Copies the nodes `include` admits and `wanted` accepts from the buckets
// covering shard-local positions from..last, until about kArcBatchNodes
// nodes were examined. The batch's strings keep their capacity from one call
// to the next.
template <typename Wanted>
internal::NodeTable::Step MemoryEngine::CopyRange(Shard& s, uint64_t from, uint64_t last,
                                                  int64_t now_ms, Include include,
                                                  const Wanted& wanted, Batch* out) {
  out->size = 0;
  MutexLock lock(s.mu);
  return s.table().VisitRange(from, last, kArcBatchNodes, [&](const Node* n) {
    if (internal::IsExpired(n, now_ms)) return;
    if (internal::IsTombstone(n) && include == Include::kLive) return;
    if (!wanted(n)) return;
    if (out->size == out->slots.size()) out->slots.emplace_back();
    auto& [key, entry] = out->slots[out->size++];
    internal::CopyNode(n, key, entry);
  });
}

EngineStats MemoryEngine::Stats() const {
  EngineStats stats;
  for (const auto& s : shards_) {
    MutexLock lock(s->mu);
    stats.keys += s->size();
    stats.keys_with_expiry += s->keys_with_expiry();
    stats.evicted_keys += s->evicted();
    stats.expired_keys += s->expired();
    stats.tombstones += s->tombstones();
    stats.purged_tombstones += s->purged();
  }
  stats.used_bytes = static_cast<uint64_t>(std::max<int64_t>(used_.load(), 0));
  stats.max_memory = static_cast<uint64_t>(max_memory_);
  return stats;
}

}  // namespace

std::unique_ptr<Engine> NewMemoryEngine(const MemoryEngineOptions& options) {
  return std::make_unique<MemoryEngine>(options);
}

}  // namespace ringkv::store
