// RegistryService: the router's gRPC registry (docs/api.md, "gRPC (router)")
// — thin shells over JoinAdmission that convert messages and status codes:
//   ringkv.v1.Registry   Join, GetMap
//   dht.Registry         RegisterNode, GetConnectedNodes (crustyring)
//   registry.Registry    the same as dht.Registry, under its later package
// Replies name the router's own gRPC address as NodeClient::registry() holds
// it. No admin token applies: bind the router's gRPC port to a private
// interface.
//
// Thread safety: gRPC runs the handlers concurrently; each is safe to.
#pragma once

#include <memory>

#include "net/grpc_server.h"
#include "router/api/join_admission.h"

namespace ringkv::router {

class RegistryService {
 public:
  // None owned; all must outlive this (and the server it is registered with).
  RegistryService(JoinAdmission& admission, MapOwner& map_owner, NodeClient& peers);
  ~RegistryService();

  // Registers the three services; call before server.Start().
  void RegisterWith(net::GrpcServer& server);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace ringkv::router
