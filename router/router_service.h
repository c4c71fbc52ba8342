// RouterService: `ringkv router` wired together — the registry (persisted
// cluster map), the RESP proxy, the HTTP API, the gRPC registry services
// (router/api/registry_service.h), the health checker and the config watcher.
//
// Start-up (the consistent_hashing_server): before it serves, the router loads its persisted map
// and adds the nodes named by --nodes / the config file / the local
// provider's run directory, each health-checked first; a node that does not
// answer is recorded as down, never silently dropped.
//
// Thread safety: Start/Stop/Reload from one thread.
#pragma once

#include <memory>

#include "base/status.h"
#include "router/router_options.h"

namespace ringkv::router {

class RouterService {
 public:
  static StatusOr<std::unique_ptr<RouterService>> Start(const RouterOptions& options);
  ~RouterService();

  // Re-reads the config file (SIGHUP); an invalid file is reported and the
  // running config kept.
  void ReloadConfig();
  void Stop();
  uint16_t http_port() const;
  uint16_t resp_port() const;
  uint16_t grpc_port() const;  // ringkv.v1.Registry, dht.Registry, registry.Registry

  struct Impl;  // opaque; defined in the .cc

 private:
  explicit RouterService(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace ringkv::router
