#include "net/grpc_auth.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <vector>

namespace ringkv::net {
namespace {

MetadataLookup From(const std::map<std::string, std::string>& md) {
  return [md](std::string_view key) -> std::optional<std::string_view> {
    auto it = md.find(std::string(key));
    if (it == md.end()) return std::nullopt;
    return std::string_view(it->second);
  };
}

std::vector<GrpcServiceGuard> Guards() {
  return {*ClusterGuard("ringkv.v1.Peer", "cluster-s"), *PasswordGuard("dht.DhtNode", "pw")};
}

TEST(GrpcAuthTest, EmptySecretsGuardNothing) {
  EXPECT_FALSE(ClusterGuard("ringkv.v1.Peer", "").has_value());
  EXPECT_FALSE(PasswordGuard("dht.DhtNode", "").has_value());
}

TEST(GrpcAuthTest, UnguardedServicesAndPathsPass) {
  const auto guards = Guards();
  EXPECT_TRUE(CheckGrpcCall(guards, "/grpc.health.v1.Health/Check", From({})).ok());
  EXPECT_TRUE(CheckGrpcCall(guards, "/ringkv.v1.PeerX/Forward", From({})).ok());
  EXPECT_TRUE(CheckGrpcCall({}, "/ringkv.v1.Peer/Forward", From({})).ok());
}

TEST(GrpcAuthTest, AGuardedServiceNeedsItsOwnCredential) {
  const auto guards = Guards();
  EXPECT_EQ(CheckGrpcCall(guards, "/ringkv.v1.Peer/Forward", From({})).code(),
            StatusCode::kUnauthenticated);
  EXPECT_EQ(CheckGrpcCall(guards, "/ringkv.v1.Peer/Forward",
                          From({{"ringkv-cluster-secret", "cluster-"}}))
                .code(),
            StatusCode::kUnauthenticated);
  // A client password is not the cluster secret, even with the right value.
  EXPECT_EQ(
      CheckGrpcCall(guards, "/ringkv.v1.Peer/SetMap", From({{"authorization", "Bearer cluster-s"}}))
          .code(),
      StatusCode::kUnauthenticated);
  EXPECT_TRUE(CheckGrpcCall(guards, "/ringkv.v1.Peer/SetMap",
                            From({{"ringkv-cluster-secret", "cluster-s"}}))
                  .ok());
  EXPECT_EQ(CheckGrpcCall(guards, "/dht.DhtNode/QueryDht", From({{"authorization", "pw"}})).code(),
            StatusCode::kUnauthenticated);
  EXPECT_TRUE(
      CheckGrpcCall(guards, "/dht.DhtNode/QueryDht", From({{"authorization", "Bearer pw"}})).ok());
}

TEST(GrpcAuthTest, RefusalsNameTheCredentialNotItsValue) {
  const std::vector<GrpcServiceGuard> guards = {*ClusterGuard("ringkv.v1.Peer", "xyzzy")};
  Status s =
      CheckGrpcCall(guards, "/ringkv.v1.Peer/Forward", From({{"ringkv-cluster-secret", "guess"}}));
  EXPECT_NE(s.message().find("cluster secret"), std::string::npos) << s.message();
  EXPECT_EQ(s.message().find("xyzzy"), std::string::npos);
  EXPECT_EQ(s.message().find("guess"), std::string::npos);
}

// Files for LoadGrpcTls in a fresh directory.
class LoadGrpcTlsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/ringkv-grpc-tls-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string Write(const std::string& name, const std::string& text, mode_t mode) {
    const std::string path = dir_ + "/" + name;
    std::ofstream(path) << text;
    ::chmod(path.c_str(), mode);
    return path;
  }
  std::string dir_;
};

constexpr char kPem[] = "-----BEGIN X-----\nAAAA\n-----END X-----\n";

TEST_F(LoadGrpcTlsTest, NoneIsPlaintextAndAllThreeAreRead) {
  auto none = LoadGrpcTls("", "", "");
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());
  auto tls = LoadGrpcTls(Write("c.crt", kPem, 0644), Write("c.key", std::string(kPem) + "k", 0600),
                         Write("ca.crt", std::string(kPem) + "ca", 0644));
  ASSERT_TRUE(tls.ok()) << tls.status().message();
  ASSERT_TRUE(tls->has_value());
  EXPECT_EQ((*tls)->cert_pem, kPem);
  EXPECT_EQ((*tls)->key_pem, std::string(kPem) + "k");
  EXPECT_EQ((*tls)->ca_pem, std::string(kPem) + "ca");
}

TEST_F(LoadGrpcTlsTest, BadInputIsRefusedNamingTheSetting) {
  const std::string cert = Write("c.crt", kPem, 0644);
  const std::string key = Write("c.key", kPem, 0600);
  const std::string ca = Write("ca.crt", kPem, 0644);
  struct Case {
    std::string cert, key, ca, words;
  };
  for (const Case& c : {
           Case{cert, "", "", "all three"},
           Case{"", key, ca, "all three"},
           Case{cert, Write("open.key", kPem, 0644), ca, "cluster_tls_key_file"},
           Case{cert, key, Write("ca.txt", "not pem", 0644), "no PEM block"},
           Case{dir_ + "/missing.crt", key, ca, "cluster_tls_cert_file"},
       }) {
    auto tls = LoadGrpcTls(c.cert, c.key, c.ca);
    EXPECT_EQ(tls.status().code(), StatusCode::kInvalidArgument) << c.words;
    EXPECT_NE(tls.status().message().find(c.words), std::string::npos) << tls.status().message();
  }
}

}  // namespace
}  // namespace ringkv::net
