// Portable SHA-512 compression, written from FIPS 180-4 section 6.4.
#include <bit>

#include "jobs/internal/sha2.h"
#include "jobs/internal/sha512_lanes.h"

#define RINGKV_INLINE inline __attribute__((always_inline))

namespace ringkv::jobs::internal {
namespace {

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

// One round. The new e is ready Sigma1(e) plus one add after e: the terms that
// do not depend on e are summed first, off the critical path. Maj(a, b, c) is
// ((a ^ b) & (b ^ c)) ^ b, and this round's b ^ c is the last round's a ^ b,
// kept in `bc`.
#define RINGKV_ROUND(a, b, c, d, e, f, g, h, kw)    \
  do {                                              \
    uint64_t rt = h + (kw) + Ch(e, f, g);           \
    uint64_t s1 = BigSigma1(e);                     \
    uint64_t ab = a ^ b;                            \
    d = (d + rt) + s1;                              \
    h = (rt + BigSigma0(a) + ((ab & bc) ^ b)) + s1; \
    bc = ab;                                        \
  } while (0)

// The message word for round t >= 16, in a 16-word ring.
#define RINGKV_SCHEDULE(w, i) \
  (w[i] += SmallSigma1(w[((i) + 14) & 15]) + w[((i) + 9) & 15] + SmallSigma0(w[((i) + 1) & 15]))

#define RINGKV_EIGHT_ROUNDS(W, base)                                            \
  RINGKV_ROUND(a, b, c, d, e, f, g, h, kSha512K[t + (base) + 0] + W(base + 0)); \
  RINGKV_ROUND(h, a, b, c, d, e, f, g, kSha512K[t + (base) + 1] + W(base + 1)); \
  RINGKV_ROUND(g, h, a, b, c, d, e, f, kSha512K[t + (base) + 2] + W(base + 2)); \
  RINGKV_ROUND(f, g, h, a, b, c, d, e, kSha512K[t + (base) + 3] + W(base + 3)); \
  RINGKV_ROUND(e, f, g, h, a, b, c, d, kSha512K[t + (base) + 4] + W(base + 4)); \
  RINGKV_ROUND(d, e, f, g, h, a, b, c, kSha512K[t + (base) + 5] + W(base + 5)); \
  RINGKV_ROUND(c, d, e, f, g, h, a, b, kSha512K[t + (base) + 6] + W(base + 6)); \
  RINGKV_ROUND(b, c, d, e, f, g, h, a, kSha512K[t + (base) + 7] + W(base + 7))

// Compresses block w (clobbered: it becomes the ring of late message words)
// into s. Fully unrolled so every ring index is a constant and w lives in
// registers; when the caller's w has constant words (the chain's padding),
// the compiler folds them into the round constants.
RINGKV_INLINE void Compress(uint64_t s[8], uint64_t w[16]) {
  uint64_t a = s[0], b = s[1], c = s[2], d = s[3], e = s[4], f = s[5], g = s[6], h = s[7];
  uint64_t bc = b ^ c;
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
