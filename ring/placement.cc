#include "ring/placement.h"

#include <algorithm>
#include <cmath>
#include <unordered_set>

namespace ringkv::ring {

namespace {

uint64_t Mix64(uint64_t x) {  // splitmix64 finaliser
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ULL;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebULL;
  x ^= x >> 31;
  return x;
}

class RingPlacement final : public Placement {
 public:
  RingPlacement(RingPtr ring, std::vector<uint32_t> to_input)
      : ring_(std::move(ring)), to_input_(std::move(to_input)) {}
  uint32_t Locate(uint64_t key_hash) const override {
    return to_input_[ring_->OwnerIndex(key_hash)];
  }
  Algorithm algorithm() const override { return Algorithm::kRing; }

 private:
  RingPtr ring_;
  std::vector<uint32_t> to_input_;  // ring index -> input index
};

class JumpPlacement final : public Placement {
 public:
  explicit JumpPlacement(uint32_t buckets) : buckets_(buckets) {}
  uint32_t Locate(uint64_t key_hash) const override { return JumpHash(key_hash, buckets_); }
  Algorithm algorithm() const override { return Algorithm::kJump; }

 private:
  uint32_t buckets_;
};

class MaglevPlacement final : public Placement {
 public:
  MaglevPlacement(const std::vector<NodeSpec>& nodes, const PlacementOptions& options,
                  uint64_t size) {
    Populate(nodes, options, size);
  }
  uint32_t Locate(uint64_t key_hash) const override {
    // Multiply-high maps the hash onto [0, M) without a 64-bit division.
    auto slot = static_cast<uint64_t>((static_cast<unsigned __int128>(key_hash) * table_.size()) >> 64);
    return table_[slot];
  }
  Algorithm algorithm() const override { return Algorithm::kMaglev; }

 private:
  void Populate(const std::vector<NodeSpec>& nodes, const PlacementOptions& options, uint64_t m) {
    // Fill in id order so the table does not depend on the input order.
    std::vector<uint32_t> order(nodes.size());
    for (uint32_t i = 0; i < order.size(); ++i) order[i] = i;
    std::sort(order.begin(), order.end(), [&](uint32_t a, uint32_t b) { return nodes[a].id < nodes[b].id; });
    std::vector<uint64_t> offset(nodes.size()), skip(nodes.size()), next(nodes.size(), 0);
    for (uint32_t i : order) {
      uint64_t h = HashKey(options.hash, nodes[i].id);
      offset[i] = h % m;
      skip[i] = Mix64(h) % (m - 1) + 1;
    }
    constexpr uint32_t kEmpty = UINT32_MAX;
    table_.assign(m, kEmpty);
    uint64_t filled = 0;
    while (filled < m) {
      for (uint32_t i : order) {
        for (uint32_t turn = 0; turn < nodes[i].weight && filled < m; ++turn) {
          uint64_t c = (offset[i] + next[i] * skip[i]) % m;
          while (table_[c] != kEmpty) c = (offset[i] + ++next[i] * skip[i]) % m;
          table_[c] = i;
          ++next[i];
          ++filled;
        }
      }
    }
  }

  std::vector<uint32_t> table_;
};

class RendezvousPlacement final : public Placement {
 public:
  RendezvousPlacement(const std::vector<NodeSpec>& nodes, const PlacementOptions& options) {
    for (const NodeSpec& n : nodes) {
      seeds_.push_back(HashKey(options.hash, n.id));
      weights_.push_back(static_cast<double>(n.weight));
      weighted_ = weighted_ || n.weight != nodes.front().weight;
    }
  }
  uint32_t Locate(uint64_t key_hash) const override {
    uint32_t best = 0;
    if (!weighted_) {
      uint64_t best_score = 0;
      for (uint32_t i = 0; i < seeds_.size(); ++i) {
        uint64_t s = Mix64(key_hash ^ seeds_[i]);
        if (s > best_score || i == 0) best_score = s, best = i;
      }
      return best;
    }
    double best_score = -1;
    for (uint32_t i = 0; i < seeds_.size(); ++i) {
      double u = (static_cast<double>(Mix64(key_hash ^ seeds_[i]) >> 11) + 0.5) * 0x1p-53;
      double s = weights_[i] / -std::log(u);
      if (s > best_score) best_score = s, best = i;
    }
    return best;
  }
  Algorithm algorithm() const override { return Algorithm::kRendezvous; }

