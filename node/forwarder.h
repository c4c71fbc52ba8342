// Forwarder: the gRPC ForwardLink (node/commands/forward_link.h). Sends a command for
// keys this node does not own to their owner with ringkv.v1.Peer/Forward,
// one hop, carrying this node's map epoch; installs the newer map an owner
// sends back with a -MOVED answer (the caller then places the keys again),
// and fetches the owner's map when a reply shows a newer epoch. ForwardAsync
// uses gRPC's callback API: the caller's thread does not wait, and the
// continuation (`done`) runs on a gRPC thread.
//
// Thread safety: all methods may be called concurrently.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>

#include "node/commands/forward_link.h"
#include "node/peer_channels.h"
#include "node/view/cluster_counters.h"
#include "node/view/cluster_view.h"

namespace ringkv::node {

class Forwarder final : public ForwardLink {
 public:
  // Not owned; all must outlive the Forwarder.
  Forwarder(PeerChannels& peers, ClusterView& view, ClusterCounters& counters);
  ~Forwarder() override;  // waits for the calls in flight

  // This node's advertised gRPC "host:port" (receivers fetch a newer map
  // from it); set once the listener has its port.
  void SetSelfGrpc(std::string addr);

  Outcome Forward(const ClusterSnapshot& view, uint32_t owner,
                  std::span<const std::string_view> args, std::string& out) override;
  void ForwardAsync(const ClusterSnapshot& view, uint32_t owner,
                    std::span<const std::string_view> args, Done done) override;

  // Waits until every ForwardAsync call has run its `done` (each is bounded
  // by the peer deadline). The owner of what the continuations use (the
  // Dispatcher) calls it before destroying that.
  void Drain();

  // Fetches the map of the process at `addr` (ringkv.v1.Registry/GetMap) and
  // installs it when newer. Returns whether this node's epoch advanced.
  bool RefreshFrom(const std::string& addr);

 private:
  PeerChannels& peers_;
  ClusterView& view_;
  ClusterCounters& counters_;
  mutable std::mutex mu_;
  std::condition_variable idle_;
  std::string self_grpc_;   // guarded by mu_
  uint64_t in_flight_ = 0;  // ForwardAsync calls whose `done` has not returned; guarded by mu_

  struct Call;
  // The request for `args`, or nullptr after appending the error to `out`.
  std::unique_ptr<Call> Prepare(const ClusterSnapshot& view, uint32_t owner,
                                std::span<const std::string_view> args, std::string& out);
  // What Forward does once the owner answered (or failed).
  Outcome Conclude(Call& call, const grpc::Status& s, std::string& out);
};

}  // namespace ringkv::node
