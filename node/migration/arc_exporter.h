// ArcExporter: the old owner's side of MoveArcs — streams the EXPORT arcs of
// a migration to their new owners (docs/design.md "Moving keys"). One pass of
// Engine::ForEachInArcs over every EXPORT arc; each entry goes to the target
// whose arcs hold it, batched (keys / bytes, a batch at most about one chunk)
// onto one client-streaming Transfer call per target, so gRPC flow control
// paces the copy. A value larger than a chunk goes as pieces
// (entry_chunks.h), so no message outgrows the nodes' gRPC message cap. Progress is
// written to the router's stream every 100 ms by a monitor (a PeriodicTask), which
// also cancels the Transfer calls when the router cancels or a target stops
// taking data.
//
// Thread safety: Run may be called concurrently (each call is one pass).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "base/clock.h"
#include "base/process.h"
#include "base/status.h"
#include "node/migration/migration_roles.h"
#include "node/view/cluster_counters.h"
#include "ringkv/v1/peer.grpc.pb.h"
#include "store/engine.h"

namespace ringkv::node {

// The ringkv.v1.Peer stub of a node's gRPC "host:port" (node/peer_channels.h
// keeps one per peer).
using PeerStubs = std::function<std::shared_ptr<ringkv::v1::Peer::Stub>(const std::string& addr)>;

class ArcExporter {
 public:
  // `stall_ms`: a Transfer write blocked this long fails the pass (kUnavailable).
  // `chunk_bytes` >= 1: the most value bytes in one Entry, and in one batch.
  ArcExporter(store::Engine& engine, const Clock& clock, ClusterCounters& counters, PeerStubs peers,
              uint32_t stall_ms, uint64_t chunk_bytes,
              std::chrono::microseconds yield = CpuYielder::kDefaultInterval)
      : engine_(engine),
        clock_(clock),
        counters_(counters),
        peers_(std::move(peers)),
        stall_ms_(stall_ms),
        chunk_bytes_(chunk_bytes),
        yield_(yield) {}

  // Streams the EXPORT arcs of `roles` to their targets. OK after done = true
  // was written; kCancelled when the router cancelled; the failing target's
  // code (kUnavailable for a lost or stalled one) otherwise. The caller
  // answers the router with net::ToGrpc of it.
  Status Run(grpc::ServerContext* ctx, const RoleSnapshot& roles,
             const ringkv::v1::MoveRequest& request,
             grpc::ServerWriter<ringkv::v1::MoveProgress>* writer);

 private:
  store::Engine& engine_;
  const Clock& clock_;
  ClusterCounters& counters_;
  const PeerStubs peers_;
  const uint32_t stall_ms_;
  const uint64_t chunk_bytes_;
  const std::chrono::microseconds yield_;
};

}  // namespace ringkv::node
