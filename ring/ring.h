// Ring: an immutable consistent-hash ring of virtual nodes over uint64.
//
// A node with weight w has w * vnodes_per_weight vnodes; vnode i of node `id`
// sits at VnodePosition(hash, id, i). A position p belongs to the first vnode
// at or after p, wrapping at 2^64 (ketama convention), so the owner of a vnode
// owns the arc (predecessor, point]. The same set of nodes, in any order,
// builds an identical ring: nodes are indexed in id order and vnodes sort by
// (point, node index).
//
// Lookup layout: beside the sorted vnode array {point, owner} the ring keeps a
// bucket table indexed by the top `bucket_bits` bits of a position. A bucket
// whose every position has one owner stores that owner directly (most buckets,
// at the default 4-8 buckets per vnode); the others store the index of their
// first vnode, and the lookup scans the few vnodes inside the bucket. A lookup
// is one or two cache misses and no branches that depend on ring size.
//
// Preference lists: Build also stores, per vnode, a 32-byte row holding its
// point and the first kMaxReplication distinct nodes clockwise from it, and
// a row index with half as many entries as the bucket table. Owners() reads
// the index, scans a row or two and copies the list: two cache misses and no
// walk, for 32 bytes per vnode plus the index (7 MB for 1000 nodes x 160
// vnodes). docs/design.md, "Ring", has the trade-off.
//
// Thread safety: immutable after Build(); share as shared_ptr<const Ring> and
// call any const method from any thread without locks.
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "ring/hash.h"

namespace ringkv::ring {

struct NodeSpec {
  std::string id;       // stable identity; placement depends on it alone
  uint32_t weight = 1;  // >= 1; vnodes = weight * vnodes_per_weight
};

struct RingOptions {
  uint32_t vnodes_per_weight = 160;  // >= 1
  HashKind hash = HashKind::kXxh3;
  // log2 of the bucket table size; 0 picks from the vnode count (about 4-8
  // buckets per vnode, between 2^8 and 2^22 buckets).
  uint32_t bucket_bits = 0;
};

// Limits enforced by Ring::Build.
inline constexpr size_t kMaxRingNodes = 1u << 20;
inline constexpr uint64_t kMaxRingVnodes = 1u << 26;
inline constexpr uint32_t kMaxNodeWeight = 1u << 16;

// Index of a node in Ring::nodes(); kNoNode when the ring is empty.
inline constexpr uint32_t kNoNode = 0x7fffffffu;

// The largest replication factor: the longest preference list a cluster asks
// for, and the length Build precomputes for every vnode.
inline constexpr uint32_t kMaxReplication = 5;

class Ring {
 public:
  struct Vnode {
    uint64_t point;
    uint32_t owner;  // index into nodes()
    uint32_t index;  // the vnode's index within its node
  };

  // Validates and builds. Errors: empty or duplicate ids, weight 0 or above
  // kMaxNodeWeight, vnodes_per_weight 0, more than kMaxRingVnodes vnodes.
  // An empty node list builds an empty ring whose lookups return kNoNode.
  static StatusOr<std::shared_ptr<const Ring>> Build(std::vector<NodeSpec> nodes,
                                                     RingOptions options = {});

  // Index of the node owning `position`; kNoNode if the ring is empty.
  uint32_t OwnerIndex(uint64_t position) const {
    uint32_t entry = buckets_[position >> shift_];
    if (entry & kPureBit) return entry & ~kPureBit;
    const Vnode* v = &vnodes_[entry];
    while (v->point < position) ++v;  // the sentinel stops the scan
    return v->owner;
  }
  uint32_t OwnerIndexOfKey(std::string_view key) const {
    return OwnerIndex(HashKey(options_.hash, key));
  }
  // The owner's id; requires a non-empty ring.
  const std::string& Owner(uint64_t position) const { return nodes_[OwnerIndex(position)].id; }
  const std::string& OwnerOfKey(std::string_view key) const {
    return nodes_[OwnerIndexOfKey(key)].id;
  }
  uint64_t KeyPosition(std::string_view key) const { return HashKey(options_.hash, key); }

