#include "jobs/hash_work.h"

#include <openssl/evp.h>

#include <cstdlib>

#include "jobs/internal/sha2.h"

namespace ringkv::jobs {
namespace {

using internal::Sha256Words;
using internal::Sha512Words;

constexpr char kHex[] = "0123456789abcdef";

std::string HexOfBytes(std::string_view bytes) {
  std::string out(bytes.size() * 2, '0');
  for (size_t i = 0; i < bytes.size(); ++i) {
    auto b = static_cast<unsigned char>(bytes[i]);
    out[2 * i] = kHex[b >> 4];
    out[2 * i + 1] = kHex[b & 0xf];
  }
  return out;
}

// Lowercase hex of the big-endian serialisation of the words.
template <typename Words>
std::string HexOfWords(const Words& words) {
  constexpr int kNibbles = 2 * sizeof(words[0]);
  std::string out(words.size() * kNibbles, '0');
  size_t pos = 0;
  for (auto w : words) {
    for (int shift = 4 * (kNibbles - 1); shift >= 0; shift -= 4)
      out[pos++] = kHex[(w >> shift) & 0xf];
  }
  return out;
}

template <typename Words>
Words WordsOfDigest(const unsigned char* digest) {
  Words words{};
  for (size_t i = 0; i < words.size(); ++i) {
    for (size_t j = 0; j < sizeof(words[0]); ++j) {
      words[i] = (words[i] << 8) | digest[i * sizeof(words[0]) + j];
    }
  }
  return words;
}

const EVP_MD* Md(HashAlgorithm algorithm) {
  return algorithm == HashAlgorithm::kSha256 ? EVP_sha256() : EVP_sha512();
}

// One EVP one-shot digest; `out` holds EVP_MAX_MD_SIZE bytes. OpenSSL's
// digests of in-memory data cannot fail short of memory exhaustion.
unsigned int Digest(HashAlgorithm algorithm, const void* data, size_t size, unsigned char* out) {
  unsigned int len = 0;
  if (EVP_Digest(data, size, out, &len, Md(algorithm), nullptr) != 1) std::abort();
  return len;
}

}  // namespace

std::string IterateHashReference(HashAlgorithm algorithm, std::string_view payload,
                                 uint64_t iterations) {
  if (iterations == 0) return HexOfBytes(payload);
  unsigned char buf[EVP_MAX_MD_SIZE];
  unsigned int len = Digest(algorithm, payload.data(), payload.size(), buf);
  for (uint64_t i = 1; i < iterations; ++i) len = Digest(algorithm, buf, len, buf);
  return HexOfBytes(std::string_view(reinterpret_cast<const char*>(buf), len));
}

std::string IterateHash(HashAlgorithm algorithm, std::string_view payload, uint64_t iterations) {
  if (iterations == 0) return HexOfBytes(payload);
  unsigned char first[EVP_MAX_MD_SIZE];
  Digest(algorithm, payload.data(), payload.size(), first);
  if (algorithm == HashAlgorithm::kSha256) {
    return HexOfWords(internal::Sha256Chain(WordsOfDigest<Sha256Words>(first), iterations - 1));
  }
  return HexOfWords(internal::Sha512Chain(WordsOfDigest<Sha512Words>(first), iterations - 1));
}

std::vector<std::string> IterateHashBatch(HashAlgorithm algorithm,
                                          std::span<const std::string_view> payloads,
                                          uint64_t iterations) {
  std::vector<std::string> out;
  out.reserve(payloads.size());
  if (iterations == 0 || algorithm != HashAlgorithm::kSha512) {
    for (std::string_view p : payloads) out.push_back(IterateHash(algorithm, p, iterations));
    return out;
  }
  std::vector<Sha512Words> digests(payloads.size());
  for (size_t i = 0; i < payloads.size(); ++i) {
    unsigned char first[EVP_MAX_MD_SIZE];
    Digest(algorithm, payloads[i].data(), payloads[i].size(), first);
    digests[i] = WordsOfDigest<Sha512Words>(first);
  }
  internal::Sha512ChainBatch(digests, iterations - 1);
  for (const Sha512Words& d : digests) out.push_back(HexOfWords(d));
  return out;
}

}  // namespace ringkv::jobs
