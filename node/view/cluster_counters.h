// ClusterCounters: what a node counts of its part in the cluster — the map
// it holds, the commands it forwards, the keys it moves. Node Metrics holds
// one and renders it; the parts that count only see this struct.
//
// Thread safety: all fields are atomics, updated with relaxed order; rare
// events, so not striped.
#pragma once

#include <atomic>
#include <cstdint>

#include "node/view/boundary.h"

namespace ringkv::node {

struct ClusterCounters {
  // Moving keys (docs/design.md "Moving keys").
  std::atomic<uint64_t> applied{0};          // arrivals installed (Apply, Transfer, fetch)
  std::atomic<uint64_t> skipped{0};          // arrivals older than what the node held, or expired
  std::atomic<uint64_t> fetched{0};          // keys fetched from an old owner on a miss
  std::atomic<uint64_t> written_through{0};  // entries and tombstones sent to a peer after a write
  std::atomic<uint64_t> tombstones{0};       // tombstones recorded
  std::atomic<uint64_t> sent{0};             // entries streamed to new owners (MoveArcs)
  std::atomic<uint64_t> dropped{0};          // entries deleted after a migration ended
  std::atomic<uint64_t> epoch{0};            // epoch of the cluster map held (0 = none)
  std::atomic<uint64_t> active{0};           // 1 while a migration with roles is held
  // Forwarding: any node serves any key (docs/design.md "Placement and forwarding").
  std::atomic<uint64_t> forwarded{0};        // commands sent to their owner
  std::atomic<uint64_t> forward_errors{0};   // forwards that failed (owner unreachable, ...)
  std::atomic<uint64_t> forward_retries{0};  // forwards retried after a newer map arrived
  std::atomic<uint64_t> forwards_served{0};  // commands other nodes forwarded here
  std::atomic<uint64_t> map_refreshes{0};    // newer maps fetched because a request showed one
  // What the node refused at its boundary (node/view/boundary.h).
  Refusals refused;
};

}  // namespace ringkv::node
