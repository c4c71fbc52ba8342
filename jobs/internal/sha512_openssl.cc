// The chain through OpenSSL's SHA512_Transform: its block function is
// assembly (AVX2/AVX/SSSE3 chosen at run time). The low-level API is
// deprecated in OpenSSL 3 but still exported; only this file uses it.
#include <openssl/sha.h>

#include <cstring>

#include "jobs/internal/sha2.h"

#pragma GCC diagnostic ignored "-Wdeprecated-declarations"

namespace ringkv::jobs::internal {

Sha512Words Sha512ChainOpenSsl(Sha512Words digest, uint64_t rounds) {
  // The padded block: digest bytes, 0x80, zeros, 128-bit big-endian length 512.
  unsigned char block[128] = {};
  block[64] = 0x80;
  block[126] = 0x02;
  SHA512_CTX ctx;
  for (uint64_t r = 0; r < rounds; ++r) {
    for (int i = 0; i < 8; ++i) {
      uint64_t be = __builtin_bswap64(digest[i]);
      std::memcpy(block + 8 * i, &be, 8);
    }
    for (int i = 0; i < 8; ++i) ctx.h[i] = kSha512Iv[i];
    SHA512_Transform(&ctx, block);
    for (int i = 0; i < 8; ++i) digest[i] = ctx.h[i];
  }
  return digest;
}

}  // namespace ringkv::jobs::internal
