// Picks the chain implementations by CPU features and by what was measured
// (bench/jobs_hash_bench): see Sha512Chain and Sha512ChainBatch below.
#include <algorithm>
#include <array>

#include "jobs/internal/sha2.h"
#include "jobs/internal/sha512_lanes.h"

namespace ringkv::jobs::internal {

bool CpuHasAvx512() {
  static const bool has = __builtin_cpu_supports("avx512f");
  return has;
}

// One chain is latency-bound. OpenSSL's assembly block function computes the
// message schedule in vector registers beside the scalar rounds and measured
// about 25% faster here than the portable C++ (8.2M vs 6.5M iterations/s on
// one Zen 5 core), so it runs the single chain.
Sha512Words Sha512Chain(Sha512Words digest, uint64_t rounds) {
  return Sha512ChainOpenSsl(digest, rounds);
}

void Sha512ChainBatch(std::span<Sha512Words> digests, uint64_t rounds) {
  // Eight lanes cost about as much as three single chains, so a partial
  // group of three or more is still worth a vector pass (the idle lanes
  // compute throwaway chains).
  constexpr size_t kMinLanes = 3;
  while (CpuHasAvx512() && digests.size() >= kMinLanes) {
    std::array<Sha512Words, 8> group{};
    size_t n = std::min<size_t>(8, digests.size());
    for (size_t i = 0; i < n; ++i) group[i] = digests[i];
    Sha512ChainAvx512x8(group, rounds);
    for (size_t i = 0; i < n; ++i) digests[i] = group[i];
    digests = digests.subspan(n);
  }
  for (Sha512Words& d : digests) d = Sha512Chain(d, rounds);
}

}  // namespace ringkv::jobs::internal
