// Eight SHA-512 chains at once, one per 64-bit lane of AVX-512 registers
// (FIPS 180-4 section 6.4, the same rounds as sha512.cc). Compiled for
// AVX-512F through target attributes only; callers check the CPU first.
#include <immintrin.h>

#include "jobs/internal/sha2.h"
#include "jobs/internal/sha512_lanes.h"

// GCC 12 reports the deliberately undefined pass-through operand inside
// _mm512_ror_epi64 as maybe-uninitialized.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

#define RINGKV_AVX512 __attribute__((target("avx512f")))
#define RINGKV_INLINE inline __attribute__((always_inline))

namespace ringkv::jobs::internal {
namespace {

using V = __m512i;

RINGKV_AVX512 RINGKV_INLINE V Add(V x, V y) {
  return _mm512_add_epi64(x, y);
}
RINGKV_AVX512 RINGKV_INLINE V Xor3(V x, V y, V z) {
  return _mm512_ternarylogic_epi64(x, y, z, 0x96);
}
RINGKV_AVX512 RINGKV_INLINE V BigSigma0(V x) {
  return Xor3(_mm512_ror_epi64(x, 28), _mm512_ror_epi64(x, 34), _mm512_ror_epi64(x, 39));
}
RINGKV_AVX512 RINGKV_INLINE V BigSigma1(V x) {
  return Xor3(_mm512_ror_epi64(x, 14), _mm512_ror_epi64(x, 18), _mm512_ror_epi64(x, 41));
}
RINGKV_AVX512 RINGKV_INLINE V SmallSigma0(V x) {
  return Xor3(_mm512_ror_epi64(x, 1), _mm512_ror_epi64(x, 8), _mm512_srli_epi64(x, 7));
}
RINGKV_AVX512 RINGKV_INLINE V SmallSigma1(V x) {
  return Xor3(_mm512_ror_epi64(x, 19), _mm512_ror_epi64(x, 61), _mm512_srli_epi64(x, 6));
}
// Ch: e ? f : g bitwise (truth table 0xca); Maj: majority (0xe8).
RINGKV_AVX512 RINGKV_INLINE V Ch(V e, V f, V g) {
  return _mm512_ternarylogic_epi64(e, f, g, 0xca);
}
RINGKV_AVX512 RINGKV_INLINE V Maj(V a, V b, V c) {
  return _mm512_ternarylogic_epi64(a, b, c, 0xe8);
}
RINGKV_AVX512 RINGKV_INLINE V Splat(uint64_t x) {
  return _mm512_set1_epi64(static_cast<long long>(x));
}

#define RINGKV_ROUND(a, b, c, d, e, f, g, h, kw)            \
  do {                                                      \
    V rt = Add(Add(h, kw), Add(Ch(e, f, g), BigSigma1(e))); \
    d = Add(d, rt);                                         \
    h = Add(rt, Add(BigSigma0(a), Maj(a, b, c)));           \
  } while (0)

#define RINGKV_SCHEDULE(i)                                \
  (w[i] = Add(Add(w[i], SmallSigma1(w[((i) + 14) & 15])), \
              Add(w[((i) + 9) & 15], SmallSigma0(w[((i) + 1) & 15]))))

#define RINGKV_EIGHT_ROUNDS(W, base)                                                       \
  RINGKV_ROUND(a, b, c, d, e, f, g, h, Add(Splat(kSha512K[t + (base) + 0]), W(base + 0))); \
  RINGKV_ROUND(h, a, b, c, d, e, f, g, Add(Splat(kSha512K[t + (base) + 1]), W(base + 1))); \
  RINGKV_ROUND(g, h, a, b, c, d, e, f, Add(Splat(kSha512K[t + (base) + 2]), W(base + 2))); \
  RINGKV_ROUND(f, g, h, a, b, c, d, e, Add(Splat(kSha512K[t + (base) + 3]), W(base + 3))); \
  RINGKV_ROUND(e, f, g, h, a, b, c, d, Add(Splat(kSha512K[t + (base) + 4]), W(base + 4))); \
  RINGKV_ROUND(d, e, f, g, h, a, b, c, Add(Splat(kSha512K[t + (base) + 5]), W(base + 5))); \
  RINGKV_ROUND(c, d, e, f, g, h, a, b, Add(Splat(kSha512K[t + (base) + 6]), W(base + 6))); \
  RINGKV_ROUND(b, c, d, e, f, g, h, a, Add(Splat(kSha512K[t + (base) + 7]), W(base + 7)))

// One chain step for all lanes: s holds word j of every lane's digest in
// s[j]; the block is those words followed by the constant padding.
RINGKV_AVX512 RINGKV_INLINE void ChainStep(V s[8]) {
  V w[16] = {s[0],      s[1],     s[2],
             s[3],      s[4],     s[5],
             s[6],      s[7],     Splat(0x8000000000000000ULL),
             Splat(0),  Splat(0), Splat(0),
             Splat(0),  Splat(0), Splat(0),
             Splat(512)};
  V a = Splat(kSha512Iv[0]), b = Splat(kSha512Iv[1]), c = Splat(kSha512Iv[2]),
    d = Splat(kSha512Iv[3]), e = Splat(kSha512Iv[4]), f = Splat(kSha512Iv[5]),
    g = Splat(kSha512Iv[6]), h = Splat(kSha512Iv[7]);
#define RINGKV_W_PLAIN(i) w[i]
#define RINGKV_W_SCHED(i) RINGKV_SCHEDULE(i)
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
  s[0] = Add(a, Splat(kSha512Iv[0]));
  s[1] = Add(b, Splat(kSha512Iv[1]));
  s[2] = Add(c, Splat(kSha512Iv[2]));
  s[3] = Add(d, Splat(kSha512Iv[3]));
  s[4] = Add(e, Splat(kSha512Iv[4]));
  s[5] = Add(f, Splat(kSha512Iv[5]));
  s[6] = Add(g, Splat(kSha512Iv[6]));
  s[7] = Add(h, Splat(kSha512Iv[7]));
}

}  // namespace

RINGKV_AVX512 void Sha512ChainAvx512x8(std::span<Sha512Words, 8> digests, uint64_t rounds) {
  alignas(64) uint64_t lanes[8][8];
  for (int j = 0; j < 8; ++j) {
    for (int lane = 0; lane < 8; ++lane) lanes[j][lane] = digests[lane][j];
  }
  V s[8];
  for (int j = 0; j < 8; ++j) s[j] = _mm512_load_si512(lanes[j]);
  for (uint64_t r = 0; r < rounds; ++r) ChainStep(s);
  for (int j = 0; j < 8; ++j) _mm512_store_si512(lanes[j], s[j]);
  for (int j = 0; j < 8; ++j) {
    for (int lane = 0; lane < 8; ++lane) digests[lane][j] = lanes[j][lane];
  }
}

}  // namespace ringkv::jobs::internal

