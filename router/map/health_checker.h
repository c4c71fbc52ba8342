// HealthChecker: probes every node each interval (/check-alive for ringkv
// nodes, PING for redis) and applies the transitions the HealthTracker
// decides: a node that fails N consecutive probes is marked down (ejected
// from the ring, its keys go cold elsewhere); when it answers again it is
// flushed first, then re-added, so no stale value comes back.
//
// While a migration runs the ring must not change under it: ejections and
// re-adds are deferred (logged) until it ends. A node that answers again
// after failed probes is handed to `on_node_up` (the migrator re-sends it
// the current map and its part of the migration).
//
// Thread safety: runs on its own thread; Stop() joins it.
#pragma once

#include <condition_variable>
#include <functional>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>

#include "router/map/live_settings.h"
#include "router/map/map_owner.h"

namespace ringkv::router {

class HealthChecker {
 public:
  // What the checker asks of the nodes, behind functions so tests can answer
  // without a network. An empty field does what the router does: ProbeNode,
  // DiscoverNode and FlushNode (router/map/discovery.h) with the backend
  // password. `probe` runs on several threads at once.
  struct NodeCalls {
    std::function<Status(const cluster::NodeInfo&, uint32_t timeout_ms)> probe;
    std::function<StatusOr<cluster::NodeInfo>(const std::string& addr,
                                              std::optional<cluster::BackendKind> kind_hint,
                                              uint32_t timeout_ms)>
        discover;
    std::function<Status(const cluster::NodeInfo&, uint32_t timeout_ms)> flush;
  };

  HealthChecker(MapOwner& map_owner, LiveSettings& settings, std::string backend_password,
                NodeCalls calls = {});
  ~HealthChecker();

  struct MigrationHooks {
    std::function<bool()> running;                          // a migration is in progress
    std::function<void(const cluster::NodeInfo&)> node_up;  // answers again after failures
  };
  // Call before Start().
  void set_migration_hooks(MigrationHooks hooks) { hooks_ = std::move(hooks); }

  void Start();
  void Stop();
  // One round of probes, synchronously (also used at start-up).
  void RunOnce();

 private:
  void Loop();
  void OnWentDown(const cluster::NodeInfo& node);
  void OnCameBack(const cluster::NodeInfo& node);
  bool MigrationRunning() const { return hooks_.running && hooks_.running(); }

  MapOwner& map_owner_;
  LiveSettings& settings_;
  NodeCalls calls_;
  cluster::HealthTracker tracker_;
  MigrationHooks hooks_;
  std::set<std::string> failing_;  // ids whose last probe failed (RunOnce's thread only)
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace ringkv::router
