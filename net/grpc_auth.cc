#include "net/grpc_auth.h"

#include "base/secret.h"

namespace ringkv::net {

std::optional<GrpcServiceGuard> ClusterGuard(std::string service,
                                             const std::string& cluster_secret) {
  if (cluster_secret.empty()) return std::nullopt;
  return GrpcServiceGuard{
      std::move(service), std::string(kClusterSecretMetadata), cluster_secret,
      "the cluster secret (metadata " + std::string(kClusterSecretMetadata) + ")"};
}

std::optional<GrpcServiceGuard> PasswordGuard(std::string service, const std::string& password) {
  if (password.empty()) return std::nullopt;
  return GrpcServiceGuard{std::move(service), std::string(kAuthorizationMetadata),
                          "Bearer " + password,
                          "the password (metadata authorization: Bearer <requirepass>)"};
}

Status CheckGrpcCall(std::span<const GrpcServiceGuard> guards, std::string_view path,
                     const MetadataLookup& metadata) {
  // "/ringkv.v1.Peer/Forward" -> "ringkv.v1.Peer"
  std::string_view service = path.substr(path.starts_with('/') ? 1 : 0);
  service = service.substr(0, service.find('/'));
  for (const GrpcServiceGuard& g : guards) {
    if (g.service != service) continue;
    std::optional<std::string_view> given = metadata(g.metadata_key);
    if (!given) return Unauthenticated(g.service + " requires " + g.what);
    if (!SecretEquals(*given, g.expected)) {
      return Unauthenticated(g.service + ": wrong credential, expected " + g.what);
    }
  }
  return OkStatus();
}

}  // namespace ringkv::net
