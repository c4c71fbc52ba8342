// NodeClient: the router's side of ringkv.v1.Peer (proto/ringkv/v1/peer.proto)
// — one cached channel per node gRPC address, unary calls with a deadline —
// and GrpcArcMover, the ArcMover for ringkv nodes built on it.
//
// Thread safety: all methods are safe to call concurrently.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "base/status.h"
#include "base/thread_annotations.h"
#include "net/grpc_client.h"
#include "router/rebalance/arc_mover.h"

namespace grpc {
class Channel;
}

namespace ringkv::router {

// What a node's Status RPC reports.
struct PeerStatus {
  std::string id;
  uint64_t epoch = 0;
  std::string migration_id;  // empty when it holds no migration
  uint64_t keys = 0;
  std::string resp_addr;  // "host:port" it advertises for RESP; empty from older nodes
  std::string http_addr;  // and for HTTP
};

class NodeClient {
 public:
  // `rpc_timeout_ms`: deadline of each unary call. `cluster_secret`: sent
  // with every call (net/grpc_auth.h); empty = none.
  explicit NodeClient(uint32_t rpc_timeout_ms, const std::string& cluster_secret = "")
      : rpc_timeout_ms_(rpc_timeout_ms),
        channels_(net::GrpcChannelOptions{.initial_reconnect_backoff_ms = 100,
                                          .max_reconnect_backoff_ms = 1000,
                                          .metadata = net::ClusterSecretMetadata(cluster_secret)}) {
  }
  NodeClient(const NodeClient&) = delete;
  NodeClient& operator=(const NodeClient&) = delete;

  // `timeout_ms`: 0 = rpc_timeout_ms().
  StatusOr<PeerStatus> GetStatus(const std::string& grpc_addr, uint32_t timeout_ms = 0);
  // Returns the node's epoch after the call. The request carries registry().
  // timeout_ms 0 = the client's RPC timeout.
  StatusOr<uint64_t> SetMap(const std::string& grpc_addr, const std::string& map_json,
                            uint32_t timeout_ms = 0);

  // The router's gRPC "host:port", sent with every map (SetMapRequest.registry)
  // so nodes can relay Join to it. Empty until the router's gRPC server runs.
  void set_registry(std::string grpc_addr);
  std::string registry() const;

  // The cached channel to `grpc_addr`, created on first use.
  std::shared_ptr<grpc::Channel> Channel(const std::string& grpc_addr);
  uint32_t rpc_timeout_ms() const { return rpc_timeout_ms_; }

 private:
  const uint32_t rpc_timeout_ms_;
  // A node that restarts is reached again within a second, not gRPC's
  // default back-off of up to two minutes.
  net::GrpcChannels channels_;
  mutable Mutex mu_;
  std::string registry_ GUARDED_BY(mu_);
};

// The ArcMover over ringkv nodes: BeginMigration / Status / MoveArcs /
// EndMigration / SetMap. A copy call whose stream goes silent for
// `stall_ms` (nodes report at least every 200 ms) is cancelled and fails
// with kUnavailable, so the migrator retries it.
std::unique_ptr<ArcMover> NewGrpcArcMover(NodeClient& client, uint32_t stall_ms = 15000);

}  // namespace ringkv::router
