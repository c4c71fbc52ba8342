#include "net/grpc_client.h"

#include <grpcpp/grpcpp.h>

#include <chrono>

namespace ringkv::net {

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
    channel = grpc::CreateCustomChannel(addr, grpc::InsecureChannelCredentials(), args);
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
