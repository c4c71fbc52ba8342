#include "ring/hash.h"

#include <gtest/gtest.h>

namespace ringkv::ring {
namespace {

// Published reference values.
TEST(HashTest, Xxh3MatchesReferenceVector) { EXPECT_EQ(HashXxh3(""), 0x2D06800538D394C2ULL); }

TEST(HashTest, Sha256IsFirstEightBytesBigEndian) {
  // sha256("")    = e3b0c44298fc1c14 9afbf4c8...
  // sha256("abc") = ba7816bf8f01cfea 414140de...
  EXPECT_EQ(HashSha256(""), 0xe3b0c44298fc1c14ULL);
  EXPECT_EQ(HashSha256("abc"), 0xba7816bf8f01cfeaULL);
  EXPECT_EQ(HashKey(HashKind::kSha256, "abc"), 0xba7816bf8f01cfeaULL);
}

// Golden values: placement of existing clusters depends on them. If one of
// these changes, every deployed ring changes; do not update them casually.
TEST(HashTest, GoldenKeyPositions) {
  EXPECT_EQ(HashKey(HashKind::kXxh3, "hello"), 0x9555e8555c62dcfdULL);
  EXPECT_EQ(HashKey(HashKind::kXxh3, "user:1000"), 0xfb6841b2068c0c9fULL);
  EXPECT_EQ(HashKey(HashKind::kSha256, "hello"), 0x2cf24dba5fb0a30eULL);
}

TEST(HashTest, GoldenVnodePositions) {
  EXPECT_EQ(VnodePosition(HashKind::kXxh3, "node-a", 0), HashXxh3("node-a#0"));
  EXPECT_EQ(VnodePosition(HashKind::kXxh3, "node-a", 159), HashXxh3("node-a#159"));
  EXPECT_EQ(VnodePosition(HashKind::kSha256, "10.0.0.1:7000", 3), HashSha256("10.0.0.1:7000#3"));
  EXPECT_EQ(VnodePosition(HashKind::kXxh3, "node-a", 0), 0x42d3010ac73d0427ULL);
}

TEST(HashTest, ParseHashKind) {
  EXPECT_EQ(ParseHashKind("xxh3"), HashKind::kXxh3);
  EXPECT_EQ(ParseHashKind("sha256"), HashKind::kSha256);
  EXPECT_EQ(ParseHashKind("md5"), std::nullopt);
  EXPECT_EQ(HashKindName(HashKind::kSha256), "sha256");
}

}  // namespace
}  // namespace ringkv::ring
