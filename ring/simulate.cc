#include "ring/simulate.h"

#include <algorithm>
#include <array>
#include <span>
#include <string>

namespace ringkv::ring {

namespace {

std::vector<NodeSpec> NamedNodes(size_t n) {
  std::vector<NodeSpec> out;
  out.reserve(n);
  for (size_t i = 0; i < n; ++i) out.push_back({"node-" + std::to_string(i), 1});
  return out;
}

std::vector<uint64_t> KeyHashes(size_t n, HashKind hash) {
  std::vector<uint64_t> out;
  out.reserve(n);
  std::string key;
  for (size_t i = 0; i < n; ++i) {
    key = "key:" + std::to_string(i);
    out.push_back(HashKey(hash, key));
  }
  return out;
}

Status Validate(const SimulateOptions& o) {
  if (o.nodes == 0 || o.nodes > kMaxRingNodes) {
    return InvalidArgument("--nodes must be in [1, " + std::to_string(kMaxRingNodes) + "]");
  }
  if (o.vnodes == 0) return InvalidArgument("--vnodes must be >= 1");
  if (uint64_t{o.vnodes} * (o.nodes + o.add) > kMaxRingVnodes) {
    return InvalidArgument("nodes x vnodes must be <= " + std::to_string(kMaxRingVnodes));
  }
  if (o.keys == 0 || o.keys > kMaxSimulateKeys) {
    return InvalidArgument("--keys must be in [1, " + std::to_string(kMaxSimulateKeys) + "]");
  }
  if (o.add > kMaxRingNodes - o.nodes) return InvalidArgument("--add makes too many nodes");
  if (o.remove >= o.nodes) return InvalidArgument("--remove must leave at least one node");
  if (o.replication == 0 || o.replication > kMaxReplication) {
    return InvalidArgument("--replication must be in [1, " + std::to_string(kMaxReplication) +
                           "] (got " + std::to_string(o.replication) + ")");
  }
  if (o.replication > 1 && o.algorithm != Algorithm::kRing) {
    return InvalidArgument("--replication above 1 needs --algo ring");
  }
  return OkStatus();
}

// Placement of every key under `nodes`.
StatusOr<std::vector<uint32_t>> Place(const SimulateOptions& o, size_t nodes,
                                      const std::vector<uint64_t>& hashes) {
  PlacementOptions po{.vnodes_per_weight = o.vnodes, .hash = o.hash};
  auto p = MakePlacement(o.algorithm, NamedNodes(nodes), po);
  if (!p.ok()) return p.status();
  std::vector<uint32_t> out(hashes.size());
  for (size_t i = 0; i < hashes.size(); ++i) out[i] = (*p)->Locate(hashes[i]);
  return out;
}

// Compares placements; nodes with index < `kept` exist on both sides.
MoveResult CompareMoves(const std::vector<uint32_t>& a, const std::vector<uint32_t>& b, size_t kept) {
  MoveResult r;
  for (size_t i = 0; i < a.size(); ++i) {
    if (a[i] == b[i]) continue;
    ++r.moved;
    if (a[i] < kept && b[i] < kept) ++r.stray;
  }
  r.fraction = static_cast<double>(r.moved) / static_cast<double>(a.size());
  return r;
}

// A ring over node-0 .. node-(n-1) that names replicas by node number, so
// lists from rings of different sizes compare.
class NumberedRing {
 public:
  static StatusOr<NumberedRing> Build(const SimulateOptions& o, size_t nodes) {
    auto ring = Ring::Build(NamedNodes(nodes), {.vnodes_per_weight = o.vnodes, .hash = o.hash});
    if (!ring.ok()) return ring.status();
    std::vector<uint32_t> number(nodes);
    for (uint32_t i = 0; i < nodes; ++i) number[(*ring)->IndexOf("node-" + std::to_string(i))] = i;
    return NumberedRing(std::move(*ring), std::move(number));
  }

  // The key's replicas as node numbers, in `out`; returns how many.
  uint32_t Replicas(uint64_t key_hash, std::span<uint32_t> out) const {
    const uint32_t n = ring_->Owners(key_hash, out);
    for (uint32_t i = 0; i < n; ++i) out[i] = number_[out[i]];
    return n;
  }
  const Ring& ring() const { return *ring_; }

 private:
  NumberedRing(RingPtr ring, std::vector<uint32_t> number)
      : ring_(std::move(ring)), number_(std::move(number)) {}

