// Picks the chain implementation: the fastest measured on this machine class.
#include "jobs/internal/sha2.h"

namespace ringkv::jobs::internal {

Sha512Words Sha512Chain(Sha512Words digest, uint64_t rounds) {
  return Sha512ChainPortable(digest, rounds);
}

void Sha512ChainBatch(std::span<Sha512Words> digests, uint64_t rounds) {
  for (Sha512Words& d : digests) d = Sha512Chain(d, rounds);
}

}  // namespace ringkv::jobs::internal
