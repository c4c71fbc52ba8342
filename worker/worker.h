// Worker: the engine of `ringkv worker` (cloud-ex2's workers, docs/jobs.md). N threads each
// long-poll the router for a job (GET /getWork, oldest first, leased to this worker), compute the
// iterated hash and report it (POST /completeWork). One housekeeping thread renews the lease of
// every job that runs longer than a third of its lease, and decides when the worker has been idle
// long enough to leave.
//
// Nothing is lost when a worker dies: its jobs' leases expire (or are
// released at once by POST /notifyKilled) and another worker takes them; a
// completion is idempotent on the router, so a retried POST is harmless.
// Router errors never end the worker: every call backs off and retries.
//
// Thread safety: Start/Wait/JoinFor from one controlling thread; Stop and
// stats() from any thread (Stop is not async-signal-safe: call it from a
// sigwait thread).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "base/status.h"
#include "net/tls.h"

namespace ringkv::worker {
namespace internal {
struct WorkerState;
}

// The settings of `ringkv worker`; worker/worker_settings.h names the ones a
// flag or the `worker:` section of the YAML config sets.
struct WorkerOptions {
  std::string router = "127.0.0.1:8080";  // the router's HTTP address, "host:port"
  uint32_t threads = 1;                   // concurrent jobs, >= 1
  uint64_t idle_exit_ms = 600000;         // leave after this long with no job; 0 = never
  std::string id;                         // X-Worker-Id; empty = DefaultWorkerId()
  uint32_t lease_ms = 0;              // renew every lease/3, lease = the shorter of this and the
                                      // router's lease_ms; 0 = the router's (30000 if it says none)
  uint32_t poll_wait_s = 5;           // GET /getWork?wait=S (long poll), >= 1
  uint32_t backoff_min_ms = 100;      // first retry delay after a router error
  uint32_t backoff_max_ms = 5000;     // retry delays double up to this
  uint64_t slice_iterations = 20000;  // hash rounds between checks for a lost lease
  uint32_t http_timeout_ms = 5000;    // for calls other than the long poll
  // The router's requirepass, sent as Authorization: Bearer with every call;
  // empty = none. Not a setting: `ringkv worker` reads it from password_file
  // or RINGKV_REQUIREPASS.
  std::string password;
  std::string password_file;
  // HTTPS to the router (its http_tls) when router_tls.ca_cert_file is set:
  // the router's certificate must chain to it and name the router's host;
  // cert_file/key_file are presented when the router asks for one.
  net::TlsClientOptions router_tls;
  // Used by `ringkv worker`, not by Worker:
  std::string ports_file;          // JSON {"pid", "id"} written here once running
  std::string log_level = "info";  // spdlog level name
};

// "worker-<hostname>-<pid>".
std::string DefaultWorkerId();

Status ValidateWorkerOptions(const WorkerOptions& options);

enum class ExitReason { kIdle, kStopped };

struct WorkerStats {
  uint64_t leased = 0;     // jobs received
  uint64_t completed = 0;  // completions the router acknowledged
  uint64_t abandoned = 0;  // jobs given up (lease lost, stopped, bad job)
  uint64_t errors = 0;     // failed router calls
};

class Worker {
 public:
  explicit Worker(WorkerOptions options);
  ~Worker();  // Stop() and join (nothing to join after JoinFor)
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  const std::string& id() const { return options_.id; }
  const WorkerOptions& options() const { return options_; }

  // Starts the threads; call once.
  void Start();
  // Blocks until every thread has ended: after the idle timeout (the worker
  // then notifies the router, reason "idle") or after Stop().
  ExitReason Wait();
  // True once every thread has ended (Wait() then returns at once).
  bool Done() const;
  // Threads stop polling and give up their jobs at the next slice; no
  // completion is sent after this returns. Does not notify the router.
  void Stop();
  // Waits up to `timeout_ms` for the threads to end (a thread may sit in a
  // long poll); true if they all did. Else detaches them: the caller must
  // then end the process without destroying this object's users' statics.
  bool JoinFor(uint32_t timeout_ms);
  // POST /notifyKilled {"worker": id, "reason": reason}: the router requeues
  // this worker's leases at once and forgets the worker.
  Status NotifyKilled(const std::string& reason);

  WorkerStats stats() const;

 private:
  WorkerOptions options_;
  std::shared_ptr<internal::WorkerState> state_;  // shared with the threads
  std::vector<std::thread> threads_;
};

}  // namespace ringkv::worker
