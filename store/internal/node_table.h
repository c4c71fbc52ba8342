// NodeTable: a chained hash table of Nodes with a power-of-two bucket count.
//
// The table links nodes but does not own them: the shard that holds it
// allocates, frees and accounts them. Bucket index = hash & mask, where hash
// is KeyHash(key); the shard is chosen from the hash's high bits, so the two
// stay independent.
//
// Iteration uses Redis's reverse-binary cursor: buckets are visited in the
// order of their bit-reversed index, so when the table doubles or halves
// between two calls, every bucket not yet visited maps onto buckets that are
// not yet visited either. A key present for a whole iteration is seen at
// least once (possibly twice after a shrink).
//
// Thread safety: none; guarded by the owning shard's mutex.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>

#include "ring/hash.h"
#include "store/internal/node.h"

namespace ringkv::store::internal {

inline uint64_t KeyHash(std::string_view key) {
  return ring::HashXxh3(key);
}

inline uint64_t ReverseBits(uint64_t v) {
  v = ((v >> 1) & 0x5555555555555555ULL) | ((v & 0x5555555555555555ULL) << 1);
  v = ((v >> 2) & 0x3333333333333333ULL) | ((v & 0x3333333333333333ULL) << 2);
  v = ((v >> 4) & 0x0F0F0F0F0F0F0F0FULL) | ((v & 0x0F0F0F0F0F0F0F0FULL) << 4);
  return __builtin_bswap64(v);
}

// The cursor after `v` for a table with bucket mask `mask`; 0 when the
// iteration has wrapped around (is complete).
inline uint64_t NextCursor(uint64_t v, uint64_t mask) {
  v |= ~mask;
  v = ReverseBits(v);
  ++v;
  return ReverseBits(v);
}

inline size_t RoundUpPow2(size_t n) {
  size_t p = 1;
  while (p < n) p <<= 1;
  return p;
}

class NodeTable {
 public:
  static constexpr size_t kMinBuckets = 8;

  NodeTable() { Reset(); }
  NodeTable(const NodeTable&) = delete;
  NodeTable& operator=(const NodeTable&) = delete;

  size_t size() const { return size_; }
  size_t bucket_count() const { return mask_ + 1; }
  uint64_t mask() const { return mask_; }
  // Heap bytes held by the bucket array.
  uint64_t bucket_bytes() const { return AllocatedSize(bucket_count() * sizeof(Node*)); }
  Node* bucket(size_t i) const { return buckets_[i & mask_]; }

  // The link (bucket slot or predecessor's `next`) that points at the node
  // holding `key`, or nullptr. Invalidated by any other change to the table.
  Node** FindLink(uint64_t hash, std::string_view key) {
    for (Node** link = &buckets_[hash & mask_]; *link != nullptr; link = &(*link)->next) {
      if (NodeKey(*link) == key) return link;
    }
    return nullptr;
  }

  // The link that points at `n`, which must be in the table.
  Node** LinkOf(const Node* n) {
    Node** link = &buckets_[KeyHash(NodeKey(n)) & mask_];
    while (*link != n) link = &(*link)->next;
    return link;
  }

  // Adds `n`, whose key must be absent.
  void Insert(uint64_t hash, Node* n) {
    Node** head = &buckets_[hash & mask_];
    n->next = *head;
    *head = n;
    ++size_;
  }

  // Puts `n` where the node at `*link` was; that node is unlinked.
  void Replace(Node** link, Node* n) {
    n->next = (*link)->next;
    *link = n;
  }

  void Unlink(Node** link) {
    *link = (*link)->next;
    --size_;
  }

  // The bucket count after inserting one more node, or 0 if the table need
  // not grow: it doubles when the load factor would pass 1.
  size_t BucketsForInsert() const { return size_ + 1 > bucket_count() ? bucket_count() * 2 : 0; }

  // Whether an insert may skip a due doubling (when memory is short); the
  // load factor is still capped at kMaxDeferredLoad.
  static constexpr size_t kMaxDeferredLoad = 4;
  bool CanDeferGrowth() const { return size_ + 1 <= bucket_count() * kMaxDeferredLoad; }

