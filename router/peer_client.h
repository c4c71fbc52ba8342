// PeerClient: the router's side of ringkv.v1.Peer (proto/ringkv/v1/peer.proto)
// — one cached channel per node gRPC address, unary calls with a deadline —
// and GrpcArcMover, the ArcMover for ringkv nodes built on it.
//
// Thread safety: all methods are safe to call concurrently.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "base/status.h"
#include "router/arc_mover.h"

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
};

class PeerClient {
 public:
  // `rpc_timeout_ms`: deadline of each unary call.
  explicit PeerClient(uint32_t rpc_timeout_ms) : rpc_timeout_ms_(rpc_timeout_ms) {}

  StatusOr<PeerStatus> GetStatus(const std::string& grpc_addr);
  // Returns the node's epoch after the call.
  StatusOr<uint64_t> SetMap(const std::string& grpc_addr, const std::string& map_json);

  std::shared_ptr<grpc::Channel> Channel(const std::string& grpc_addr);
  uint32_t rpc_timeout_ms() const { return rpc_timeout_ms_; }

 private:
  const uint32_t rpc_timeout_ms_;
  std::mutex mu_;
  std::map<std::string, std::shared_ptr<grpc::Channel>> channels_;
};

// The ArcMover over ringkv nodes: BeginMigration / Status / MoveArcs /
// EndMigration / SetMap. A copy call whose stream goes silent for
// `stall_ms` (nodes report at least every 200 ms) is cancelled and fails
// with kUnavailable, so the migrator retries it.
std::unique_ptr<ArcMover> NewGrpcArcMover(PeerClient& client, uint32_t stall_ms = 15000);

}  // namespace ringkv::router
