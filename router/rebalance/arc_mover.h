// ArcMover: the per-node steps of a migration, behind one small interface so
// the Migrator (router/rebalance/migrator.h) runs the same state machine whatever the
// back ends are. GrpcArcMover (router/rebalance/node_client.h) drives ringkv nodes over
// ringkv.v1.Peer; Redis back ends get their own mover (SCAN + MIGRATE, see
// router/rebalance/redis_mover.h).
//
// Every call is idempotent: the Migrator re-sends Begin after a failure or a
// restart, and calls Move again after a cancelled or failed copy.
//
// Thread safety: implementations are called concurrently from the migrator's
// threads (one Move per source at a time).
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>

#include "base/status.h"
#include "cluster/migration.h"

namespace ringkv::router {

struct MoveLimits {
  uint64_t max_keys_per_sec = 0;  // 0 = unlimited
  uint64_t max_bytes_per_sec = 0;
};

// Running totals of one Move call (a new call starts from zero).
struct MoveCounts {
  uint64_t keys_sent = 0;
  uint64_t bytes_sent = 0;
  uint64_t keys_scanned = 0;
};

class ArcMover {
 public:
  virtual ~ArcMover() = default;

  // Tells `node_id` its part in `m`: the arcs it imports from their old
  // owners and exports to their new ones. Returns the entries it holds
  // (for estimates; 0 when unknown).
  virtual StatusOr<uint64_t> Begin(const cluster::Migration& m, const std::string& node_id) = 0;

  // Whether `node_id` still holds its part of `m` (false after it restarted).
  virtual StatusOr<bool> HasPart(const cluster::Migration& m, const std::string& node_id) = 0;

  // Copies every arc `source_id` gives away in `m` to the new owners. Calls
  // `progress` as counts arrive. Returns OK once all is copied, kCancelled
  // soon after `stop` becomes true, another error if the copy failed.
  virtual Status Move(const cluster::Migration& m, const std::string& source_id, MoveLimits limits,
                      const std::function<void(const MoveCounts&)>& progress,
                      const std::atomic<bool>& stop) = 0;

  // Ends `node_id`'s part: completed (importers keep, exporters drop their
  // moved arcs after `drop_after_ms`) or cancelled (the reverse).
  virtual Status End(const cluster::Migration& m, const std::string& node_id, bool cancelled,
                     uint32_t drop_after_ms) = 0;

  // Tells the node the current cluster map (JSON of cluster/cluster_map.h).
  // Back ends that keep no map accept and ignore it.
  virtual Status PushMap(const cluster::NodeInfo& node, const std::string& map_json) = 0;
};

}  // namespace ringkv::router
