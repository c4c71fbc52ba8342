#include "net/exposure.h"

#include <gtest/gtest.h>

namespace ringkv::net {
namespace {

TEST(ExposureTest, LoopbackAddresses) {
  for (const char* h : {"127.0.0.1", "127.1.2.3", "::1", "[::1]", "localhost"}) {
    EXPECT_TRUE(IsLoopback(h)) << h;
  }
  for (const char* h : {"0.0.0.0", "::", "", "10.0.0.1", "128.0.0.1", "example.com", "::ffff:1"}) {
    EXPECT_FALSE(IsLoopback(h)) << h;
  }
}

TEST(ExposureTest, BeyondLoopbackNeedsACredentialOrInsecure) {
  Exposure e{.setting = "cluster_bind", .host = "0.0.0.0", .credential = "cluster_secret_file"};
  Status s = CheckExposure(e, /*insecure=*/false);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("cluster_bind"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("cluster_secret_file"), std::string::npos);
  EXPECT_NE(s.message().find("--insecure true"), std::string::npos);
  EXPECT_TRUE(CheckExposure(e, /*insecure=*/true).ok());
  e.has_credential = true;
  EXPECT_TRUE(CheckExposure(e, false).ok());
  EXPECT_TRUE(CheckExposure({.setting = "bind", .host = "127.0.0.1"}, false).ok());
}

}  // namespace
}  // namespace ringkv::net
