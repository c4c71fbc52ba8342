#include "base/base64.h"

#include <gtest/gtest.h>

namespace ringkv {
namespace {

TEST(Base64Test, Rfc4648Vectors) {
  const char* vectors[][2] = {{"", ""},
                              {"f", "Zg=="},
                              {"fo", "Zm8="},
                              {"foo", "Zm9v"},
                              {"foob", "Zm9vYg=="},
                              {"fooba", "Zm9vYmE="},
                              {"foobar", "Zm9vYmFy"}};
  for (auto& [plain, encoded] : vectors) {
    EXPECT_EQ(Base64Encode(plain), encoded);
    EXPECT_EQ(Base64Decode(encoded), plain);
  }
  EXPECT_EQ(Base64Decode("Zm9vYmE"), "fooba");  // unpadded
}

TEST(Base64Test, RoundTripsAllLengthsAndBytes) {
  std::string all;
  for (int i = 0; i < 256; ++i) all.push_back(static_cast<char>(i));
  for (size_t n = 0; n <= all.size(); ++n) {
    auto d = Base64Decode(Base64Encode(all.substr(0, n)));
    ASSERT_TRUE(d.has_value()) << n;
    EXPECT_EQ(*d, all.substr(0, n));
  }
}

TEST(Base64Test, RejectsMalformed) {
  for (const char* bad : {"Zg=", "Z===", "Zg==Zg==", "Zm9*", "=m9v", "Z", "Zm9vY", "Zg=a"}) {
    EXPECT_FALSE(Base64Decode(bad).has_value()) << bad;
  }
}

}  // namespace
}  // namespace ringkv
