// The router's jobs API (cloud-ex2, docs/jobs.md): the HTTP front of the job
// queues that live on the ringkv nodes. Each request becomes JOB.* commands
// (jobs/protocol.h) sent through the KvGateway to the node that owns the
// job's id on the ring (or, for getWork/pullCompleted/getQueueLen, to every
// ringkv node in service). Parsing and rendering are in jobs_codec.h.
//
// Jobs stay on the node they were enqueued on even if the ring changes, so a
// request naming a job asks the ring owner first and then the other nodes.
//
// Thread safety: Handle() runs concurrently on the HTTP threads; every
// method is thread-safe.
#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "base/thread_annotations.h"
#include "net/http.h"
#include "router/jobs/jobs_codec.h"
#include "router/map/map_owner.h"
#include "router/proxy/kv_gateway.h"

namespace ringkv::router {

// Milliseconds since the Unix epoch (the nodes' job timestamps use the same clock).
int64_t WallMs();

// The workers seen by this router: id -> last contact. Entries not seen for
// `expire_ms` are dropped on the next access.
class WorkerRegistry {
 public:
  struct Worker {
    std::string id;
    int64_t last_seen_ms = 0;
    uint64_t completed = 0;
    bool launched_by_autoscaler = false;
    int pid = 0;  // 0: unknown
  };

  explicit WorkerRegistry(int64_t expire_ms) : expire_ms_(expire_ms) {}

  // Records contact; `pid` (0 = unknown) comes from X-Worker-Pid.
  void Touch(const std::string& id, int pid, int64_t now_ms, bool completed = false);
  // POST /registerWorker: a new random token for `id`, which it presents as
  // X-Worker-Token from then on. AlreadyExists while a worker registered
  // under `id` is alive (seen within expire_ms), so no one can take over a
  // live worker's id; the token is forgotten with the worker.
  StatusOr<std::string> Register(const std::string& id, int pid, int64_t now_ms);
  // True if `token` is the one `id` registered with (constant time).
  bool CheckToken(const std::string& id, std::string_view token);
  void Remove(const std::string& id);
  // The worker said it left (POST /notifyKilled) at `now_ms`. Long polls it
  // started before then must not lease jobs any more.
  void MarkLeft(const std::string& id, int64_t now_ms);
  // True if `id` left at or after `since_ms` (a poll started then is stale).
  bool LeftSince(const std::string& id, int64_t since_ms);
  // The autoscaler launched instance `name` as process `pid`: a worker whose
  // id is `name` or whose pid is `pid` is marked launched_by_autoscaler.
  void MarkLaunched(const std::string& name, int pid);
  std::vector<Worker> List(int64_t now_ms);

 private:
  void PruneLocked(int64_t now_ms) REQUIRES(mu_);
  bool LaunchedLocked(const Worker& w) const REQUIRES(mu_);

  const int64_t expire_ms_;
  Mutex mu_;
  std::map<std::string, Worker> workers_ GUARDED_BY(mu_);
  std::map<std::string, int> launched_names_ GUARDED_BY(mu_);  // name -> pid
  std::map<std::string, int64_t> left_ GUARDED_BY(mu_);        // id -> when it left
  std::map<std::string, std::string> tokens_ GUARDED_BY(mu_);  // id -> its token
};

struct JobsOptions {
  jobs_codec::JobLimits limits;
  uint32_t lease_ms = 30000;     // lease handed out by getWork
  uint32_t max_wait_ms = 30000;  // cap of getWork's ?wait
  uint32_t max_workers = 4;      // reported by getQueueLen and /workers
  // Long polls that may wait at once: each holds an HTTP thread, so the
  // router runs this many more HTTP threads. Beyond it getWork does not wait.
  uint32_t long_poll_slots = 8;
  uint32_t poll_interval_ms = 20;  // how often a long poll asks the nodes again
  std::string self_http_addr;      // "host:port" of this router, for /ip
  // Workers must register (POST /registerWorker) and present their token
  // (X-Worker-Token) on getWork, renewLease, completeWork and notifyKilled,
  // so an id alone cannot act for a worker. On when the router has a
  // requirepass (docs/jobs.md, "Worker tokens").
  bool require_worker_tokens = false;
};

// What the autoscaler reports in /workers and /metrics.
struct AutoscalerStatus {
  bool enabled = false;
  uint32_t max_workers = 0;
  uint32_t scale_after_ms = 0;
  uint64_t launches = 0;
  size_t alive_workers = 0;
  std::string last_decision;
};

class JobsApi {
 public:
  JobsApi(JobsOptions options, MapOwner& map_owner, KvGateway& kv);

