// Placement: one small interface over ringkv's Ring and the reference
// algorithms it is compared with in `ringkv ring simulate` and ring_bench.
//
//  - ring:       the vnode ring (ring.h)
//  - jump:       Lamping & Veach jump consistent hash over the node list in the
//                given order; ignores weights; only adding or removing nodes
//                at the end of the list is minimal-movement
//  - maglev:     Eisenbud et al.'s lookup table of prime size M; weight w
//                takes w turns per filling round
//  - rendezvous: highest random weight; O(nodes) per lookup; weighted by
//                the logarithmic method
//
// Thread safety: immutable after construction; Locate is const and lock-free.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "ring/ring.h"

namespace ringkv::ring {

enum class Algorithm : uint8_t { kRing, kJump, kMaglev, kRendezvous };

std::string_view AlgorithmName(Algorithm a);
std::optional<Algorithm> ParseAlgorithm(std::string_view name);

struct PlacementOptions {
  uint32_t vnodes_per_weight = 160;  // ring only
  HashKind hash = HashKind::kXxh3;   // vnode positions (ring) and node seeds
  uint64_t maglev_table_size = 0;    // must be prime; 0 = smallest prime >= max(65537, 100 * nodes)
};

class Placement {
 public:
  virtual ~Placement() = default;
  // Index, in the node list given to MakePlacement, of the node for a key
  // whose hash is `key_hash`. Requires at least one node.
  virtual uint32_t Locate(uint64_t key_hash) const = 0;
  virtual Algorithm algorithm() const = 0;
};

StatusOr<std::unique_ptr<Placement>> MakePlacement(Algorithm algorithm, std::vector<NodeSpec> nodes,
                                                   const PlacementOptions& options = {});

// Jump consistent hash: a bucket in [0, buckets) for `key`; buckets >= 1.
uint32_t JumpHash(uint64_t key, uint32_t buckets);

bool IsPrime(uint64_t n);
uint64_t NextPrime(uint64_t n);  // smallest prime >= n

}  // namespace ringkv::ring
