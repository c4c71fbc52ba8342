// Shard: one lock's worth of the memory engine, a synchronous single-threaded
// cache. The engine picks the shard from the key hash and calls these
// methods with `mu` held (each REQUIRES(mu)); the shard never locks anything
// itself.
//
// It holds the hash table of nodes, the index of nodes with an expiry and
// the index of tombstones (vectors; each such node stores its slot, so
// removal is O(1) swap-and-pop), and the LRU clock. Tombstones are nodes of
// the table, so a key has one node whatever it holds; every read that must
// not see them skips them (IsLive), and eviction never takes them. Recency
// is a per-node 32-bit stamp rather than list links (16 bytes per key
// saved): eviction samples kEvictionSamples nodes and evicts the stalest,
// like Redis's approximate LRU; a shard that holds no more than that many
// nodes is evicted in exact LRU order.
//
// Memory accounting: every allocation and free is added to the engine-wide
// counter passed to the constructor, so admission control sees all shards.
#pragma once

#include <atomic>
#include <cstdint>
#include <random>
#include <string_view>
#include <vector>

#include "base/thread_annotations.h"
#include "store/engine.h"
#include "store/internal/node.h"
#include "store/internal/node_table.h"

namespace ringkv::store::internal {

// A fast thread-local pseudo-random number (splitmix64); not for security.
inline uint64_t FastRandom() {
  thread_local uint64_t state = (uint64_t{std::random_device{}()} << 32) ^ std::random_device{}();
  uint64_t z = (state += 0x9E3779B97F4A7C15ULL);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

// Whether the node is an entry that has not expired (not a tombstone).
inline bool IsLive(const Node* n, int64_t now_ms) {
  return !IsTombstone(n) && !IsExpired(n, now_ms);
}

inline Entry ToEntry(const Node* n) {
  NodeFields f = Decode(n);
  Entry e{std::string(f.value), n->version, 0};
  if (f.expiry != nullptr) std::memcpy(&e.expire_at_ms, f.expiry, sizeof(int64_t));
  return e;
}

// Copies the node into `key` and `e`, reusing their strings' capacity.
inline void CopyNode(const Node* n, std::string& key, VersionedEntry& v) {
  NodeFields f = Decode(n);
  Entry& e = v.entry;
  v.tombstone = f.tombstone_slot != nullptr;
  key.assign(f.key);
  e.value.assign(f.value);
  e.version = n->version;
  e.expire_at_ms = 0;
  if (f.expiry != nullptr) std::memcpy(&e.expire_at_ms, f.expiry, sizeof(int64_t));
}

// Cache-line aligned so neighbouring shards' mutexes do not false-share.
class alignas(64) Shard {
 public:
  static constexpr size_t kEvictionSamples = 16;

  // `shard_bits`: the top key-hash bits that chose this shard (NodeTable).
  Shard(std::atomic<int64_t>* engine_used, unsigned shard_bits)
      : table_(shard_bits), engine_used_(engine_used) {
    Account(static_cast<int64_t>(table_.bucket_bytes()));
  }
  ~Shard() { Clear(); }
  Shard(const Shard&) = delete;
  Shard& operator=(const Shard&) = delete;

  mutable Mutex mu;

  const NodeTable& table() const REQUIRES(mu) { return table_; }
  // Entries held, expired ones included; tombstones are not counted.
  size_t size() const REQUIRES(mu) { return table_.size() - tombstones_.size(); }
  size_t keys_with_expiry() const REQUIRES(mu) { return expiring_.size(); }
  size_t tombstones() const REQUIRES(mu) { return tombstones_.size(); }
  uint64_t evicted() const REQUIRES(mu) { return evicted_; }
  uint64_t expired() const REQUIRES(mu) { return expired_; }
  uint64_t purged() const REQUIRES(mu) { return purged_; }

  // The node for `key` if it is live or a tombstone; an expired one is reaped.
  Node* FindStored(uint64_t hash, std::string_view key, int64_t now_ms) REQUIRES(mu) {
    Node** link = table_.FindLink(hash, key);
    if (link == nullptr) return nullptr;
    if (IsExpired(*link, now_ms)) {
      Reap(*link);
      return nullptr;
    }
    return *link;
  }

  // The node for `key` if it is live; an expired one is reaped.
  Node* FindLive(uint64_t hash, std::string_view key, int64_t now_ms) REQUIRES(mu) {
    Node* n = FindStored(hash, key, now_ms);
    return n == nullptr || IsTombstone(n) ? nullptr : n;
  }

  void Touch(Node* n) REQUIRES(mu) { n->stamp = ++clock_; }

  void Remove(Node* n) REQUIRES(mu) {
    table_.Unlink(table_.LinkOf(n));
    Free(n);
    if (size_t target = table_.ShrinkTarget()) ResizeTable(target);
  }
  void Reap(Node* n) REQUIRES(mu) {
    Remove(n);
    ++expired_;
  }
  // Removes a victim of eviction, counting it as expired if it was.
  void Evict(Node* n, int64_t now_ms) REQUIRES(mu) {
    IsExpired(n, now_ms) ? ++expired_ : ++evicted_;
    Remove(n);
  }

  bool CanDeferGrowth() const REQUIRES(mu) { return table_.CanDeferGrowth(); }

  // Bytes that Put(key, cur, entry, grow) (or PutTombstone, when
  // `tombstone`) would add; negative if it frees memory.
  int64_t PutDelta(const Node* cur, size_t key_len, const Entry& e, bool grow,
                   bool tombstone = false) const REQUIRES(mu) {
    const size_t size = tombstone ? TombstoneNodeSize(key_len)
                                  : NodeSize(key_len, e.value.size(), e.expire_at_ms != 0);
    int64_t delta = static_cast<int64_t>(AllocatedSize(size));
    if (cur != nullptr) return delta - static_cast<int64_t>(NodeAllocatedSize(cur));
    if (size_t buckets = grow ? table_.BucketsForInsert() : 0) {
      delta += static_cast<int64_t>(AllocatedSize(buckets * sizeof(Node*)) - table_.bucket_bytes());
    }
    return delta;
  }

  // Stores `e` under `key`; `cur` is the key's node (live or a tombstone)
  // or nullptr. With `grow` false a due table doubling is skipped (see
  // CanDeferGrowth).
  void Put(uint64_t hash, std::string_view key, Node* cur, const Entry& e, bool grow) REQUIRES(mu);

  // Replaces `cur` (the key's node or nullptr) with a tombstone of `version`.
  void PutTombstone(uint64_t hash, std::string_view key, Node* cur, uint64_t version, bool grow)
      REQUIRES(mu);

  // The node eviction should take next, never `keep` and never a
  // tombstone; nullptr if none. Expired nodes are preferred.
  Node* PickVictim(const Node* keep, int64_t now_ms) const REQUIRES(mu);

  // Examines up to `budget` nodes with an expiry, reaping the expired ones.
  // Returns {examined, reaped}.
  std::pair<size_t, size_t> ExpireSome(int64_t now_ms, size_t budget) REQUIRES(mu);

  // Examines up to `budget` tombstones, removing those TombstonePurgeable
  // accepts. Returns {examined, purged}.
  std::pair<size_t, size_t> PurgeSome(int64_t now_ms, int64_t ttl_ms, size_t budget) REQUIRES(mu);

  // A random live node (reaping expired ones it meets), or nullptr.
  Node* RandomLive(int64_t now_ms) REQUIRES(mu);

  // Frees every node; counters of evicted and expired keys are kept.
  void Clear() REQUIRES(mu);

 private:
  void Account(int64_t delta) { engine_used_->fetch_add(delta, std::memory_order_relaxed); }
  void ResizeTable(size_t buckets) REQUIRES(mu);
  // An index of nodes (expiring_ or tombstones_) in which each node
  // stores its slot through Slot/SetSlot.
  template <uint32_t (*Slot)(const Node*), void (*SetSlot)(Node*, uint32_t)>
  void AddToIndex(std::vector<Node*>& index, Node* n) REQUIRES(mu);
  template <uint32_t (*Slot)(const Node*), void (*SetSlot)(Node*, uint32_t)>
  void DropFromIndex(std::vector<Node*>& index, Node* n) REQUIRES(mu);
  void Free(Node* n) REQUIRES(mu);
  void AccountIndexCapacity(const std::vector<Node*>& index, size_t old_capacity) REQUIRES(mu);

  NodeTable table_ GUARDED_BY(mu);
  std::vector<Node*> expiring_ GUARDED_BY(mu);  // nodes with kHasExpiry; node's slot = index
  size_t expire_cursor_ GUARDED_BY(mu) = 0;     // where the next ExpireSome continues
  std::vector<Node*> tombstones_ GUARDED_BY(mu);  // nodes with kTombstone; node's slot = index
  size_t purge_cursor_ GUARDED_BY(mu) = 0;        // where the next PurgeSome continues
  uint32_t clock_ GUARDED_BY(mu) = 0;  // LRU clock; ages are differences, so wrap is fine
  uint64_t evicted_ GUARDED_BY(mu) = 0;
  uint64_t expired_ GUARDED_BY(mu) = 0;
  uint64_t purged_ GUARDED_BY(mu) = 0;
  std::atomic<int64_t>* engine_used_;
};

inline void Shard::Put(uint64_t hash, std::string_view key, Node* cur, const Entry& e, bool grow) {
  bool has_expiry = e.expire_at_ms != 0;
  if (cur != nullptr && !IsTombstone(cur) && ((cur->flags & kHasExpiry) != 0) == has_expiry &&
      Decode(cur).value.size() == e.value.size()) {
    OverwriteNode(cur, e.value, e.version, e.expire_at_ms);  // same size: no allocation
    Touch(cur);
    return;
  }
  Node* n = NewNode(key, e.value, e.version, e.expire_at_ms);
  Account(static_cast<int64_t>(NodeAllocatedSize(n)));
  Touch(n);
  if (cur != nullptr) {
    table_.Replace(table_.FindLink(hash, key), n);
    Free(cur);
  } else {
    if (size_t buckets = grow ? table_.BucketsForInsert() : 0) ResizeTable(buckets);
    table_.Insert(hash, n);
  }
  if (has_expiry) AddToIndex<ExpirySlot, SetExpirySlot>(expiring_, n);
}

inline void Shard::PutTombstone(uint64_t hash, std::string_view key, Node* cur, uint64_t version,
                                bool grow) {
  if (cur != nullptr && IsTombstone(cur)) {
    cur->version = version;
    return;
  }
  Node* n = NewTombstoneNode(key, version);
  Account(static_cast<int64_t>(NodeAllocatedSize(n)));
  if (cur != nullptr) {
    table_.Replace(table_.FindLink(hash, key), n);
    Free(cur);
  } else {
    if (size_t buckets = grow ? table_.BucketsForInsert() : 0) ResizeTable(buckets);
    table_.Insert(hash, n);
  }
  AddToIndex<TombstoneSlot, SetTombstoneSlot>(tombstones_, n);
}

inline Node* Shard::PickVictim(const Node* keep, int64_t now_ms) const {
  size_t candidates = size() - (keep != nullptr && !IsTombstone(keep) ? 1 : 0);
  if (candidates == 0) return nullptr;
  Node* best = nullptr;
  uint32_t best_age = 0;
  size_t seen = 0;
  size_t start = FastRandom();
  for (size_t i = 0; i < table_.bucket_count() && seen < kEvictionSamples; ++i) {
    for (Node* n = table_.bucket(start + i); n != nullptr; n = n->next) {
      if (n == keep || IsTombstone(n)) continue;
      if (IsExpired(n, now_ms)) return n;
      uint32_t age = clock_ - n->stamp;
      if (best == nullptr || age > best_age) {
        best = n;
        best_age = age;
      }
      ++seen;
    }
  }
  return best;
}

inline std::pair<size_t, size_t> Shard::ExpireSome(int64_t now_ms, size_t budget) {
  size_t examined = 0, reaped = 0;
  size_t limit = std::min(budget, expiring_.size());
  for (; examined < limit && !expiring_.empty(); ++examined) {
    if (expire_cursor_ >= expiring_.size()) expire_cursor_ = 0;
    Node* n = expiring_[expire_cursor_];
    if (ExpireAt(n) <= now_ms) {
      Reap(n);  // the last node moves into this slot; look at it next
      ++reaped;
    } else {
      ++expire_cursor_;
    }
  }
  return {examined, reaped};
}

inline std::pair<size_t, size_t> Shard::PurgeSome(int64_t now_ms, int64_t ttl_ms, size_t budget) {
  size_t examined = 0, purged = 0;
  size_t limit = std::min(budget, tombstones_.size());
  for (; examined < limit && !tombstones_.empty(); ++examined) {
    if (purge_cursor_ >= tombstones_.size()) purge_cursor_ = 0;
    Node* n = tombstones_[purge_cursor_];
    if (TombstonePurgeable(n->version, now_ms, ttl_ms)) {
      Remove(n);  // the last tombstone moves into this slot; look at it next
      ++purged;
    } else {
      ++purge_cursor_;
    }
  }
  purged_ += purged;
  return {examined, purged};
}

inline Node* Shard::RandomLive(int64_t now_ms) {
  for (int attempt = 0; attempt < 64 && table_.size() > 0; ++attempt) {
    uint64_t r = FastRandom();
    size_t chain = 0;
    for (Node* n = table_.bucket(r); n != nullptr; n = n->next) ++chain;
    if (chain == 0) continue;
    Node* n = table_.bucket(r);
    for (size_t k = (r >> 32) % chain; k > 0; --k) n = n->next;
    if (IsTombstone(n)) continue;
    if (!IsExpired(n, now_ms)) return n;
    Reap(n);
  }
  // Mostly empty, expired or tombstones: fall back to a walk.
  for (size_t i = 0; i < table_.bucket_count(); ++i) {
    for (Node* n = table_.bucket(i); n != nullptr; n = n->next) {
      if (IsLive(n, now_ms)) return n;
    }
  }
  return nullptr;
}

inline void Shard::Clear() {
  int64_t bucket_bytes = static_cast<int64_t>(table_.bucket_bytes());
  Node* chain = table_.DetachAll();
  Account(static_cast<int64_t>(table_.bucket_bytes()) - bucket_bytes);
  for (Node* n = chain; n != nullptr;) {
    Node* next = n->next;
    Account(-static_cast<int64_t>(NodeAllocatedSize(n)));
    FreeNode(n);
    n = next;
  }
  for (std::vector<Node*>* index : {&expiring_, &tombstones_}) {
    size_t old_capacity = index->capacity();
    index->clear();
    index->shrink_to_fit();
    AccountIndexCapacity(*index, old_capacity);
  }
  expire_cursor_ = 0;
  purge_cursor_ = 0;
}

inline void Shard::ResizeTable(size_t buckets) {
  int64_t before = static_cast<int64_t>(table_.bucket_bytes());
  table_.Resize(buckets);
  Account(static_cast<int64_t>(table_.bucket_bytes()) - before);
}

template <uint32_t (*Slot)(const Node*), void (*SetSlot)(Node*, uint32_t)>
void Shard::AddToIndex(std::vector<Node*>& index, Node* n) {
  size_t old_capacity = index.capacity();
  SetSlot(n, static_cast<uint32_t>(index.size()));
  index.push_back(n);
  AccountIndexCapacity(index, old_capacity);
}

template <uint32_t (*Slot)(const Node*), void (*SetSlot)(Node*, uint32_t)>
void Shard::DropFromIndex(std::vector<Node*>& index, Node* n) {
  uint32_t slot = Slot(n);
  Node* last = index.back();
  index[slot] = last;
  SetSlot(last, slot);
  index.pop_back();
  if (index.capacity() > 64 && index.size() < index.capacity() / 4) {
    size_t old_capacity = index.capacity();
    index.shrink_to_fit();
    AccountIndexCapacity(index, old_capacity);
  }
}

// Releases a node already unlinked from the table.
inline void Shard::Free(Node* n) {
  if (n->flags & kHasExpiry) DropFromIndex<ExpirySlot, SetExpirySlot>(expiring_, n);
  if (n->flags & kTombstone) DropFromIndex<TombstoneSlot, SetTombstoneSlot>(tombstones_, n);
  Account(-static_cast<int64_t>(NodeAllocatedSize(n)));
  FreeNode(n);
}

inline void Shard::AccountIndexCapacity(const std::vector<Node*>& index, size_t old_capacity) {
  auto bytes = [](size_t capacity) {
    return capacity == 0 ? int64_t{0}
                         : static_cast<int64_t>(AllocatedSize(capacity * sizeof(Node*)));
  };
  Account(bytes(index.capacity()) - bytes(old_capacity));
}

}  // namespace ringkv::store::internal