  // True for the paths this API serves (the router routes them here).
  static bool Serves(const std::string& path);
  net::HttpResponse Handle(const net::HttpRequest& req);

  // Wakes and ends every long poll (router shutdown).
  void Shutdown();

  struct Totals {
    jobs_codec::ShardStats stats;  // summed over the nodes that answered
    size_t nodes = 0;              // ringkv nodes in service
  };
  // JOB.STATS from every ringkv node in service.
  Totals GatherStats();

  WorkerRegistry& workers() { return workers_; }
  const JobsOptions& options() const { return options_; }
  void set_autoscaler_status(std::function<AutoscalerStatus()> f);
  void set_http_addr(std::string addr);

  // Prometheus text for the job gauges and the autoscaler counter.
  std::string MetricsText();

 private:
  struct NodeStats {
    Backend backend;
    jobs_codec::ShardStats stats;
  };
  std::vector<Backend> JobNodes() const;
  std::vector<NodeStats> StatsPerNode(const std::vector<Backend>& nodes);
  // Sends a command naming job `id`: owner first, then the rest while the
  // answer is -NOTFOUND (or nil, when nil_is_miss) or the node is unreachable.
  StatusOr<net::resp::Reply> CallForJob(const std::string& id,
                                        std::initializer_list<std::string_view> args,
                                        bool nil_is_miss);
  StatusOr<std::optional<jobs_codec::LeasedJob>> TryLease(const std::string& worker);
  std::vector<jobs_codec::Completed> Pull(const std::vector<Backend>& nodes, size_t top,
                                          bool all_nodes);

  net::HttpResponse Enqueue(const net::HttpRequest& req);
  net::HttpResponse GetWork(const net::HttpRequest& req);
  net::HttpResponse RenewLease(const net::HttpRequest& req);
  net::HttpResponse CompleteWork(const net::HttpRequest& req);
  net::HttpResponse PullCompleted(const net::HttpRequest& req, bool one_node);
  net::HttpResponse GetJob(const std::string& id);
  net::HttpResponse QueueLen();
  net::HttpResponse NotifyKilled(const net::HttpRequest& req);
  // JOB.RELEASE on every node: `worker`'s leases are queued again at once.
  int64_t ReleaseLeases(const std::string& worker);
  net::HttpResponse Ip(const net::HttpRequest& req);
  net::HttpResponse Workers();
  // The calling worker's id; with require_worker_tokens, Unauthenticated
  // unless the request carries that worker's token.
  StatusOr<std::string> Identify(const net::HttpRequest& req);
  Status CheckWorkerToken(const net::HttpRequest& req, const std::string& worker);
  net::HttpResponse RegisterWorker(const net::HttpRequest& req);

  JobsOptions options_;
  MapOwner& map_owner_;
  KvGateway& kv_;
  WorkerRegistry workers_;
  std::atomic<bool> stopping_{false};
  std::atomic<uint32_t> waiting_{0};  // long polls in progress

  Mutex mu_;
  std::function<AutoscalerStatus()> autoscaler_status_ GUARDED_BY(mu_);
  std::vector<std::string> peer_routers_ GUARDED_BY(mu_);
  std::string self_http_addr_ GUARDED_BY(mu_);

  // Completions pulled from a node but not yet returned, per node id, oldest
  // first (see PullCompleted in jobs_api.cc). pull_mu_ also serializes pulls.
  Mutex pull_mu_;
  std::map<std::string, std::deque<jobs_codec::Completed>> carry_ GUARDED_BY(pull_mu_);
};

// The router's entry point for the job paths; `api` null -> 503.
net::HttpResponse HandleJobsHttp(const net::HttpRequest& req, JobsApi* api);

}  // namespace ringkv::router