  // The preference list of `position` (its replicas, docs/design.md "Ring"):
  // the distinct nodes met walking the vnodes clockwise from the vnode that
  // owns the position, the owner first, so out[0] == OwnerIndex(position).
  // Fills the first min(out.size(), size()) entries of `out` and returns that
  // count; 0 on an empty ring. Allocates nothing. Lists longer than
  // kMaxReplication walk the ring comparing each vnode's owner with the nodes
  // found so far; PreferenceList suits long lists better.
  uint32_t Owners(uint64_t position, std::span<uint32_t> out) const {
    const auto want = static_cast<uint32_t>(std::min(out.size(), nodes_.size()));
    if (want == 0) return 0;
    const size_t vnode = OwningVnode(position);
    if (want > kMaxReplication) return Walk(vnode, out.first(want));
    const auto& owners = owner_rows_[vnode].owners;
    std::copy(owners.begin(), owners.begin() + want, out.begin());
    return want;
  }
  uint32_t OwnersOfKey(std::string_view key, std::span<uint32_t> out) const {
    return Owners(KeyPosition(key), out);
  }

  // Owners() for any n, as a vector of min(n, size()) node indices.
  std::vector<uint32_t> PreferenceList(uint64_t position, size_t n) const;

  // Index of the first vnode whose point is >= position (wrapping to 0).
  size_t VnodeAt(uint64_t position) const;

  bool empty() const { return nodes_.empty(); }
  size_t size() const { return nodes_.size(); }
  // Nodes sorted by id; OwnerIndex() indexes this.
  const std::vector<NodeSpec>& nodes() const { return nodes_; }
  // Index of node `id`, or kNoNode.
  uint32_t IndexOf(std::string_view id) const;
  // Vnodes sorted by point (no sentinel).
  std::span<const Vnode> vnodes() const { return {vnodes_.data(), vnodes_.size() - 1}; }
  const RingOptions& options() const { return options_; }
  uint32_t bucket_bits() const { return 64 - shift_; }

 private:
  static constexpr uint32_t kPureBit = 0x80000000u;

  Ring(std::vector<NodeSpec> nodes, RingOptions options);
  void PlaceVnodes();
  void BuildBuckets();
  void BuildOwnerRows();
  // Index of the vnode that owns `position` (its row); the sentinel's index
  // stands for vnode 0.
  size_t OwningVnode(uint64_t position) const {
    size_t i = row_index_[position >> row_shift_];
    while (owner_rows_[i].point < position) ++i;  // the sentinel stops the scan
    return i;
  }
  // Fills all of `out` with the distinct owners met walking from vnode
  // `start` on and returns out.size(); requires out.size() <= size().
  uint32_t Walk(size_t start, std::span<uint32_t> out) const;

  std::vector<NodeSpec> nodes_;
  RingOptions options_;
  std::vector<Vnode> vnodes_;     // sorted, plus a sentinel {UINT64_MAX, owner of vnodes_[0]}
  std::vector<uint32_t> buckets_;  // kPureBit | owner, or index of the bucket's first vnode

  // A vnode's point beside its preference list, so the scan for the owning
  // vnode and the copy read one cache line.
  struct OwnerRow {
    uint64_t point;
    std::array<uint32_t, kMaxReplication> owners;  // the first min(kMaxReplication, size()) set
  };
  std::vector<OwnerRow> owner_rows_;  // per vnode, plus a sentinel {UINT64_MAX, vnode 0's list}
  std::vector<uint32_t> row_index_;   // per 2^row_shift_ positions, the first row at or after
  uint32_t row_shift_ = 57;
  uint32_t shift_ = 56;
};

using RingPtr = std::shared_ptr<const Ring>;

}  // namespace ringkv::ring
