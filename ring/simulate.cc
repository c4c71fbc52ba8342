#include "ring/simulate.h"

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
  return result;
}

}  // namespace ringkv::ring
