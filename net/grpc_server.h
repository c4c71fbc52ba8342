// GrpcServer: the gRPC listener of a ringkv process. Serves the standard
// gRPC health service (grpc.health.v1.Health), server reflection
// (grpc.reflection.v1alpha) and whatever services are
// registered before Start(). Calls to a guarded service (`guards`,
// net/grpc_auth.h) without the right credential get UNAUTHENTICATED before
// any handler runs, so they change nothing.
//
// Thread safety: Start/Stop from one thread.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "base/status.h"
#include "net/grpc_auth.h"

namespace grpc {
class Service;
}

namespace ringkv::net {

struct GrpcServerOptions {
  std::string bind = "127.0.0.1";
  uint16_t port = 0;                 // 0 = pick a free port
  int max_message_bytes = 64 << 20;  // per message, both directions
  // Checked on every call's metadata; empty = every service is open.
  std::vector<GrpcServiceGuard> guards;
};

class GrpcServer {
 public:
  explicit GrpcServer(GrpcServerOptions options);
  ~GrpcServer();

  // Not owned; must outlive the server. Call before Start().
  void Register(grpc::Service* service);
  Status Start();
  void Stop();  // idempotent
  uint16_t port() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace ringkv::net
