// Live router settings that change without a restart (PUT /config, the YAML
// file, SIGHUP), and the small pieces of state the HTTP API shares.
//
// Thread safety: LiveSettings is guarded by its own mutex.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>

#include "base/thread_annotations.h"
#include "cluster/health.h"

namespace ringkv::router {

class LiveSettings {
 public:
  cluster::HealthOptions health() const {
    MutexLock lock(mu_);
    return health_;
  }
  void set_health(cluster::HealthOptions h) {
    MutexLock lock(mu_);
    health_ = h;
  }
  std::string log_level() const {
    MutexLock lock(mu_);
    return log_level_;
  }
  void set_log_level(std::string level) {
    MutexLock lock(mu_);
    log_level_ = std::move(level);
  }

 private:
  mutable Mutex mu_;
  cluster::HealthOptions health_ GUARDED_BY(mu_);
  std::string log_level_ GUARDED_BY(mu_) = "info";
};

// Validates health options: interval >= 10 ms, 1 <= timeout <= interval... .
std::string ValidateHealth(const cluster::HealthOptions& h);  // empty when valid

}  // namespace ringkv::router
