// SHA-512 and SHA-256 compression functions (FIPS 180-4) and the fixed-size
// chain the hash work runs after its first round.
//
// A digest is kept as its eight state words. The big-endian serialisation of
// a digest is exactly the big-endian message words of the next block, so a
// chain round needs no byte swapping: the block is the previous digest's words
// followed by constant padding (0x80 marker, zeros, bit length 512 or 256).
//
// Thread safety: pure functions.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

namespace ringkv::jobs::internal {

using Sha512Words = std::array<uint64_t, 8>;
using Sha256Words = std::array<uint32_t, 8>;
using Sha512Block = std::array<uint64_t, 16>;
using Sha256Block = std::array<uint32_t, 16>;

inline constexpr Sha512Words kSha512Iv = {
    0x6a09e667f3bcc908ULL, 0xbb67ae8584caa73bULL, 0x3c6ef372fe94f82bULL, 0xa54ff53a5f1d36f1ULL,
    0x510e527fade682d1ULL, 0x9b05688c2b3e6c1fULL, 0x1f83d9abfb41bd6bULL, 0x5be0cd19137e2179ULL,
};
inline constexpr Sha256Words kSha256Iv = {
    0x6a09e667U, 0xbb67ae85U, 0x3c6ef372U, 0xa54ff53aU,
    0x510e527fU, 0x9b05688cU, 0x1f83d9abU, 0x5be0cd19U,
};

// One compression of a block (already decoded to big-endian words) into a
// state: the portable C++ implementation.
Sha512Words Sha512Compress(Sha512Words state, const Sha512Block& block);
Sha256Words Sha256Compress(Sha256Words state, const Sha256Block& block);

// Applies the hash `rounds` more times to a digest: d = H(d), each H over the
// 64-byte (or 32-byte) serialisation of d. The fastest available code.
Sha512Words Sha512Chain(Sha512Words digest, uint64_t rounds);
Sha256Words Sha256Chain(Sha256Words digest, uint64_t rounds);

// The same chain through the portable compression function only, and through
// OpenSSL's (deprecated, assembly) SHA512_Transform on the pre-padded block;
// kept for tests and benchmarks.
Sha512Words Sha512ChainPortable(Sha512Words digest, uint64_t rounds);
Sha512Words Sha512ChainOpenSsl(Sha512Words digest, uint64_t rounds);

// Runs independent chains side by side (multi-buffer), each as Sha512Chain
// would; a worker uses it to interleave several jobs with equal iterations.
void Sha512ChainBatch(std::span<Sha512Words> digests, uint64_t rounds);

}  // namespace ringkv::jobs::internal