  // A smaller bucket count once the load factor drops below 1/8, else 0.
  size_t ShrinkTarget() const {
    if (bucket_count() <= kMinBuckets || size_ * 8 >= bucket_count()) return 0;
    size_t target = RoundUpPow2(size_ * 2);
    return target < kMinBuckets ? kMinBuckets : target;
  }

  // Rehashes every node into `buckets` (a power of two) buckets.
  void Resize(size_t buckets) {
    std::unique_ptr<Node*[]> fresh(new Node*[buckets]());
    uint64_t mask = buckets - 1;
    for (size_t i = 0; i <= mask_; ++i) {
      for (Node* n = buckets_[i]; n != nullptr;) {
        Node* next = n->next;
        Node** head = &fresh[KeyHash(NodeKey(n)) & mask];
        n->next = *head;
        *head = n;
        n = next;
      }
    }
    buckets_ = std::move(fresh);
    mask_ = mask;
  }

  // Calls fn(Node*) for every node in bucket `cursor & mask` and returns the
  // next cursor (0 = iteration complete). fn must not change the table.
  template <typename Fn>
  uint64_t VisitBucket(uint64_t cursor, Fn&& fn) const {
    for (Node* n = buckets_[cursor & mask_]; n != nullptr; n = n->next) fn(n);
    return NextCursor(cursor, mask_);
  }

  // Like VisitBucket over consecutive buckets from `cursor`, until at least
  // `min_nodes` nodes were visited or the iteration is complete; returns the
  // next cursor (0 = complete). For bulk scans: it prefetches the bucket
  // slots and chain heads of the buckets ahead, so the cache misses of a
  // scan overlap instead of following one another.
  template <typename Fn>
  uint64_t VisitBuckets(uint64_t cursor, size_t min_nodes, Fn&& fn) const {
    constexpr size_t kSlotsAhead = 16;     // bucket slots fetched this far ahead
    constexpr size_t kNodesAhead = 8;      // chain heads fetched this far ahead
    constexpr uint64_t kEnd = UINT64_MAX;  // past the last bucket (never a cursor)
    uint64_t ahead[kSlotsAhead];           // the cursors of the next buckets, circular
    uint64_t c = cursor;                   // the cursor after the last one in `ahead`
    auto advance = [&] {
      const uint64_t cur = c;
      if (c != kEnd) {
        __builtin_prefetch(&buckets_[c & mask_]);
        c = NextCursor(c, mask_);
        if (c == 0) c = kEnd;
      }
      return cur;
    };
    for (uint64_t& a : ahead) a = advance();
    size_t visited = 0;
    for (size_t i = 0;; ++i) {
      const uint64_t cur = ahead[i % kSlotsAhead];
      if (const uint64_t near = ahead[(i + kNodesAhead) % kSlotsAhead]; near != kEnd) {
        if (const Node* head = buckets_[near & mask_]) __builtin_prefetch(head);
      }
      ahead[i % kSlotsAhead] = advance();
      for (const Node* n = buckets_[cur & mask_]; n != nullptr; n = n->next) {
        fn(n);
        ++visited;
      }
      const uint64_t next = NextCursor(cur, mask_);
      if (next == 0 || visited >= min_nodes) return next;
    }
  }

  // Unlinks every node and returns them as one chain; the table shrinks to
  // kMinBuckets.
  Node* DetachAll() {
    Node* chain = nullptr;
    for (size_t i = 0; i <= mask_; ++i) {
      for (Node* n = buckets_[i]; n != nullptr;) {
        Node* next = n->next;
        n->next = chain;
        chain = n;
        n = next;
      }
    }
    Reset();
    return chain;
  }

 private:
  void Reset() {
    buckets_.reset(new Node*[kMinBuckets]());
    mask_ = kMinBuckets - 1;
    size_ = 0;
  }

  std::unique_ptr<Node*[]> buckets_;
  uint64_t mask_ = 0;
  size_t size_ = 0;
};

}  // namespace ringkv::store::internal
