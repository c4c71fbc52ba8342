// Portable SHA-256 compression, written from FIPS 180-4 section 6.2.
#include <bit>

#include "jobs/internal/sha2.h"

#define RINGKV_INLINE inline __attribute__((always_inline))

namespace ringkv::jobs::internal {
namespace {

// FIPS 180-4 4.2.2: the first 32 bits of the fractional parts of the cube
// roots of the first 64 primes.
alignas(64) constexpr uint32_t kK[64] = {
    0x428a2f98U, 0x71374491U, 0xb5c0fbcfU, 0xe9b5dba5U, 0x3956c25bU, 0x59f111f1U, 0x923f82a4U,
    0xab1c5ed5U, 0xd807aa98U, 0x12835b01U, 0x243185beU, 0x550c7dc3U, 0x72be5d74U, 0x80deb1feU,
    0x9bdc06a7U, 0xc19bf174U, 0xe49b69c1U, 0xefbe4786U, 0x0fc19dc6U, 0x240ca1ccU, 0x2de92c6fU,
    0x4a7484aaU, 0x5cb0a9dcU, 0x76f988daU, 0x983e5152U, 0xa831c66dU, 0xb00327c8U, 0xbf597fc7U,
    0xc6e00bf3U, 0xd5a79147U, 0x06ca6351U, 0x14292967U, 0x27b70a85U, 0x2e1b2138U, 0x4d2c6dfcU,
    0x53380d13U, 0x650a7354U, 0x766a0abbU, 0x81c2c92eU, 0x92722c85U, 0xa2bfe8a1U, 0xa81a664bU,
    0xc24b8b70U, 0xc76c51a3U, 0xd192e819U, 0xd6990624U, 0xf40e3585U, 0x106aa070U, 0x19a4c116U,
    0x1e376c08U, 0x2748774cU, 0x34b0bcb5U, 0x391c0cb3U, 0x4ed8aa4aU, 0x5b9cca4fU, 0x682e6ff3U,
    0x748f82eeU, 0x78a5636fU, 0x84c87814U, 0x8cc70208U, 0x90befffaU, 0xa4506cebU, 0xbef9a3f7U,
    0xc67178f2U,
};

RINGKV_INLINE uint32_t BigSigma0(uint32_t x) {
  return std::rotr(x, 2) ^ std::rotr(x, 13) ^ std::rotr(x, 22);
}
RINGKV_INLINE uint32_t BigSigma1(uint32_t x) {
  return std::rotr(x, 6) ^ std::rotr(x, 11) ^ std::rotr(x, 25);
}
RINGKV_INLINE uint32_t SmallSigma0(uint32_t x) {
  return std::rotr(x, 7) ^ std::rotr(x, 18) ^ (x >> 3);
}
RINGKV_INLINE uint32_t SmallSigma1(uint32_t x) {
  return std::rotr(x, 17) ^ std::rotr(x, 19) ^ (x >> 10);
}
RINGKV_INLINE uint32_t Ch(uint32_t e, uint32_t f, uint32_t g) {
  return ((f ^ g) & e) ^ g;
}
RINGKV_INLINE uint32_t Maj(uint32_t a, uint32_t b, uint32_t c) {
  return ((a | b) & c) | (a & b);
}

#define RINGKV_ROUND(a, b, c, d, e, f, g, h, kw) \
  do {                                           \
    uint32_t rt = h + (kw) + Ch(e, f, g);        \
    uint32_t s1 = BigSigma1(e);                  \
    d = (d + rt) + s1;                           \
    h = (rt + BigSigma0(a) + Maj(a, b, c)) + s1; \
  } while (0)

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

RINGKV_INLINE void Compress(uint32_t s[8], uint32_t w[16]) {
  uint32_t a = s[0], b = s[1], c = s[2], d = s[3], e = s[4], f = s[5], g = s[6], h = s[7];
#define RINGKV_W_PLAIN(i) w[i]
#define RINGKV_W_SCHED(i) RINGKV_SCHEDULE(w, i)
  {
    constexpr int t = 0;
    RINGKV_EIGHT_ROUNDS(RINGKV_W_PLAIN, 0);
    RINGKV_EIGHT_ROUNDS(RINGKV_W_PLAIN, 8);
  }
#pragma GCC unroll 3
  for (int t = 16; t < 64; t += 16) {
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

Sha256Words Sha256Compress(Sha256Words state, const Sha256Block& block) {
  uint32_t w[16];
  for (int i = 0; i < 16; ++i) w[i] = block[i];
  Compress(state.data(), w);
  return state;
}

Sha256Words Sha256Chain(Sha256Words digest, uint64_t rounds) {
  for (uint64_t r = 0; r < rounds; ++r) {
    uint32_t w[16] = {digest[0], digest[1], digest[2],   digest[3], digest[4], digest[5],
                      digest[6], digest[7], 0x80000000U, 0,         0,         0,
                      0,         0,         0,           256};
    uint32_t s[8] = {kSha256Iv[0], kSha256Iv[1], kSha256Iv[2], kSha256Iv[3],
                     kSha256Iv[4], kSha256Iv[5], kSha256Iv[6], kSha256Iv[7]};
    Compress(s, w);
    for (int i = 0; i < 8; ++i) digest[i] = s[i];
  }
  return digest;
}

}  // namespace ringkv::jobs::internal
