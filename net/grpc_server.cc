#include "net/grpc_server.h"

#include <grpc/grpc_security.h>
#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/generic/async_generic_service.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/health_check_service_interface.h>

#include <optional>
#include <string_view>
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

// The core credentials of a listener: TLS requiring a client certificate the
// CA signed, or plaintext.
grpc_server_credentials* CoreCredentials(const std::optional<GrpcTls>& tls) {
  if (!tls) return grpc_insecure_server_credentials_create();
  grpc_ssl_pem_key_cert_pair pair{tls->key_pem.c_str(), tls->cert_pem.c_str()};
  grpc_ssl_server_certificate_config* config =
      grpc_ssl_server_certificate_config_create(tls->ca_pem.c_str(), &pair, 1);
  grpc_ssl_server_credentials_options* options =
      grpc_ssl_server_credentials_create_options_using_config(
          GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY, config);
  return grpc_ssl_server_credentials_create_with_options(options);  // takes `options`
}

// Listening ports whose calls pass through ProcessAuthMetadata, plaintext or
// TLS. (gRPC C++'s InsecureServerCredentials() refuses a metadata processor;
// the core credentials under it accept one, as the TLS ones do: one
// processor serves both.)
class GuardedCredentials final : public grpc::ServerCredentials {
 public:
  explicit GuardedCredentials(const GrpcServerOptions* options) : options_(options) {}
  void SetAuthMetadataProcessor(const std::shared_ptr<grpc::AuthMetadataProcessor>&) override {}

 private:
  int AddPortToServer(const std::string& addr, grpc_server* server) override {
    grpc_server_credentials* creds = CoreCredentials(options_->tls);
    if (!options_->guards.empty()) {
      grpc_auth_metadata_processor processor{};
      processor.process = ProcessAuthMetadata;
      processor.state = const_cast<std::vector<GrpcServiceGuard>*>(&options_->guards);
      grpc_server_credentials_set_auth_metadata_processor(creds, processor);
    }
    int port = grpc_server_add_http2_port(server, addr.c_str(), creds);
    grpc_server_credentials_release(creds);
    return port;
  }
  const GrpcServerOptions* options_;  // owned by the server's Impl
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
      impl_->options.guards.empty() && !impl_->options.tls
          ? grpc::InsecureServerCredentials()
          : std::make_shared<GuardedCredentials>(&impl_->options);
  builder.AddListeningPort(address, creds, &impl_->port);
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
    return Unavailable("cannot listen for gRPC on " + address +
                       (impl_->options.tls ? " (or the cluster TLS certificate, key or CA is "
                                             "not valid PEM, or the key does not match)"
                                           : ""));
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
