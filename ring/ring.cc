#include "ring/ring.h"

#include <algorithm>
#include <bit>
#include <string>

namespace ringkv::ring {

namespace {

Status Validate(const std::vector<NodeSpec>& nodes, const RingOptions& options) {
  if (options.vnodes_per_weight == 0) return InvalidArgument("vnodes must be >= 1");
  if (options.bucket_bits > 26) return InvalidArgument("bucket_bits must be <= 26");
  if (nodes.size() > kMaxRingNodes) {
    return InvalidArgument("too many nodes: " + std::to_string(nodes.size()) + " (max " +
                           std::to_string(kMaxRingNodes) + ")");
  }
  uint64_t total = 0;
  for (size_t i = 0; i < nodes.size(); ++i) {
    const NodeSpec& n = nodes[i];
    if (n.id.empty()) return InvalidArgument("node id must not be empty");
    if (n.weight == 0 || n.weight > kMaxNodeWeight) {
      return InvalidArgument("node '" + n.id + "': weight must be in [1, " +
                             std::to_string(kMaxNodeWeight) + "]");
    }
    if (i > 0 && nodes[i - 1].id == n.id) return InvalidArgument("duplicate node id '" + n.id + "'");
    total += uint64_t{n.weight} * options.vnodes_per_weight;
  }
  if (total > kMaxRingVnodes) {
    return InvalidArgument("ring would have " + std::to_string(total) + " vnodes (max " +
                           std::to_string(kMaxRingVnodes) + ")");
  }
  return OkStatus();
}

uint32_t DefaultBucketBits(size_t vnodes) {
  // About 4-8 buckets per vnode keeps ~85% of buckets single-owner.
  uint32_t bits = static_cast<uint32_t>(std::bit_width(vnodes)) + 2;
  return std::clamp<uint32_t>(bits, 8, 22);
}

}  // namespace

StatusOr<std::shared_ptr<const Ring>> Ring::Build(std::vector<NodeSpec> nodes,
                                                  RingOptions options) {
  std::sort(nodes.begin(), nodes.end(),
            [](const NodeSpec& a, const NodeSpec& b) { return a.id < b.id; });
  if (Status s = Validate(nodes, options); !s.ok()) return s;
  return std::shared_ptr<const Ring>(new Ring(std::move(nodes), options));
}

Ring::Ring(std::vector<NodeSpec> nodes, RingOptions options)
    : nodes_(std::move(nodes)), options_(options) {
  PlaceVnodes();
  BuildBuckets();
  BuildOwnerRows();
}

void Ring::PlaceVnodes() {
  size_t total = 0;
  for (const NodeSpec& n : nodes_) total += size_t{n.weight} * options_.vnodes_per_weight;
  vnodes_.reserve(total + 1);
  for (uint32_t owner = 0; owner < nodes_.size(); ++owner) {
    uint32_t count = nodes_[owner].weight * options_.vnodes_per_weight;
    for (uint32_t i = 0; i < count; ++i) {
      vnodes_.push_back({VnodePosition(options_.hash, nodes_[owner].id, i), owner, i});
    }
  }
  std::sort(vnodes_.begin(), vnodes_.end(), [](const Vnode& a, const Vnode& b) {
    return a.point != b.point ? a.point < b.point : a.owner < b.owner;
  });
  uint32_t wrap_owner = vnodes_.empty() ? kNoNode : vnodes_.front().owner;
  vnodes_.push_back({UINT64_MAX, wrap_owner, 0});
}

void Ring::BuildBuckets() {
  uint32_t bits = options_.bucket_bits ? options_.bucket_bits : DefaultBucketBits(vnodes_.size());
  shift_ = 64 - bits;
  buckets_.assign(size_t{1} << bits, 0);
  size_t first = 0;  // first vnode with point >= bucket start
  for (size_t b = 0; b < buckets_.size(); ++b) {
    uint64_t start = uint64_t{b} << shift_;
    uint64_t last = start | ((uint64_t{1} << shift_) - 1);
    while (vnodes_[first].point < start) ++first;
    // Every position in the bucket maps to a vnode in [first, end]: `end` is
    // the first vnode at or after the bucket's last position.
    size_t end = first;
    bool pure = true;
    while (vnodes_[end].point < last) {
      ++end;
      pure = pure && vnodes_[end].owner == vnodes_[first].owner;
    }
    buckets_[b] = pure ? (kPureBit | vnodes_[first].owner) : static_cast<uint32_t>(first);
  }
}

size_t Ring::VnodeAt(uint64_t position) const {
  const size_t i = OwningVnode(position);
  return i == vnodes_.size() - 1 ? 0 : i;
}

void Ring::BuildOwnerRows() {
  static_assert(sizeof(OwnerRow) == 32, "two rows per cache line");
  const size_t count = vnodes_.size() - 1;
  owner_rows_.resize(count + 1);
  for (size_t i = 0; i <= count; ++i) owner_rows_[i] = {vnodes_[i].point, {}};
  const size_t width = std::min<size_t>(kMaxReplication, nodes_.size());
  if (count > 0) {
    const auto owners = [&](size_t i) { return std::span(owner_rows_[i].owners).first(width); };
    Walk(count - 1, owners(count - 1));
    // Vnode i's list is its owner, then vnode i+1's list without that owner.
    for (size_t i = count - 1; i-- > 0;) {
      std::span<uint32_t> mine = owners(i);
      std::span<const uint32_t> next = owners(i + 1);
      mine[0] = vnodes_[i].owner;
      for (size_t k = 0, found = 1; found < width; ++k) {
        if (next[k] != mine[0]) mine[found++] = next[k];
      }
    }
    owner_rows_[count].owners = owner_rows_[0].owners;
  }
  // Half the bucket table: 2-4 entries per vnode at the default size, small
  // enough to stay in cache longer, at the cost of scanning a row more.
  const uint32_t bits = std::max(bucket_bits(), 2u) - 1;
  row_shift_ = 64 - bits;
  row_index_.assign(size_t{1} << bits, 0);
  size_t first = 0;
  for (size_t b = 0; b < row_index_.size(); ++b) {
    while (owner_rows_[first].point < (uint64_t{b} << row_shift_)) ++first;
    row_index_[b] = static_cast<uint32_t>(first);
  }
}

uint32_t Ring::Walk(size_t start, std::span<uint32_t> out) const {
  const size_t count = vnodes_.size() - 1;
  size_t found = 0;
  // Ends because every node has a vnode and out.size() <= size().
  for (size_t i = start % count; found < out.size(); i = (i + 1 == count ? 0 : i + 1)) {
    const uint32_t owner = vnodes_[i].owner;
    const auto known = out.first(found);
    if (std::find(known.begin(), known.end(), owner) == known.end()) out[found++] = owner;
  }
  return static_cast<uint32_t>(found);
}

std::vector<uint32_t> Ring::PreferenceList(uint64_t position, size_t n) const {
  std::vector<uint32_t> out(std::min(n, nodes_.size()));
  if (out.size() <= kMaxReplication) {
    Owners(position, out);
    return out;
  }
  // A long list: a bitmap instead of comparing with every node found so far.
  std::vector<bool> seen(nodes_.size(), false);
  const size_t count = vnodes_.size() - 1;
  size_t found = 0;
  for (size_t i = OwningVnode(position) % count; found < out.size();
       i = (i + 1 == count ? 0 : i + 1)) {
    const uint32_t owner = vnodes_[i].owner;
    if (!seen[owner]) {
      seen[owner] = true;
      out[found++] = owner;
    }
  }
  return out;
}

uint32_t Ring::IndexOf(std::string_view id) const {
  auto it = std::lower_bound(nodes_.begin(), nodes_.end(), id,
                             [](const NodeSpec& n, std::string_view v) { return n.id < v; });
  if (it == nodes_.end() || it->id != id) return kNoNode;
  return static_cast<uint32_t>(it - nodes_.begin());
}

}  // namespace ringkv::ring
