#include "jobs/hash_work.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "jobs/internal/sha2.h"
#include "jobs/internal/sha512_lanes.h"

namespace ringkv::jobs {
namespace {

// Goldens computed outside ringkv with Python's hashlib (the first also by
// chaining `openssl dgst -sha512 -binary` 1000 times).
TEST(IterateHashTest, MatchesIndependentGoldens) {
  struct Golden {
    HashAlgorithm algorithm;
    std::string payload;
    uint64_t iterations;
    std::string hex;
  };
  std::string binary;
  for (int r = 0; r < 4; ++r) {
    for (int i = 0; i < 256; ++i) binary.push_back(static_cast<char>(i));
  }
  const std::vector<Golden> goldens = {
      {HashAlgorithm::kSha512, "hello", 1000,
       "2f0d1593c9d82cc06935e69e4e8b230db1240f63a5ae7977d1a8517397895f72"
       "72544c5410618deeab6f6720c33b3b3a73ea0445c72127be8814bb4d07ff616e"},
      {HashAlgorithm::kSha512, "", 1,
       "cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce"
       "47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e"},
      {HashAlgorithm::kSha512, binary, 100,
       "0d4b6bb91f5d4788466cfe6db0bfd7e3e2e1b25b3367749ece7fe393e241b3c4"
       "94c58e2bc4a7f6f1aab6f0842dabca826271a959906cd1b2a27b5ed8f7a15cc8"},
      {HashAlgorithm::kSha256, "hello", 1000,
       "f6eec10c841b542f37ffb4ca00f82c5b6b4b11b79636d20201078b667ac37159"},
      {HashAlgorithm::kSha256, "abc", 2,
       "4f8b42c22dd3729b519ba6f68d2da7cc5b2d606d05daed5ad5128cc03e6c6358"},
  };
  for (const Golden& g : goldens) {
    SCOPED_TRACE(std::string(HashAlgorithmName(g.algorithm)) + " x" + std::to_string(g.iterations));
    EXPECT_EQ(IterateHash(g.algorithm, g.payload, g.iterations), g.hex);
    EXPECT_EQ(IterateHashReference(g.algorithm, g.payload, g.iterations), g.hex);
  }
}

TEST(IterateHashTest, FastPathEqualsReferenceAcrossSizesAndIterations) {
  for (HashAlgorithm algorithm : {HashAlgorithm::kSha512, HashAlgorithm::kSha256}) {
    for (size_t size : {0, 1, 63, 64, 65, 127, 128, 1000, 1 << 20}) {
      std::string payload(size, '\0');
      for (size_t i = 0; i < size; ++i) payload[i] = static_cast<char>(i * 131 + 7);
      for (uint64_t iterations : {1, 2, 3, 100, 1000}) {
        SCOPED_TRACE(std::to_string(size) + " bytes x" + std::to_string(iterations));
        std::string fast = IterateHash(algorithm, payload, iterations);
        EXPECT_EQ(fast, IterateHashReference(algorithm, payload, iterations));
        EXPECT_EQ(fast.size(), algorithm == HashAlgorithm::kSha512 ? 128u : 64u);
      }
    }
  }
}

TEST(IterateHashTest, ZeroIterationsIsTheHexOfThePayload) {
  EXPECT_EQ(IterateHash(HashAlgorithm::kSha512, "\x01\xab", 0), "01ab");
  EXPECT_EQ(IterateHashReference(HashAlgorithm::kSha512, "\x01\xab", 0), "01ab");
}

TEST(IterateHashBatchTest, EachResultEqualsItsOwnChain) {
  std::vector<std::string> storage;
  for (int i = 0; i < 19; ++i) storage.push_back("payload-" + std::string(i * 7, 'x'));
  for (size_t n : {0, 1, 3, 4, 7, 8, 9, 16, 19}) {
    std::vector<std::string_view> payloads(storage.begin(), storage.begin() + n);
    for (HashAlgorithm algorithm : {HashAlgorithm::kSha512, HashAlgorithm::kSha256}) {
      for (uint64_t iterations : {1, 2, 77}) {
        std::vector<std::string> got = IterateHashBatch(algorithm, payloads, iterations);
        ASSERT_EQ(got.size(), n);
        for (size_t i = 0; i < n; ++i) {
          EXPECT_EQ(got[i], IterateHashReference(algorithm, payloads[i], iterations))
              << n << "/" << i;
        }
      }
    }
  }
}

// Every SHA-512 chain implementation agrees with the others.
TEST(Sha512ChainTest, ImplementationsAgree) {
  internal::Sha512Words d = internal::kSha512Iv;
  for (uint64_t rounds : {0, 1, 2, 5, 333}) {
    internal::Sha512Words portable = internal::Sha512ChainPortable(d, rounds);
    EXPECT_EQ(internal::Sha512ChainOpenSsl(d, rounds), portable);
    EXPECT_EQ(internal::Sha512Chain(d, rounds), portable);
    if (internal::CpuHasAvx512()) {
      EXPECT_EQ(internal::Sha512ChainAvx512Single(d, rounds), portable);
    }
    std::vector<internal::Sha512Words> batch(11, d);
    for (size_t i = 0; i < batch.size(); ++i) batch[i][i % 8] ^= i;
    internal::Sha512ChainBatch(batch, rounds);
    for (size_t i = 0; i < batch.size(); ++i) {
      internal::Sha512Words start = d;
      start[i % 8] ^= i;
      EXPECT_EQ(batch[i], internal::Sha512ChainPortable(start, rounds)) << i;
    }
  }
}

// FIPS 180-4 example "abc": one padded block through the raw compression.
TEST(Sha512CompressTest, AbcExample) {
  internal::Sha512Block block{};
  block[0] = 0x6162638000000000ULL;
  block[15] = 24;
  internal::Sha512Words got = internal::Sha512Compress(internal::kSha512Iv, block);
  EXPECT_EQ(got[0], 0xddaf35a193617abaULL);
  EXPECT_EQ(got[7], 0x2a9ac94fa54ca49fULL);
}

TEST(Sha256CompressTest, AbcExample) {
  internal::Sha256Block block{};
  block[0] = 0x61626380U;
  block[15] = 24;
  internal::Sha256Words got = internal::Sha256Compress(internal::kSha256Iv, block);
  EXPECT_EQ(got[0], 0xba7816bfU);
  EXPECT_EQ(got[7], 0xf20015adU);
}

}  // namespace
}  // namespace ringkv::jobs
