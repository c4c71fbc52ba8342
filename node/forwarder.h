// Forwarder: the node's ForwardLink (node/commands/forward_link.h). Sends a
// command for keys this node does not own to their owner in one hop over
// the peer link to that node (node/link/peer_links.h: one pipelined
// connection per peer, the batch carrying this node's map epoch); installs
// the newer map an owner sends back with a -MOVED answer (the caller then
// places the keys again), and fetches the owner's map when a reply shows a
// newer epoch. A peer without a link listener (an older ringkv, whose
// OpenLink answers UNIMPLEMENTED) is sent ringkv.v1.Peer/Forward calls
// instead, as before the links. With cluster TLS the links are mutual TLS
// too (PeerLinkOptions::tls), so forwards take them all the same.
//
// ForwardAsync does not wait: its continuation (`done`) runs on the links'
// thread when the reply needs nothing more, and on the `slow` pool when it
// does (a -MOVED: install or fetch a map, then place again — work that may
// block), one at a time per lane of keys in the order the replies came, so
// commands on one key are placed again in the order they were sent; with
// the gRPC fallback, on a gRPC thread.
//
// Thread safety: all methods may be called concurrently.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "base/thread_annotations.h"
#include "base/worker_pool.h"
#include "node/commands/forward_link.h"
#include "node/link/peer_links.h"
#include "node/peer_channels.h"
#include "node/view/cluster_counters.h"
#include "node/view/cluster_view.h"

namespace ringkv::node {

class Forwarder final : public ForwardLink {
 public:
  // Not owned; all must outlive the Forwarder.
  Forwarder(PeerLinks& links, PeerChannels& peers, ClusterView& view, ClusterCounters& counters,
            WorkerPool& slow);
  ~Forwarder() override;  // waits for the forwards in flight

  // This node's advertised gRPC "host:port" (receivers fetch a newer map
  // from it); set once the listener has its port.
  void SetSelfGrpc(std::string addr) EXCLUDES(mu_);

  Outcome Forward(const ClusterSnapshot& view, uint32_t owner,
                  std::span<const std::string_view> args, std::string& out) EXCLUDES(mu_) override;
  void ForwardAsync(const ClusterSnapshot& view, uint32_t owner,
                    std::span<const std::string_view> args, Done done) EXCLUDES(mu_) override;
  void SendPending() override { links_.SendPending(); }

  // Waits until every ForwardAsync call has run its `done` (each is bounded
  // by the peer deadline). The owner of what the continuations use (the
  // Dispatcher) calls it before destroying that.
  void Drain() EXCLUDES(mu_);

  // Fetches the map of the process at `addr` (ringkv.v1.Registry/GetMap) and
  // installs it when newer. Returns whether this node's epoch advanced.
  bool RefreshFrom(const std::string& addr);

 private:
  // Where a command goes: the owner, and the epoch its keys were placed with.
  struct Target {
    std::string id;
    std::string grpc;
    uint64_t epoch = 0;
  };
  // The owner's target, or nullopt after appending the error to `out`.
  std::optional<Target> Aim(const ClusterSnapshot& view, uint32_t owner, std::string& out);
  // What a forward does once the owner answered (or failed). Installs or
  // fetches a map for a -MOVED (blocking), and for a newer epoch when
  // `may_block`, else asks the slow pool to.
  Outcome Conclude(const Target& t, const LinkReply& reply, std::string& out, bool may_block);
  void RefreshSoon(const std::string& addr, uint64_t epoch);
  // Runs `task` on slow_ after the tasks posted before it to lane `lane`.
  void PostInOrder(size_t lane, std::function<void()> task);
  // A continuation that calls `done`, then counts the forward finished.
  void Finish(const Done& done, Outcome outcome, std::string reply) EXCLUDES(mu_);
  void Begin() EXCLUDES(mu_);
  void End() EXCLUDES(mu_);

  // The gRPC fallback: peers that answered OpenLink with UNIMPLEMENTED.
  bool GrpcOnly(const std::string& grpc) EXCLUDES(mu_);
  void MarkGrpcOnly(const std::string& grpc) EXCLUDES(mu_);
  Outcome ForwardGrpc(const Target& t, std::span<const std::string_view> args, std::string& out)
      EXCLUDES(mu_);
  void ForwardGrpcAsync(const Target& t, std::span<const std::string_view> args, Done done)
      EXCLUDES(mu_);
  struct GrpcCall;
  // The most argument bytes one Peer/Forward call carries.
  uint64_t ForwardCapBytes() const { return peers_.max_message_bytes() - kMessageHeadroomBytes; }
  std::unique_ptr<GrpcCall> PrepareGrpc(const Target& t, std::span<const std::string_view> args)
      EXCLUDES(mu_);
  static LinkReply FromGrpc(const GrpcCall& call, const grpc::Status& s);

  PeerLinks& links_;
  PeerChannels& peers_;
  ClusterView& view_;
  ClusterCounters& counters_;
  WorkerPool& slow_;
  mutable Mutex mu_;
  CondVar idle_;  // in_flight_ reached 0
  std::string self_grpc_ GUARDED_BY(mu_);
  // ForwardAsync calls whose `done` has not returned; Drain waits on idle_.
  std::atomic<uint64_t> in_flight_{0};
  std::map<std::string, int64_t> grpc_only_until_ GUARDED_BY(mu_);  // steady ms, by gRPC addr
  std::atomic<size_t> grpc_only_{0};     // grpc_only_until_.size(), read without the lock
  std::atomic<uint64_t> refreshing_{0};  // the newest epoch a background fetch was started for
  // Lanes of slow_ work by key (a hash of the first argument after the name).
  struct Lane {
    Mutex mu;
    std::deque<std::function<void()>> tasks GUARDED_BY(mu);
    bool running GUARDED_BY(mu) = false;  // a pool task is draining `tasks`
  };
  std::array<Lane, 8> lanes_;
  void RunLane(Lane& lane);
};

}  // namespace ringkv::node
