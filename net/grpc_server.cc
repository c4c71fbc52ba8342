#include "net/grpc_server.h"

#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/generic/async_generic_service.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/health_check_service_interface.h>

#include <utility>
#include <vector>

namespace ringkv::net {

namespace {

// Answers UNIMPLEMENTED for any method no registered service handles. Having
// a callback service also lets the server run with no completion queue.
class UnimplementedService final : public grpc::CallbackGenericService {
 public:
  grpc::ServerGenericBidiReactor* CreateReactor(grpc::GenericCallbackServerContext* ctx) override {
    class Reactor final : public grpc::ServerGenericBidiReactor {
     public:
      explicit Reactor(const std::string& method) {
        Finish(grpc::Status(grpc::StatusCode::UNIMPLEMENTED, "unknown method " + method));
      }
      void OnDone() override { delete this; }
    };
    return new Reactor(ctx->method());
  }
};

}  // namespace

struct GrpcServer::Impl {
  UnimplementedService unimplemented;
  GrpcServerOptions options;
  std::vector<grpc::Service*> services;
  std::unique_ptr<grpc::Server> server;
  int port = 0;
};

GrpcServer::GrpcServer(GrpcServerOptions options) : impl_(std::make_unique<Impl>()) {
  impl_->options = std::move(options);
}

GrpcServer::~GrpcServer() {
  Stop();
}

void GrpcServer::Register(grpc::Service* service) {
  impl_->services.push_back(service);
}

Status GrpcServer::Start() {
  grpc::EnableDefaultHealthCheckService(true);
  // Server reflection (grpc.reflection.v1alpha): generic tools can list the
  // services and fetch their descriptors.
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  std::string address = impl_->options.bind + ":" + std::to_string(impl_->options.port);
  builder.AddListeningPort(address, grpc::InsecureServerCredentials(), &impl_->port);
  builder.SetMaxReceiveMessageSize(impl_->options.max_message_bytes);
  builder.SetMaxSendMessageSize(impl_->options.max_message_bytes);
  // Stream cap and keepalive (docs/security.md, "Memory limits"); 0 = gRPC's default.
  for (auto [name, value] :
       {std::pair{GRPC_ARG_MAX_CONCURRENT_STREAMS, impl_->options.max_concurrent_streams},
        std::pair{GRPC_ARG_KEEPALIVE_TIME_MS, impl_->options.keepalive_time_ms},
        std::pair{GRPC_ARG_KEEPALIVE_TIMEOUT_MS, impl_->options.keepalive_timeout_ms}}) {
    if (value > 0) builder.AddChannelArgument(name, static_cast<int>(value));
  }
  for (grpc::Service* s : impl_->services) builder.RegisterService(s);
  builder.RegisterCallbackGenericService(&impl_->unimplemented);
  impl_->server = builder.BuildAndStart();
  if (!impl_->server || impl_->port == 0) {
    impl_->server.reset();
    return Unavailable("cannot listen for gRPC on " + address);
  }
  return OkStatus();
}

void GrpcServer::Stop() {
  if (!impl_->server) return;
  impl_->server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
  impl_->server.reset();
}

uint16_t GrpcServer::port() const {
  return static_cast<uint16_t>(impl_->port);
}

}  // namespace ringkv::net
