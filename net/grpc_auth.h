// Who may call a gRPC service of a ringkv process: the pure check behind
// GrpcServer's guard (net/grpc_server.h) and the metadata GrpcChannels sends
// (net/grpc_client.h). No sockets, no gRPC types: tested on its own.
//
// Two credentials travel as call metadata (docs/security.md,
// "Authentication and listeners"):
//   - the cluster secret, `ringkv-cluster-secret: <secret>`, on the cluster
//     plane (ringkv.v1.Peer, ringkv.v1.Registry and crustyring's registries);
//   - a client password, `authorization: Bearer <requirepass>`, on the
//     client-facing dht.DhtNode, as RESP's AUTH.
// Health (grpc.health.v1) and reflection are never guarded. TLS can add a
// third credential later (a verified client certificate) beside these.
//
// Thread safety: the functions are pure.
#pragma once

#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "base/status.h"

namespace ringkv::net {

inline constexpr std::string_view kClusterSecretMetadata = "ringkv-cluster-secret";
inline constexpr std::string_view kAuthorizationMetadata = "authorization";

// Calls to `service` (full name, e.g. "ringkv.v1.Peer") must carry metadata
// `metadata_key` whose value equals `expected`, compared in constant time.
struct GrpcServiceGuard {
  std::string service;
  std::string metadata_key;
  std::string expected;
  std::string what;  // names the credential in the refusal, e.g. "the cluster secret"
};

// The guard of a cluster-plane service; nullopt when `cluster_secret` is
// empty (the service is open: loopback development).
std::optional<GrpcServiceGuard> ClusterGuard(std::string service,
                                             const std::string& cluster_secret);
// The guard of a client-facing service; nullopt when `password` is empty.
std::optional<GrpcServiceGuard> PasswordGuard(std::string service, const std::string& password);

// The value of metadata `key` of a call, or nullopt when the call has none.
using MetadataLookup = std::function<std::optional<std::string_view>(std::string_view key)>;

// Checks a call to `path` ("/<service>/<method>") against `guards`: OK when
// no guard names its service or the guard's credential matches;
// Unauthenticated (with a message naming the credential, never its value)
// otherwise.
Status CheckGrpcCall(std::span<const GrpcServiceGuard> guards, std::string_view path,
                     const MetadataLookup& metadata);

}  // namespace ringkv::net
