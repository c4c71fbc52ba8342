// Portable SHA-512 compression, written from FIPS 180-4 section 6.4.
#include <bit>

#include "jobs/internal/sha2.h"

#define RINGKV_INLINE inline __attribute__((always_inline))

namespace ringkv::jobs::internal {
namespace {

// FIPS 180-4 4.2.3: the first 64 bits of the fractional parts of the cube
// roots of the first 80 primes.
alignas(64) constexpr uint64_t kK[80] = {
    0x428a2f98d728ae22ULL, 0x7137449123ef65cdULL, 0xb5c0fbcfec4d3b2fULL, 0xe9b5dba58189dbbcULL,
    0x3956c25bf348b538ULL, 0x59f111f1b605d019ULL, 0x923f82a4af194f9bULL, 0xab1c5ed5da6d8118ULL,
    0xd807aa98a3030242ULL, 0x12835b0145706fbeULL, 0x243185be4ee4b28cULL, 0x550c7dc3d5ffb4e2ULL,
    0x72be5d74f27b896fULL, 0x80deb1fe3b1696b1ULL, 0x9bdc06a725c71235ULL, 0xc19bf174cf692694ULL,
    0xe49b69c19ef14ad2ULL, 0xefbe4786384f25e3ULL, 0x0fc19dc68b8cd5b5ULL, 0x240ca1cc77ac9c65ULL,
    0x2de92c6f592b0275ULL, 0x4a7484aa6ea6e483ULL, 0x5cb0a9dcbd41fbd4ULL, 0x76f988da831153b5ULL,
    0x983e5152ee66dfabULL, 0xa831c66d2db43210ULL, 0xb00327c898fb213fULL, 0xbf597fc7beef0ee4ULL,
    0xc6e00bf33da88fc2ULL, 0xd5a79147930aa725ULL, 0x06ca6351e003826fULL, 0x142929670a0e6e70ULL,
    0x27b70a8546d22ffcULL, 0x2e1b21385c26c926ULL, 0x4d2c6dfc5ac42aedULL, 0x53380d139d95b3dfULL,
    0x650a73548baf63deULL, 0x766a0abb3c77b2a8ULL, 0x81c2c92e47edaee6ULL, 0x92722c851482353bULL,
    0xa2bfe8a14cf10364ULL, 0xa81a664bbc423001ULL, 0xc24b8b70d0f89791ULL, 0xc76c51a30654be30ULL,
    0xd192e819d6ef5218ULL, 0xd69906245565a910ULL, 0xf40e35855771202aULL, 0x106aa07032bbd1b8ULL,
    0x19a4c116b8d2d0c8ULL, 0x1e376c085141ab53ULL, 0x2748774cdf8eeb99ULL, 0x34b0bcb5e19b48a8ULL,
    0x391c0cb3c5c95a63ULL, 0x4ed8aa4ae3418acbULL, 0x5b9cca4f7763e373ULL, 0x682e6ff3d6b2b8a3ULL,
    0x748f82ee5defb2fcULL, 0x78a5636f43172f60ULL, 0x84c87814a1f0ab72ULL, 0x8cc702081a6439ecULL,
    0x90befffa23631e28ULL, 0xa4506cebde82bde9ULL, 0xbef9a3f7b2c67915ULL, 0xc67178f2e372532bULL,
    0xca273eceea26619cULL, 0xd186b8c721c0c207ULL, 0xeada7dd6cde0eb1eULL, 0xf57d4f7fee6ed178ULL,
    0x06f067aa72176fbaULL, 0x0a637dc5a2c898a6ULL, 0x113f9804bef90daeULL, 0x1b710b35131c471bULL,
    0x28db77f523047d84ULL, 0x32caab7b40c72493ULL, 0x3c9ebe0a15c9bebcULL, 0x431d67c49c100d4cULL,
    0x4cc5d4becb3e42b6ULL, 0x597f299cfc657e2aULL, 0x5fcb6fab3ad6faecULL, 0x6c44198c4a475817ULL,
};

RINGKV_INLINE uint64_t BigSigma0(uint64_t x) {
  return std::rotr(x, 28) ^ std::rotr(x, 34) ^ std::rotr(x, 39);
}
RINGKV_INLINE uint64_t BigSigma1(uint64_t x) {
  return std::rotr(x, 14) ^ std::rotr(x, 18) ^ std::rotr(x, 41);
}
RINGKV_INLINE uint64_t SmallSigma0(uint64_t x) {
  return std::rotr(x, 1) ^ std::rotr(x, 8) ^ (x >> 7);
}
RINGKV_INLINE uint64_t SmallSigma1(uint64_t x) {
  return std::rotr(x, 19) ^ std::rotr(x, 61) ^ (x >> 6);
}
RINGKV_INLINE uint64_t Ch(uint64_t e, uint64_t f, uint64_t g) {
  return ((f ^ g) & e) ^ g;
}
RINGKV_INLINE uint64_t Maj(uint64_t a, uint64_t b, uint64_t c) {
  return ((a | b) & c) | (a & b);
}

// One round. The new e is ready Sigma1(e) plus one add after e: the terms that
// do not depend on e are summed first, off the critical path.
#define RINGKV_ROUND(a, b, c, d, e, f, g, h, kw) \
  do {                                           \
    uint64_t rt = h + (kw) + Ch(e, f, g);        \
    uint64_t s1 = BigSigma1(e);                  \
    d = (d + rt) + s1;                           \
    h = (rt + BigSigma0(a) + Maj(a, b, c)) + s1; \
  } while (0)

// The message word for round t >= 16, in a 16-word ring.
#define RINGKV_SCHEDULE(w, i) \
  (w[i] += SmallSigma1(w[((i) + 14) & 15]) + w[((i) + 9) & 15] + SmallSigma0(w[((i) + 1) & 15]))

#define RINGKV_EIGHT_ROUNDS(W, base)                                      \
  RINGKV_ROUND(a, b, c, d, e, f, g, h, kK[t + (base) + 0] + W(base + 0)); \
  RINGKV_ROUND(h, a, b, c, d, e, f, g, kK[t + (base) + 1] + W(base + 1)); \
  RINGKV_ROUND(g, h, a, b, c, d, e, f, kK[t + (base) + 2] + W(base + 2)); \
  RINGKV_ROUND(f, g, h, a, b, c, d, e, kK[t + (base) + 3] + W(base + 3)); \
  RINGKV_ROUND(e, f, g, h, a, b, c, d, kK[t + (base) + 4] + W(base + 4)); \
  RINGKV_ROUND(d, e, f, g, h, a, b, c, kK[t + (base) + 5] + W(base + 5)); \
  RINGKV_ROUND(c, d, e, f, g, h, a, b, kK[t + (base) + 6] + W(base + 6)); \
  RINGKV_ROUND(b, c, d, e, f, g, h, a, kK[t + (base) + 7] + W(base + 7))

// Compresses block w (clobbered: it becomes the ring of late message words)
// into s. Fully unrolled so every ring index is a constant and w lives in
// registers; when the caller's w has constant words (the chain's padding),
// the compiler folds them into the round constants.
RINGKV_INLINE void Compress(uint64_t s[8], uint64_t w[16]) {
  uint64_t a = s[0], b = s[1], c = s[2], d = s[3], e = s[4], f = s[5], g = s[6], h = s[7];
#define RINGKV_W_PLAIN(i) w[i]
#define RINGKV_W_SCHED(i) RINGKV_SCHEDULE(w, i)
  {
    constexpr int t = 0;
    RINGKV_EIGHT_ROUNDS(RINGKV_W_PLAIN, 0);
    RINGKV_EIGHT_ROUNDS(RINGKV_W_PLAIN, 8);
  }
#pragma GCC unroll 4
  for (int t = 16; t < 80; t += 16) {
    RINGKV_EIGHT_ROUNDS(RINGKV_W_SCHED, 0);
    RINGKV_EIGHT_ROUNDS(RINGKV_W_SCHED, 8);
  }
#undef RINGKV_W_PLAIN
#undef RINGKV_W_SCHED
  s[0] += a;
  s[1] += b;
  s[2] += c;
  s[3] += d;
  s[4] += e;
  s[5] += f;
  s[6] += g;
  s[7] += h;
}

}  // namespace

Sha512Words Sha512Compress(Sha512Words state, const Sha512Block& block) {
  uint64_t w[16];
  for (int i = 0; i < 16; ++i) w[i] = block[i];
  Compress(state.data(), w);
  return state;
}

Sha512Words Sha512ChainPortable(Sha512Words digest, uint64_t rounds) {
  for (uint64_t r = 0; r < rounds; ++r) {
    uint64_t w[16] = {digest[0], digest[1], digest[2],
                      digest[3], digest[4], digest[5],
                      digest[6], digest[7], 0x8000000000000000ULL,
                      0,         0,         0,
                      0,         0,         0,
                      512};
    uint64_t s[8] = {kSha512Iv[0], kSha512Iv[1], kSha512Iv[2], kSha512Iv[3],
                     kSha512Iv[4], kSha512Iv[5], kSha512Iv[6], kSha512Iv[7]};
    Compress(s, w);
    for (int i = 0; i < 8; ++i) digest[i] = s[i];
  }
  return digest;
}

}  // namespace ringkv::jobs::internal