namespace ringkv::jobs::internal {
namespace {

#define RINGKV_SINGLE __attribute__((target("avx512f,avx512vl,bmi2")))

using X = __m128i;

RINGKV_SINGLE RINGKV_INLINE X SmallSigma0x2(X x) {
  return _mm_ternarylogic_epi64(_mm_ror_epi64(x, 1), _mm_ror_epi64(x, 8), _mm_srli_epi64(x, 7),
                                0x96);
}
RINGKV_SINGLE RINGKV_INLINE X SmallSigma1x2(X x) {
  return _mm_ternarylogic_epi64(_mm_ror_epi64(x, 19), _mm_ror_epi64(x, 61), _mm_srli_epi64(x, 6),
                                0x96);
}
RINGKV_SINGLE RINGKV_INLINE uint64_t Rotr(uint64_t x, int n) {
  return (x >> n) | (x << (64 - n));
}

// Message words t and t+1 (t even, >= 16) from the pair ring x, where x[k]
// holds words 2k and 2k+1 modulo 16; also stores K + W for both rounds.
RINGKV_SINGLE RINGKV_INLINE void SchedulePair(X x[8], int t, uint64_t* kw) {
  int k = (t / 2) & 7;
  X w15 = _mm_alignr_epi8(x[(k + 1) & 7], x[k], 8);
  X w7 = _mm_alignr_epi8(x[(k + 5) & 7], x[(k + 4) & 7], 8);
  x[k] = _mm_add_epi64(_mm_add_epi64(x[k], SmallSigma0x2(w15)),
                       _mm_add_epi64(w7, SmallSigma1x2(x[(k + 7) & 7])));
  _mm_store_si128(reinterpret_cast<X*>(kw + t),
                  _mm_add_epi64(x[k], _mm_load_si128(reinterpret_cast<const X*>(kSha512K + t))));
}

// d + h + kw does not depend on e, so the new e is Sigma1(e) (three cycles)
// plus one add after e.
#define RINGKV_SROUND(a, b, c, d, e, f, g, h, kw)                                         \
  do {                                                                                    \
    uint64_t hk = h + (kw);                                                               \
    uint64_t ch = ((f ^ g) & e) ^ g;                                                      \
    uint64_t s1 = Rotr(e, 14) ^ Rotr(e, 18) ^ Rotr(e, 41);                                \
    uint64_t ab = a ^ b;                                                                  \
    d = ((d + hk) + ch) + s1;                                                             \
    h = ((hk + ch) + s1) + ((Rotr(a, 28) ^ Rotr(a, 34) ^ Rotr(a, 39)) + ((ab & bc) ^ b)); \
    bc = ab;                                                                              \
  } while (0)

#define RINGKV_SEIGHT(base)                              \
  RINGKV_SROUND(a, b, c, d, e, f, g, h, kw[(base) + 0]); \
  RINGKV_SROUND(h, a, b, c, d, e, f, g, kw[(base) + 1]); \
  RINGKV_SROUND(g, h, a, b, c, d, e, f, kw[(base) + 2]); \
  RINGKV_SROUND(f, g, h, a, b, c, d, e, kw[(base) + 3]); \
  RINGKV_SROUND(e, f, g, h, a, b, c, d, kw[(base) + 4]); \
  RINGKV_SROUND(d, e, f, g, h, a, b, c, kw[(base) + 5]); \
  RINGKV_SROUND(c, d, e, f, g, h, a, b, kw[(base) + 6]); \
  RINGKV_SROUND(b, c, d, e, f, g, h, a, kw[(base) + 7])

// One chain step: scalar rounds, with the message schedule for the next 16
// rounds computed two words at a time in vector registers beside them.
RINGKV_SINGLE RINGKV_INLINE void SingleStep(uint64_t s[8]) {
  alignas(16) uint64_t kw[80];
  X x[8];
  for (int i = 0; i < 4; ++i) x[i] = _mm_set_epi64x(s[2 * i + 1], s[2 * i]);
  x[4] = _mm_set_epi64x(0, static_cast<long long>(0x8000000000000000ULL));
  x[5] = _mm_setzero_si128();
  x[6] = _mm_setzero_si128();
  x[7] = _mm_set_epi64x(512, 0);
  for (int t = 0; t < 16; t += 2) {
    _mm_store_si128(
        reinterpret_cast<X*>(kw + t),
        _mm_add_epi64(x[t / 2], _mm_load_si128(reinterpret_cast<const X*>(kSha512K + t))));
  }
  uint64_t a = kSha512Iv[0], b = kSha512Iv[1], c = kSha512Iv[2], d = kSha512Iv[3];
  uint64_t e = kSha512Iv[4], f = kSha512Iv[5], g = kSha512Iv[6], h = kSha512Iv[7];
  uint64_t bc = b ^ c;
#pragma GCC unroll 5
  for (int t = 0; t < 80; t += 16) {
    if (t + 16 < 80) {
#pragma GCC unroll 8
      for (int i = 0; i < 16; i += 2) SchedulePair(x, t + 16 + i, kw);
    }
    RINGKV_SEIGHT(t);
    RINGKV_SEIGHT(t + 8);
  }
  s[0] = a + kSha512Iv[0];
  s[1] = b + kSha512Iv[1];
  s[2] = c + kSha512Iv[2];
  s[3] = d + kSha512Iv[3];
  s[4] = e + kSha512Iv[4];
  s[5] = f + kSha512Iv[5];
  s[6] = g + kSha512Iv[6];
  s[7] = h + kSha512Iv[7];
}

}  // namespace

RINGKV_SINGLE Sha512Words Sha512ChainAvx512Single(Sha512Words digest, uint64_t rounds) {
  uint64_t s[8];
  for (int i = 0; i < 8; ++i) s[i] = digest[i];
  for (uint64_t r = 0; r < rounds; ++r) SingleStep(s);
  for (int i = 0; i < 8; ++i) digest[i] = s[i];
  return digest;
}

}  // namespace ringkv::jobs::internal