 private:
  std::vector<uint64_t> seeds_;
  std::vector<double> weights_;
  bool weighted_ = false;
};

Status ValidateNodes(const std::vector<NodeSpec>& nodes) {
  if (nodes.empty()) return InvalidArgument("at least one node is required");
  std::unordered_set<std::string_view> ids;
  for (const NodeSpec& n : nodes) {
    if (n.id.empty()) return InvalidArgument("node id must not be empty");
    if (n.weight == 0 || n.weight > kMaxNodeWeight) return InvalidArgument("node '" + n.id + "': bad weight");
    if (!ids.insert(n.id).second) return InvalidArgument("duplicate node id '" + n.id + "'");
  }
  return OkStatus();
}

}  // namespace

std::string_view AlgorithmName(Algorithm a) {
  switch (a) {
    case Algorithm::kRing: return "ring";
    case Algorithm::kJump: return "jump";
    case Algorithm::kMaglev: return "maglev";
    case Algorithm::kRendezvous: return "rendezvous";
  }
  return "ring";
}

std::optional<Algorithm> ParseAlgorithm(std::string_view name) {
  for (Algorithm a : {Algorithm::kRing, Algorithm::kJump, Algorithm::kMaglev, Algorithm::kRendezvous}) {
    if (AlgorithmName(a) == name) return a;
  }
  return std::nullopt;
}

uint32_t JumpHash(uint64_t key, uint32_t buckets) {
  int64_t b = -1;
  int64_t j = 0;
  while (j < static_cast<int64_t>(buckets)) {
    b = j;
    key = key * 2862933555777941757ULL + 1;
    j = static_cast<int64_t>(static_cast<double>(b + 1) *
                             (static_cast<double>(int64_t{1} << 31) / static_cast<double>((key >> 33) + 1)));
  }
  return static_cast<uint32_t>(b);
}

bool IsPrime(uint64_t n) {
  if (n < 2) return false;
  for (uint64_t d = 2; d * d <= n; ++d) {
    if (n % d == 0) return false;
  }
  return true;
}

uint64_t NextPrime(uint64_t n) {
  while (!IsPrime(n)) ++n;
  return n;
}

StatusOr<std::unique_ptr<Placement>> MakePlacement(Algorithm algorithm, std::vector<NodeSpec> nodes,
                                                   const PlacementOptions& options) {
  if (Status s = ValidateNodes(nodes); !s.ok()) return s;
  switch (algorithm) {
    case Algorithm::kRing: {
      auto ring = Ring::Build(nodes, {.vnodes_per_weight = options.vnodes_per_weight, .hash = options.hash});
      if (!ring.ok()) return ring.status();
      std::vector<uint32_t> to_input(nodes.size());
      for (uint32_t i = 0; i < nodes.size(); ++i) to_input[(*ring)->IndexOf(nodes[i].id)] = i;
      return std::unique_ptr<Placement>(new RingPlacement(std::move(*ring), std::move(to_input)));
    }
    case Algorithm::kJump:
      return std::unique_ptr<Placement>(new JumpPlacement(static_cast<uint32_t>(nodes.size())));
    case Algorithm::kMaglev: {
      uint64_t m = options.maglev_table_size;
      if (m == 0) m = NextPrime(std::max<uint64_t>(65537, 100 * nodes.size()));
      if (!IsPrime(m)) return InvalidArgument("maglev table size must be prime, got " + std::to_string(m));
      if (m < nodes.size()) return InvalidArgument("maglev table size must be >= the node count");
      return std::unique_ptr<Placement>(new MaglevPlacement(nodes, options, m));
    }
    case Algorithm::kRendezvous:
      return std::unique_ptr<Placement>(new RendezvousPlacement(nodes, options));
  }
  return InvalidArgument("unknown algorithm");
}

}  // namespace ringkv::ring
