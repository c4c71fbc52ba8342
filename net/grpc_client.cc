#include "net/grpc_client.h"

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <map>

#include "net/grpc_auth.h"

namespace ringkv::net {

namespace {

// Adds fixed metadata to every call of the channel it is installed on.
class AddMetadataInterceptor final : public grpc::experimental::Interceptor {
 public:
  explicit AddMetadataInterceptor(const std::vector<std::pair<std::string, std::string>>& md)
      : md_(md) {}
  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
    if (methods->QueryInterceptionHookPoint(
            grpc::experimental::InterceptionHookPoints::PRE_SEND_INITIAL_METADATA)) {
      std::multimap<std::string, std::string>* sent = methods->GetSendInitialMetadata();
      for (const auto& [k, v] : md_) sent->emplace(k, v);
    }
    methods->Proceed();
  }

 private:
  const std::vector<std::pair<std::string, std::string>>& md_;
};

// Owned by its channel, so the metadata lives as long as any call on it.
class AddMetadataFactory final : public grpc::experimental::ClientInterceptorFactoryInterface {
 public:
  explicit AddMetadataFactory(std::vector<std::pair<std::string, std::string>> md)
      : md_(std::move(md)) {}
  grpc::experimental::Interceptor* CreateClientInterceptor(
      grpc::experimental::ClientRpcInfo* /*info*/) override {
    return new AddMetadataInterceptor(md_);
  }

 private:
  const std::vector<std::pair<std::string, std::string>> md_;
};

}  // namespace

std::vector<std::pair<std::string, std::string>> ClusterSecretMetadata(
    const std::string& cluster_secret) {
  if (cluster_secret.empty()) return {};
  return {{std::string(kClusterSecretMetadata), cluster_secret}};
}

std::shared_ptr<grpc::Channel> GrpcChannels::Get(const std::string& addr) {
  MutexLock lock(mu_);
  std::shared_ptr<grpc::Channel>& channel = channels_[addr];
  if (!channel) {
    grpc::ChannelArguments args;
    args.SetMaxReceiveMessageSize(options_.max_message_bytes);
    args.SetMaxSendMessageSize(options_.max_message_bytes);
    if (options_.initial_reconnect_backoff_ms > 0) {
      args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, options_.initial_reconnect_backoff_ms);
    }
    if (options_.max_reconnect_backoff_ms > 0) {
      args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, options_.max_reconnect_backoff_ms);
    }
    if (options_.metadata.empty()) {
      channel = grpc::CreateCustomChannel(addr, grpc::InsecureChannelCredentials(), args);
    } else {
      std::vector<std::unique_ptr<grpc::experimental::ClientInterceptorFactoryInterface>> chain;
      chain.push_back(std::make_unique<AddMetadataFactory>(options_.metadata));
      channel = grpc::experimental::CreateCustomChannelWithInterceptors(
          addr, grpc::InsecureChannelCredentials(), args, std::move(chain));
    }
  }
  return channel;
}

void SetDeadline(grpc::ClientContext& ctx, uint32_t timeout_ms) {
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::milliseconds(timeout_ms));
}

Status FromGrpc(const grpc::Status& s) {
  if (s.ok()) return OkStatus();
  return Status(static_cast<StatusCode>(s.error_code()), s.error_message());
}

Status FromGrpc(const grpc::Status& s, std::string_view what) {
  if (s.ok()) return OkStatus();
  return Status(static_cast<StatusCode>(s.error_code()),
                std::string(what) + ": " + s.error_message());
}

grpc::Status ToGrpc(const Status& s) {
  if (s.ok()) return grpc::Status::OK;
  return grpc::Status(static_cast<grpc::StatusCode>(s.code()), s.message());
}

}  // namespace ringkv::net
