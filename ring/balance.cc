#include "ring/balance.h"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace ringkv::ring {

namespace {

Balance FromShares(std::vector<double> share, const std::vector<uint32_t>& weights) {
  Balance b;
  b.share = std::move(share);
  if (b.share.empty()) return b;
  double total_weight = std::accumulate(weights.begin(), weights.end(), 0.0);
  b.load.resize(b.share.size());
  for (size_t i = 0; i < b.share.size(); ++i) b.load[i] = b.share[i] * total_weight / weights[i];
  double mean = std::accumulate(b.load.begin(), b.load.end(), 0.0) / static_cast<double>(b.load.size());
  double var = 0;
  for (double l : b.load) var += (l - mean) * (l - mean);
  var /= static_cast<double>(b.load.size());
  auto [mn, mx] = std::minmax_element(b.load.begin(), b.load.end());
  b.max_over_mean = *mx / mean;
  b.min_over_mean = *mn / mean;
  b.cv = std::sqrt(var) / mean;
  return b;
}

std::vector<uint32_t> Weights(const Ring& ring) {
  std::vector<uint32_t> w;
  w.reserve(ring.size());
  for (const NodeSpec& n : ring.nodes()) w.push_back(n.weight);
  return w;
}

}  // namespace

Balance BalanceFromArcs(const Ring& ring, uint32_t replication) {
  std::vector<double> share(ring.size(), 0.0);
  auto vnodes = ring.vnodes();
  if (vnodes.empty()) return {};
  constexpr double kRing = 18446744073709551616.0;  // 2^64
  std::vector<uint32_t> owners(std::min<size_t>(std::max(replication, 1u), ring.size()));
  const double per_copy = 1.0 / static_cast<double>(owners.size());
  for (size_t i = 0; i < vnodes.size(); ++i) {
    // Vnode i owns (point[i-1], point[i]]; vnode 0 owns the arc across 0.
    uint64_t prev = vnodes[i == 0 ? vnodes.size() - 1 : i - 1].point;
    uint64_t len = vnodes[i].point - prev;  // unsigned wrap is the arc length
    double fraction = vnodes.size() == 1 ? 1.0 : static_cast<double>(len) / kRing;
    ring.Owners(vnodes[i].point, owners);
    for (uint32_t node : owners) share[node] += fraction * per_copy;
  }
  return FromShares(std::move(share), Weights(ring));
}

Balance BalanceFromCounts(const std::vector<uint64_t>& counts, const std::vector<uint32_t>& weights) {
  double total = static_cast<double>(std::accumulate(counts.begin(), counts.end(), uint64_t{0}));
  std::vector<double> share(counts.size(), 0.0);
  if (total > 0) {
    for (size_t i = 0; i < counts.size(); ++i) share[i] = static_cast<double>(counts[i]) / total;
  }
  return FromShares(std::move(share), weights);
}

}  // namespace ringkv::ring
