// Autoscaler (cloud-ex2): launches `ringkv worker` processes through the
// provider when jobs wait too long. Every `interval_ms` it reads JOB.STATS
// from the nodes (through JobsApi) and, when the oldest queued job has waited
// longer than `scale_after_ms` and fewer than `max_workers` workers are
// alive, launches one worker named worker-<n>. Workers leave on their own
// (idle exit, then POST /notifyKilled); the autoscaler never stops them.
//
// Alive workers: the provider's running instances of kind "worker" and the
// workers the router has heard from (WorkerRegistry), matched by name or pid;
// what cannot be matched is counted as max(unmatched instances, unmatched
// registry entries), so a worker is never counted twice.
//
// The decision itself (DecideScale) is a pure function.
//
// Thread safety: Start/Stop from one thread; status() from any.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "base/periodic_task.h"
#include "base/thread_annotations.h"
#include "provider/provider.h"
#include "router/jobs/jobs_api.h"

namespace ringkv::router {

struct AutoscalerOptions {
  bool enabled = false;         // autoscale is on and a run_dir is set
  uint32_t interval_ms = 1000;  // tick period
  uint32_t scale_after_ms = 15000;
  uint32_t max_workers = 4;
  std::string worker_idle_exit = "10m";  // passed to the worker as --idle-exit
  uint32_t worker_threads = 1;           // passed to the worker as --threads
  std::string router_url;                // passed as --router, e.g. http://127.0.0.1:8080
  // Passed as --password-file: the router's requirepass_file; empty = none
  // (a password from RINGKV_REQUIREPASS reaches workers through the
  // environment they inherit).
  std::string password_file;
  // Set when the router serves HTTPS (http_tls): passed as the worker's
  // --router-tls-ca-cert-file, --router-tls-cert-file and
  // --router-tls-key-file, and router_url is then host:port. The router's
  // own certificate doubles as the workers' client certificate.
  std::string router_tls_ca_cert_file;
  std::string router_tls_cert_file;
  std::string router_tls_key_file;
};

struct ScaleInputs {
  uint64_t queued = 0;
  int64_t oldest_age_ms = 0;  // of the oldest queued job
  size_t alive = 0;
  uint32_t max_workers = 0;
  uint32_t scale_after_ms = 0;
};

struct ScaleDecision {
  enum class Kind { kNoQueue, kYoung, kAtMax, kLaunch };
  Kind kind = Kind::kNoQueue;
  std::string reason;  // "oldest job waited 16.2 s > 15 s, workers 1/4"
};
ScaleDecision DecideScale(const ScaleInputs& in);

size_t CountAliveWorkers(const std::vector<provider::Instance>& instances,
                         const std::vector<WorkerRegistry::Worker>& seen);
// worker-<n> with the smallest n >= 1 no running instance uses.
std::string NextWorkerName(const std::vector<provider::Instance>& instances);

class Autoscaler {
 public:
  Autoscaler(AutoscalerOptions options, JobsApi& jobs,
             std::unique_ptr<provider::Provider> provider);
  ~Autoscaler();

  void Start();  // no-op unless enabled
  void Stop();   // idempotent; waits for a launch in progress
  // One decision (and possibly one launch); Start's thread calls it.
  void Tick();
  AutoscalerStatus status() const;

 private:
  // Runs the (blocking) launch without mu_, then records it under mu_.
  void Launch(const std::string& reason, const std::vector<provider::Instance>& instances)
      EXCLUDES(mu_);

  const AutoscalerOptions options_;
  JobsApi& jobs_;
  std::unique_ptr<provider::Provider> provider_;
  mutable Mutex mu_;
  uint64_t launches_ GUARDED_BY(mu_) = 0;
  size_t alive_ GUARDED_BY(mu_) = 0;
  std::string last_decision_ GUARDED_BY(mu_);
  ScaleDecision::Kind last_kind_ GUARDED_BY(mu_){};  // logs only changes
  int64_t retry_after_ms_ GUARDED_BY(mu_) = 0;       // back-off after a failed launch
  PeriodicTask task_;                                // last: its thread uses the rest
};

}  // namespace ringkv::router
