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

#include <cstdint>
#include <memory>
#include <string>

#include "base/thread_annotations.h"
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
  void SetSelfGrpc(std::string addr) EXCLUDES(mu_);

  Outcome Forward(const ClusterSnapshot& view, uint32_t owner,
                  std::span<const std::string_view> args, std::string& out) EXCLUDES(mu_) override;
  void ForwardAsync(const ClusterSnapshot& view, uint32_t owner,
                    std::span<const std::string_view> args, Done done) EXCLUDES(mu_) override;

  // Waits until every ForwardAsync call has run its `done` (each is bounded
  // by the peer deadline). The owner of what the continuations use (the
  // Dispatcher) calls it before destroying that.
  void Drain() EXCLUDES(mu_);

  // Fetches the map of the process at `addr` (ringkv.v1.Registry/GetMap) and
  // installs it when newer. Returns whether this node's epoch advanced.
  bool RefreshFrom(const std::string& addr);

 private:
  PeerChannels& peers_;
  ClusterView& view_;
  ClusterCounters& counters_;
  mutable Mutex mu_;
  CondVar idle_;  // in_flight_ reached 0
  std::string self_grpc_ GUARDED_BY(mu_);
  uint64_t in_flight_ GUARDED_BY(mu_) = 0;  // ForwardAsync calls whose `done` has not returned

  struct Call;
  // The request for `args`, or nullptr after appending the error to `out`.
  std::unique_ptr<Call> Prepare(const ClusterSnapshot& view, uint32_t owner,
                                std::span<const std::string_view> args, std::string& out)
      EXCLUDES(mu_);
  // What Forward does once the owner answered (or failed).
  Outcome Conclude(Call& call, const grpc::Status& s, std::string& out);
};

}  // namespace ringkv::node
