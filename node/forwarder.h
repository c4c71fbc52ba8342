// Forwarder: the gRPC ForwardLink (node/forward_link.h). Sends a command for
// keys this node does not own to their owner with ringkv.v1.Peer/Forward,
// one hop, carrying this node's map epoch; installs the newer map an owner
// sends back with a -MOVED answer (the caller then places the keys again),
// and fetches the owner's map when a reply shows a newer epoch.
//
// Thread safety: all methods may be called concurrently.
#pragma once

#include <cstdint>
#include <mutex>
#include <string>

#include "node/forward_link.h"
#include "node/metrics.h"
#include "node/migration.h"
#include "node/peer_client.h"

namespace ringkv::node {

class Forwarder final : public ForwardLink {
 public:
  // Not owned; all must outlive the Forwarder.
  Forwarder(PeerChannels& peers, Migration& migration, Metrics& metrics);

  // This node's advertised gRPC "host:port" (receivers fetch a newer map
  // from it); set once the listener has its port.
  void SetSelfGrpc(std::string addr);

  Outcome Forward(const MigrationView& view, uint32_t owner, std::span<const std::string_view> args,
                  std::string& out) override;

  // Fetches the map of the process at `addr` (ringkv.v1.Registry/GetMap) and
  // installs it when newer. Returns whether this node's epoch advanced.
  bool RefreshFrom(const std::string& addr);

 private:
  PeerChannels& peers_;
  Migration& migration_;
  Metrics& metrics_;
  mutable std::mutex mu_;
  std::string self_grpc_;  // guarded by mu_
};

}  // namespace ringkv::node
