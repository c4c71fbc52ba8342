// Helpers shared by the ring tests: node lists and key samples.
#pragma once

#include <string>
#include <vector>

#include "ring/ring.h"

namespace ringkv::ring::testing {

// "node-<first>", ..., "node-<first + n - 1>", weight 1.
inline std::vector<NodeSpec> Nodes(size_t n, size_t first = 0) {
  std::vector<NodeSpec> out;
  for (size_t i = first; i < first + n; ++i) out.push_back({"node-" + std::to_string(i), 1});
  return out;
}

inline RingPtr MustBuild(std::vector<NodeSpec> nodes, RingOptions options = {}) {
  auto r = Ring::Build(std::move(nodes), options);
  if (!r.ok()) throw std::runtime_error(r.status().ToString());
  return *r;
}

// Deterministic pseudo-random positions (splitmix64 sequence).
inline std::vector<uint64_t> SamplePositions(size_t n, uint64_t seed = 1) {
  std::vector<uint64_t> out(n);
  uint64_t x = seed;
  for (auto& p : out) {
    uint64_t z = (x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    p = z ^ (z >> 31);
  }
  return out;
}

}  // namespace ringkv::ring::testing