  RingPtr ring_;
  std::vector<uint32_t> number_;  // ring index -> node number
};

using ReplicaList = std::array<uint32_t, kMaxReplication>;

// Entries of a[0, na) missing from b[0, nb).
uint32_t Missing(const ReplicaList& a, uint32_t na, const ReplicaList& b, uint32_t nb) {
  return static_cast<uint32_t>(std::count_if(a.begin(), a.begin() + na, [&](uint32_t x) {
    return std::find(b.begin(), b.begin() + nb, x) == b.begin() + nb;
  }));
}

ReplicaMoves CompareReplicas(const NumberedRing& a, const NumberedRing& b,
                             const std::vector<uint64_t>& hashes, uint32_t replication) {
  ReplicaMoves m;
  ReplicaList x{};
  ReplicaList y{};
  for (uint64_t h : hashes) {
    const uint32_t nx = a.Replicas(h, std::span(x).first(replication));
    const uint32_t ny = b.Replicas(h, std::span(y).first(replication));
    const uint32_t gained = Missing(y, ny, x, nx);
    const uint32_t lost = Missing(x, nx, y, ny);
    m.changed += (gained + lost) > 0;
    m.copies += gained;
    m.dropped += lost;
  }
  m.fraction = static_cast<double>(m.changed) / static_cast<double>(hashes.size());
  return m;
}

struct ReplicaStats {
  Balance copies;
  Balance copies_arcs;
  std::optional<ReplicaMoves> added;
  std::optional<ReplicaMoves> removed;
};

StatusOr<ReplicaStats> MeasureReplicas(const SimulateOptions& o,
                                       const std::vector<uint64_t>& hashes) {
  const uint32_t r = o.replication;
  auto base = NumberedRing::Build(o, o.nodes);
  if (!base.ok()) return base.status();
  ReplicaStats stats;
  std::vector<uint64_t> counts(o.nodes, 0);
  ReplicaList list{};
  for (uint64_t h : hashes) {
    const uint32_t n = base->Replicas(h, std::span(list).first(r));
    for (uint32_t i = 0; i < n; ++i) ++counts[list[i]];
  }
  stats.copies = BalanceFromCounts(counts, std::vector<uint32_t>(o.nodes, 1));
  stats.copies_arcs = BalanceFromArcs(base->ring(), r);
  const auto listed = [r](size_t nodes) { return static_cast<double>(std::min<size_t>(r, nodes)); };
  const auto n = static_cast<double>(o.nodes);
  if (o.add > 0) {
    auto grown = NumberedRing::Build(o, o.nodes + o.add);
    if (!grown.ok()) return grown.status();
    stats.added = CompareReplicas(*base, *grown, hashes, r);
    const auto m = static_cast<double>(o.add);
    stats.added->ideal = listed(o.nodes + o.add) * m / (n + m);
  }
  if (o.remove > 0) {
    auto shrunk = NumberedRing::Build(o, o.nodes - o.remove);
    if (!shrunk.ok()) return shrunk.status();
    stats.removed = CompareReplicas(*base, *shrunk, hashes, r);
    const auto m = static_cast<double>(o.remove);
    stats.removed->ideal = listed(o.nodes - o.remove) - listed(o.nodes) * (n - m) / n;
  }
  return stats;
}

}  // namespace

StatusOr<SimulateResult> Simulate(const SimulateOptions& o) {
  if (Status s = Validate(o); !s.ok()) return s;
  SimulateResult result;
  result.options = o;
  std::vector<uint64_t> hashes = KeyHashes(o.keys, o.hash);
  auto base = Place(o, o.nodes, hashes);
  if (!base.ok()) return base.status();

  std::vector<uint64_t> counts(o.nodes, 0);
  for (uint32_t n : *base) ++counts[n];
  result.balance = BalanceFromCounts(counts, std::vector<uint32_t>(o.nodes, 1));
  if (o.algorithm == Algorithm::kRing) {
    auto ring = Ring::Build(NamedNodes(o.nodes), {.vnodes_per_weight = o.vnodes, .hash = o.hash});
    if (!ring.ok()) return ring.status();
    result.arcs = BalanceFromArcs(**ring);
  }
  if (o.add > 0) {
    auto grown = Place(o, o.nodes + o.add, hashes);
    if (!grown.ok()) return grown.status();
    MoveResult m = CompareMoves(*base, *grown, o.nodes);
    m.nodes_changed = o.add;
    m.ideal = static_cast<double>(o.add) / static_cast<double>(o.nodes + o.add);
    result.added = m;
  }
  if (o.remove > 0) {
    auto shrunk = Place(o, o.nodes - o.remove, hashes);
    if (!shrunk.ok()) return shrunk.status();
    MoveResult m = CompareMoves(*base, *shrunk, o.nodes - o.remove);
    m.nodes_changed = o.remove;
    m.ideal = static_cast<double>(o.remove) / static_cast<double>(o.nodes);
    result.removed = m;
  }
  if (o.replication > 1) {
    auto stats = MeasureReplicas(o, hashes);
    if (!stats.ok()) return stats.status();
    result.copies = std::move(stats->copies);
    result.copies_arcs = std::move(stats->copies_arcs);
    if (result.added) result.added->replicas = stats->added;
    if (result.removed) result.removed->replicas = stats->removed;
  }
  return result;
}

}  // namespace ringkv::ring
