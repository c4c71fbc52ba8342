#include "net/grpc_auth.h"

#include <gtest/gtest.h>

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

}  // namespace
}  // namespace ringkv::net
