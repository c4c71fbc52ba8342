// ArcMover: the source side of MoveArcs. One pass of Engine::ForEachInArcs
// over every EXPORT arc; each entry goes to the target whose arcs hold it,
// batched (keys / bytes) onto one client-streaming Transfer call per target,
// so gRPC flow control paces the copy. Progress is written to the router's
// stream every 100 ms from a monitor thread, which also cancels the Transfer
// calls when the router cancels or a target stops taking data.
//
// Thread safety: Run may be called concurrently (each call is one pass).
#pragma once

#include <chrono>
#include <cstdint>

#include "base/clock.h"
#include "node/metrics.h"
#include "node/migration.h"
#include "node/peer_client.h"
#include "store/engine.h"

namespace ringkv::node::internal {

class ArcMover {
 public:
  // `stall_ms`: a Transfer write blocked this long fails the pass (kUnavailable).
  ArcMover(store::Engine& engine, const Clock& clock, Metrics& metrics, PeerChannels& peers,
           uint32_t stall_ms, std::chrono::microseconds yield = CpuYielder::kDefaultInterval)
      : engine_(engine),
        clock_(clock),
        metrics_(metrics),
        peers_(peers),
        stall_ms_(stall_ms),
        yield_(yield) {}

  // Streams `view`'s EXPORT arcs to their targets. OK after done = true was
  // written; kCancelled when the router cancelled; the failing target's code
  // (kUnavailable for a lost or stalled one) otherwise.
  grpc::Status Run(grpc::ServerContext* ctx, const MigrationView& view,
                   const ringkv::v1::MoveRequest& request,
                   grpc::ServerWriter<ringkv::v1::MoveProgress>* writer);

 private:
  store::Engine& engine_;
  const Clock& clock_;
  Metrics& metrics_;
  PeerChannels& peers_;
  const uint32_t stall_ms_;
  const std::chrono::microseconds yield_;
};

}  // namespace ringkv::node::internal
