// HealthChecker: probes every node each interval (/check-alive for ringkv
// nodes, PING for redis) and applies the transitions the HealthTracker
// decides: a node that fails N consecutive probes is marked down (at
// replication 1 ejected from the ring, its keys go cold elsewhere; at
// replication >= 2 it stays in the ring and the other replicas serve its
// keys); when it answers M probes again it is marked active again at a new
// epoch. With replication > 1 and health.replace_after_s set, a node down
// that long is removed: a migration gives its keys their N copies back.
// Nothing is flushed, ever, on a ringkv node: it keeps what it holds
// (versions and hints reconcile it; at replication 1 it takes its arcs back
// from its successors by a migration that keeps the newer versions). A redis back end (cache mode)
// is flushed with FLUSHALL before it returns, so no value it held comes back stale over writes its
// successor took meanwhile (docs/design.md, "Health and ejection"). Every good probe clears the
// node's suspect flag in the route table (set by the proxy when a request fails on it).
//
// While a migration runs the ring must not change under it: ejections and
// re-adds are deferred (logged) until it ends. A node that answers again
// after failed probes is handed to `on_node_up` (the migrator re-sends it
// the current map and its part of the migration).
//
// Rounds run on a PeriodicTask whose interval is asked for before every wait,
// so a new health.interval_ms (PUT /config) applies from the next round.
//
// Thread safety: runs on its own thread; Stop() joins it. RunOnce() must not
// run concurrently with the thread (call it before Start or after Stop).
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>

#include "base/periodic_task.h"
#include "net/resp_client.h"
#include "router/map/live_settings.h"
#include "router/map/map_owner.h"

namespace ringkv::router {

class HealthChecker {
 public:
  // What the checker asks of the nodes, behind functions so tests can answer
  // without a network. An empty field does what the router does: ProbeNode,
  // DiscoverNode and FlushRedisNode (router/map/discovery.h) with the
  // backend password; `flush` is called for redis back ends only. `probe`
  // runs on several threads at once.
  struct NodeCalls {
    std::function<Status(const cluster::NodeInfo&, uint32_t timeout_ms)> probe;
    std::function<StatusOr<cluster::NodeInfo>(const std::string& addr,
                                              std::optional<cluster::BackendKind> kind_hint,
                                              uint32_t timeout_ms)>
        discover;
    std::function<Status(const cluster::NodeInfo&, uint32_t timeout_ms)> flush;
  };

  HealthChecker(MapOwner& map_owner, LiveSettings& settings, const net::RespCredentials& backend,
                NodeCalls calls = {});
  ~HealthChecker();

  struct MigrationHooks {
    std::function<bool()> running;                          // a migration is in progress
    std::function<void(const cluster::NodeInfo&)> node_up;  // answers again after failures
    // Replication 1: brings a ringkv node that was down back into the ring
    // by a migration (cluster::MigrationKind::kReturn) from the nodes that
    // served its arcs meanwhile. Unset: it is made active at once.
    std::function<Status(const cluster::NodeInfo& fresh)> rejoin;
    // Replication > 1: removes a node down for health.replace_after_s, so
    // that its keys get their copies back on the other nodes (a migration).
    std::function<Status(const cluster::NodeInfo& node)> replace;
  };
  // Call before Start().
  void set_migration_hooks(MigrationHooks hooks) { hooks_ = std::move(hooks); }

  // Runs a round at once, then one every health.interval_ms.
  void Start();
  void Stop();  // idempotent
  // One round of probes, synchronously (also used at start-up).
  void RunOnce();

 private:
  // `why`: the failure of its last probe.
  void OnWentDown(const cluster::NodeInfo& node, std::string_view why);
  void OnCameBack(const cluster::NodeInfo& node);
  bool MigrationRunning() const { return hooks_.running && hooks_.running(); }
  // Removes the nodes down longer than health.replace_after_s.
  void ReplaceLongDown(const cluster::ClusterMap& map);

  MapOwner& map_owner_;
  LiveSettings& settings_;
  NodeCalls calls_;
  cluster::HealthTracker tracker_;
  MigrationHooks hooks_;
  std::set<std::string> failing_;  // ids whose last probe failed (RunOnce's thread only)
  // Steady-clock ms since which each node is down in the map, and of the
  // last replace attempt (RunOnce's thread only).
  std::map<std::string, int64_t> down_since_ms_;
  int64_t last_replace_ms_ = 0;
  PeriodicTask task_;  // last: its thread uses the rest
};

}  // namespace ringkv::router
