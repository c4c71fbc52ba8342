#include "net/grpc_server.h"

#include <grpc/grpc_security.h>
#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/generic/async_generic_service.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/health_check_service_interface.h>

#include <optional>
#include <string_view>
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

std::string_view View(const grpc_slice& s) {
  return {reinterpret_cast<const char*>(GRPC_SLICE_START_PTR(s)), GRPC_SLICE_LENGTH(s)};
}

// gRPC core's auth metadata processor over CheckGrpcCall: runs on every call
// before any handler, with the call's metadata including ":path". `state` is
// the guards, owned by the server's Impl, which outlives every listener.
void ProcessAuthMetadata(void* state, grpc_auth_context* /*context*/, const grpc_metadata* md,
                         size_t num_md, grpc_process_auth_metadata_done_cb done, void* user_data) {
  const auto& guards = *static_cast<const std::vector<GrpcServiceGuard>*>(state);
  auto lookup = [&](std::string_view key) -> std::optional<std::string_view> {
    for (size_t i = 0; i < num_md; ++i) {
      if (View(md[i].key) == key) return View(md[i].value);
    }
    return std::nullopt;
  };
  std::optional<std::string_view> path = lookup(":path");
  Status s = CheckGrpcCall(guards, path.value_or(""), lookup);
  if (s.ok()) {
    done(user_data, nullptr, 0, nullptr, 0, GRPC_STATUS_OK, nullptr);
  } else {
    done(user_data, nullptr, 0, nullptr, 0, GRPC_STATUS_UNAUTHENTICATED, s.message().c_str());
  }
}

// Plaintext listening ports whose calls pass through ProcessAuthMetadata.
// (gRPC C++'s InsecureServerCredentials() refuses a metadata processor; the
// core credentials under it accept one.) TLS credentials take the same
// processor through SetAuthMetadataProcessor.
class GuardedInsecureCredentials final : public grpc::ServerCredentials {
 public:
  explicit GuardedInsecureCredentials(const std::vector<GrpcServiceGuard>* guards)
      : guards_(guards) {}
  void SetAuthMetadataProcessor(const std::shared_ptr<grpc::AuthMetadataProcessor>&) override {}

 private:
  int AddPortToServer(const std::string& addr, grpc_server* server) override {
    grpc_server_credentials* creds = grpc_insecure_server_credentials_create();
    grpc_auth_metadata_processor processor{};
    processor.process = ProcessAuthMetadata;
    processor.state = const_cast<std::vector<GrpcServiceGuard>*>(guards_);
    grpc_server_credentials_set_auth_metadata_processor(creds, processor);
    int port = grpc_server_add_http2_port(server, addr.c_str(), creds);
    grpc_server_credentials_release(creds);
    return port;
  }
  const std::vector<GrpcServiceGuard>* guards_;
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
  std::shared_ptr<grpc::ServerCredentials> creds =
      impl_->options.guards.empty()
          ? grpc::InsecureServerCredentials()
          : std::make_shared<GuardedInsecureCredentials>(&impl_->options.guards);
  builder.AddListeningPort(address, creds, &impl_->port);
  builder.SetMaxReceiveMessageSize(impl_->options.max_message_bytes);
  builder.SetMaxSendMessageSize(impl_->options.max_message_bytes);
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
