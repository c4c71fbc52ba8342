// HealthChecker: probes every node each interval (/check-alive for ringkv
// nodes, PING for redis) and applies the transitions the HealthTracker
// decides: a node that fails N consecutive probes is marked down (ejected
// from the ring, its keys go cold elsewhere); when it answers again it is
// flushed first, then re-added, so no stale value comes back.
//
// Thread safety: runs on its own thread; Stop() joins it.
#pragma once

#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>

#include "router/admin.h"
#include "router/registry.h"

namespace ringkv::router {

class HealthChecker {
 public:
  HealthChecker(Registry& registry, LiveSettings& settings, std::string backend_password);
  ~HealthChecker();

  void Start();
  void Stop();
  // One round of probes, synchronously (also used at start-up).
  void RunOnce();

 private:
  void Loop();
  void OnWentDown(const cluster::NodeInfo& node);
  void OnCameBack(const cluster::NodeInfo& node);

  Registry& registry_;
  LiveSettings& settings_;
  std::string backend_password_;
  cluster::HealthTracker tracker_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace ringkv::router
