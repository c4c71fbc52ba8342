// NodeTable: a chained hash table of Nodes with a power-of-two bucket count.
//
// The table links nodes but does not own them: the shard that holds it
// allocates, frees and accounts them. The hash is KeyHash(key), which is also
// the key's ring position under the default "xxh3" key hash. Its top
// `skip_bits` bits choose the shard; the bucket is the next log2(buckets)
// bits. So a table's buckets are in ring order: bucket i holds the keys whose
// shard-local position (hash << skip_bits) lies in
// [i << (64 - log2(buckets)), (i + 1) << (64 - log2(buckets))).
//
// Iteration cursors are shard-local positions, not bucket numbers: a cursor
// names the same place on the ring whatever the table's size, so when the
// table doubles or halves between two calls, nothing after the cursor is
// missed (after a halving, the bucket that holds the cursor may repeat some
// keys). A range of the ring is visited by walking only the buckets that
// cover it, which is what makes moving a few arcs cost in proportion to the
// keys they hold, not to every key of the node.
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

inline size_t RoundUpPow2(size_t n) {
  size_t p = 1;
  while (p < n) p <<= 1;
  return p;
}

class NodeTable {
 public:
  static constexpr size_t kMinBuckets = 8;

  // Where an iteration stands after a call: the cursor to continue from, and
  // whether the range (or the whole table) is done.
  struct Step {
    uint64_t next;
    bool done;
  };

  // `skip_bits`: the top hash bits that chose the shard (0 to 63).
  explicit NodeTable(unsigned skip_bits = 0) : skip_(skip_bits) { Reset(); }
  NodeTable(const NodeTable&) = delete;
  NodeTable& operator=(const NodeTable&) = delete;

  size_t size() const { return size_; }
  size_t bucket_count() const { return mask_ + 1; }
  uint64_t mask() const { return mask_; }
  // Heap bytes held by the bucket array.
  uint64_t bucket_bytes() const { return AllocatedSize(bucket_count() * sizeof(Node*)); }
  Node* bucket(size_t i) const { return buckets_[i & mask_]; }

  // The shard-local position of a hash: the bits below the shard's.
  uint64_t Position(uint64_t hash) const { return hash << skip_; }
  // The bucket that holds shard-local position `pos`.
  size_t BucketAt(uint64_t pos) const { return static_cast<size_t>(pos >> shift_); }

  // Where a lookup of `hash` starts: its bucket slot, and the first node in
  // it (a hint for prefetching; stale as soon as the table changes).
  const void* SlotOf(uint64_t hash) const { return &buckets_[Index(hash)]; }
  const Node* HeadOf(uint64_t hash) const { return buckets_[Index(hash)]; }

  // The link (bucket slot or predecessor's `next`) that points at the node
  // holding `key`, or nullptr. Invalidated by any other change to the table.
  Node** FindLink(uint64_t hash, std::string_view key) {
    for (Node** link = &buckets_[Index(hash)]; *link != nullptr; link = &(*link)->next) {
      if (NodeKey(*link) == key) return link;
    }
    return nullptr;
  }

  // The link that points at `n`, which must be in the table.
  Node** LinkOf(const Node* n) {
    Node** link = &buckets_[Index(KeyHash(NodeKey(n)))];
    while (*link != n) link = &(*link)->next;
    return link;
  }

  // Adds `n`, whose key must be absent.
  void Insert(uint64_t hash, Node* n) {
    Node** head = &buckets_[Index(hash)];
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

  // Rehashes every node into `buckets` (a power of two, >= 2) buckets. The
  // buckets keep ring order, so a chain only ever splits into neighbouring
  // buckets or merges with them.
  void Resize(size_t buckets) {
    std::unique_ptr<Node*[]> fresh(new Node*[buckets]());
    const unsigned shift = ShiftFor(buckets);
    for (size_t i = 0; i <= mask_; ++i) {
      for (Node* n = buckets_[i]; n != nullptr;) {
        Node* next = n->next;
        Node** head = &fresh[Position(KeyHash(NodeKey(n))) >> shift];
        n->next = *head;
        *head = n;
        n = next;
      }
    }
    buckets_ = std::move(fresh);
    mask_ = buckets - 1;
    shift_ = shift;
  }

  // Calls fn(Node*) for every node in the bucket that holds position
  // `cursor`; returns where the next bucket starts, and done after the last
  // bucket. fn must not change the table.
  template <typename Fn>
  Step VisitBucket(uint64_t cursor, Fn&& fn) const {
    const size_t b = BucketAt(cursor);
    for (Node* n = buckets_[b]; n != nullptr; n = n->next) fn(n);
    return After(b);
  }

  // Visits the buckets that hold positions `from` to `last` (inclusive), in
  // order, and stops after the first bucket that brings the count of nodes
  // visited to `min_nodes`. Returns where to continue, and done once the
  // bucket holding `last` was visited. Nodes of the first and last buckets
  // may lie outside the range: the caller checks them. For bulk scans: it
  // prefetches the chain heads of the buckets ahead, so the cache misses of a
  // scan overlap instead of following one another.
  template <typename Fn>
  Step VisitRange(uint64_t from, uint64_t last, size_t min_nodes, Fn&& fn) const {
    constexpr size_t kNodesAhead = 8;  // chain heads fetched this far ahead
    const size_t first_bucket = BucketAt(from);
    const size_t last_bucket = BucketAt(last);
    size_t visited = 0;
    for (size_t b = first_bucket;; ++b) {
      if (b + kNodesAhead <= last_bucket) {
        if (const Node* head = buckets_[b + kNodesAhead]) __builtin_prefetch(head);
      }
      for (const Node* n = buckets_[b]; n != nullptr; n = n->next) {
        fn(n);
        ++visited;
      }
      if (b == last_bucket) return {After(b).next, true};
      if (visited >= min_nodes) return After(b);
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
  static unsigned ShiftFor(size_t buckets) {
    return 64 - static_cast<unsigned>(__builtin_ctzll(buckets));
  }
  size_t Index(uint64_t hash) const { return BucketAt(Position(hash)); }
  // The step after visiting bucket b: the start of bucket b + 1, or done.
  Step After(size_t b) const {
    if (b == mask_) return {0, true};
    return {static_cast<uint64_t>(b + 1) << shift_, false};
  }

  void Reset() {
    buckets_.reset(new Node*[kMinBuckets]());
    mask_ = kMinBuckets - 1;
    shift_ = ShiftFor(kMinBuckets);
    size_ = 0;
  }

  const unsigned skip_;
  std::unique_ptr<Node*[]> buckets_;
  uint64_t mask_ = 0;
  unsigned shift_ = 64;  // 64 - log2(bucket count)
  size_t size_ = 0;
};

}  // namespace ringkv::store::internal
