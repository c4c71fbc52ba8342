// The client side of ringkv's gRPC, written once: a cache of channels by
// "host:port", a deadline on a call's context, and the conversions between a
// ringkv Status and a grpc::Status (the codes are gRPC's, value for value, so
// nothing is lost either way). A channel may carry credentials: metadata
// added to every call on it (the cluster secret, net/grpc_auth.h).
//
// Thread safety: GrpcChannels may be used from any thread; the functions are
// pure.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/status.h"
#include "base/thread_annotations.h"

namespace grpc {
class Channel;
class ClientContext;
class Status;
}  // namespace grpc

namespace ringkv::net {

struct GrpcChannelOptions {
  // Largest message sent or received; matches the listener's limit
  // (GrpcServerOptions::max_message_bytes).
  int max_message_bytes = 64 << 20;
  // Reconnect back-off after a failed connect, in ms; 0 = gRPC's default
  // (1 s initial, 120 s max).
  int initial_reconnect_backoff_ms = 0;
  int max_reconnect_backoff_ms = 0;
  // Sent as metadata with every call on the channel, e.g. the cluster secret
  // (ClusterSecretMetadata); empty = none.
  std::vector<std::pair<std::string, std::string>> metadata;
};

// The metadata carrying `cluster_secret`; empty when the secret is empty.
std::vector<std::pair<std::string, std::string>> ClusterSecretMetadata(
    const std::string& cluster_secret);

// One plaintext channel per address, created on first use and kept for the
// life of the cache (gRPC reconnects a channel by itself).
class GrpcChannels {
 public:
  explicit GrpcChannels(GrpcChannelOptions options = {}) : options_(std::move(options)) {}
  GrpcChannels(const GrpcChannels&) = delete;
  GrpcChannels& operator=(const GrpcChannels&) = delete;

  // Never null. Does not connect: the first call on it does.
  std::shared_ptr<grpc::Channel> Get(const std::string& addr);

 private:
  const GrpcChannelOptions options_;
  Mutex mu_;
  std::map<std::string, std::shared_ptr<grpc::Channel>> channels_ GUARDED_BY(mu_);
};

// Sets `ctx`'s deadline `timeout_ms` from now. Call before the RPC starts.
void SetDeadline(grpc::ClientContext& ctx, uint32_t timeout_ms);

Status FromGrpc(const grpc::Status& s);
// As above, the message prefixed "<what>: " when `s` is not OK — names the
// call and the peer, e.g. "SetMap on 127.0.0.1:50051: connection refused".
Status FromGrpc(const grpc::Status& s, std::string_view what);
grpc::Status ToGrpc(const Status& s);

}  // namespace ringkv::net
