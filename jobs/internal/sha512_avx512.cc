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
