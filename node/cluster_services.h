// The node's cluster-facing gRPC services besides ringkv.v1.Peer:
//  - RegistryRelay (ringkv.v1.Registry): GetMap answers this node's map;
//    Join is relayed to the router this node learned from SetMap, so a new
//    node may join through any node.
//  - DhtService (crustyring's dht.DhtNode): QueryDht runs GET / SET ... GET /
//    GETDEL through the dispatcher, so a key this node does not own is
//    forwarded to its owner like any other command.
//
// Thread safety: gRPC calls the handlers concurrently; both are stateless
// shells over thread-safe parts.
#pragma once

#include <cstdint>

#include "dht/dht.grpc.pb.h"
#include "node/commands/dispatcher.h"
#include "node/peer_channels.h"
#include "node/view/cluster_view.h"
#include "ringkv/v1/peer.grpc.pb.h"

namespace ringkv::node {

class RegistryRelay final : public ringkv::v1::Registry::Service {
 public:
  // Not owned; must outlive the service. `join_timeout_ms`: deadline of a relayed Join.
  RegistryRelay(ClusterView& view, PeerChannels& peers, uint32_t join_timeout_ms)
      : view_(view), peers_(peers), join_timeout_ms_(join_timeout_ms) {}

  grpc::Status Join(grpc::ServerContext* ctx, const ringkv::v1::JoinRequest* req,
                    ringkv::v1::JoinReply* reply) override;
  grpc::Status GetMap(grpc::ServerContext* ctx, const ringkv::v1::GetMapRequest* req,
                      ringkv::v1::GetMapReply* reply) override;

 private:
  ClusterView& view_;
  PeerChannels& peers_;
  const uint32_t join_timeout_ms_;
};

class DhtService final : public dht::DhtNode::Service {
 public:
  explicit DhtService(Dispatcher& dispatcher) : dispatcher_(dispatcher) {}

  grpc::Status QueryDht(grpc::ServerContext* ctx, const dht::Query* query,
                        dht::QueryResult* result) override;

 private:
  Dispatcher& dispatcher_;
};

// The messages of crustyring's dht.DhtNode, worded as it words them.
inline constexpr std::string_view kDhtKeyMissing = "Key not present in database.";
inline constexpr std::string_view kDhtNoValue = "Value not provided.";

}  // namespace ringkv::node
