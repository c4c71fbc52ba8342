#include "router/jobs/jobs_api.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <nlohmann/json.hpp>
#include <thread>

#include "base/secret.h"
#include "jobs/protocol.h"
#include "net/http_status.h"

namespace ringkv::router {

namespace {

using net::ErrorResponse;
using net::HttpRequest;
using net::HttpResponse;
using nlohmann::json;
using Type = net::resp::Reply::Type;
namespace codec = jobs_codec;
namespace proto = jobs::protocol;

constexpr std::string_view kJobsPrefix = "/jobs/";

Status NoNodes() {
  return Unavailable("no ringkv node in service: jobs live on ringkv nodes (not redis back ends)");
}

Status Unreachable(const Backend& b, const Status& s) {
  return Unavailable("node " + b.addr + " unavailable: " + s.message());
}

bool IsError(const net::resp::Reply& r, std::string_view prefix) {
  return r.type == Type::kError && r.str.rfind(prefix, 0) == 0;
}

// Backends of ringkv kind, the ring owner of `key` first, then in ring order.
std::vector<Backend> JobNodesFor(const RouteTable& t, std::string_view key) {
  std::vector<Backend> out;
  if (!t.ring || t.ring->empty()) return out;
  for (uint32_t i : t.ring->PreferenceList(t.ring->KeyPosition(key), t.backends.size())) {
    if (t.backends[i].kind == cluster::BackendKind::kRingkv) out.push_back(t.backends[i]);
  }
  return out;
}

// X-Worker-Pid, else the pid at the end of the worker's id (worker-<host>-<pid>).
int PidOf(const HttpRequest& req, const std::string& worker) {
  std::string_view h = req.Header("x-worker-pid");
  int pid = 0;
  auto [p, ec] = std::from_chars(h.data(), h.data() + h.size(), pid);
  if (ec == std::errc() && p == h.data() + h.size() && pid > 0) return pid;
  return codec::PidFromWorkerId(worker);
}

HttpResponse NoContent() {
  HttpResponse r;
  r.status = 204;
  r.content_type.clear();
  return r;
}

}  // namespace

int64_t WallMs() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

// --- WorkerRegistry ---

void WorkerRegistry::Touch(const std::string& id, int pid, int64_t now_ms, bool completed) {
  MutexLock lock(mu_);
  Worker& w = workers_[id];
  w.id = id;
  w.last_seen_ms = now_ms;
  if (pid > 0) w.pid = pid;
  if (auto it = launched_names_.find(id); it != launched_names_.end() && w.pid == 0)
    w.pid = it->second;
  if (completed) ++w.completed;
  w.launched_by_autoscaler = LaunchedLocked(w);
}

void WorkerRegistry::Remove(const std::string& id) {
  MutexLock lock(mu_);
  workers_.erase(id);
  tokens_.erase(id);
}

StatusOr<std::string> WorkerRegistry::Register(const std::string& id, int pid, int64_t now_ms) {
  auto token = RandomSecret(16);
  if (!token.ok()) return token.status();
  {
    MutexLock lock(mu_);
    PruneLocked(now_ms);
    if (workers_.count(id) && tokens_.count(id)) {
      return AlreadyExists("worker id " + id +
                           " is registered and alive; choose another id (X-Worker-Id)");
    }
    tokens_[id] = *token;
    left_.erase(id);
  }
  Touch(id, pid, now_ms);
  return token;
}

bool WorkerRegistry::CheckToken(const std::string& id, std::string_view token) {
  MutexLock lock(mu_);
  auto it = tokens_.find(id);
  return it != tokens_.end() && SecretEquals(token, it->second);
}

void WorkerRegistry::MarkLeft(const std::string& id, int64_t now_ms) {
  MutexLock lock(mu_);
  workers_.erase(id);
  tokens_.erase(id);
  left_[id] = now_ms;
  std::erase_if(left_, [&](const auto& kv) { return now_ms - kv.second > expire_ms_; });
}

bool WorkerRegistry::LeftSince(const std::string& id, int64_t since_ms) {
  MutexLock lock(mu_);
  auto it = left_.find(id);
  return it != left_.end() && it->second >= since_ms;
}

void WorkerRegistry::MarkLaunched(const std::string& name, int pid) {
  MutexLock lock(mu_);
  launched_names_[name] = pid;
  for (auto& [id, w] : workers_) w.launched_by_autoscaler = LaunchedLocked(w);
}

bool WorkerRegistry::LaunchedLocked(const Worker& w) const {
  if (launched_names_.count(w.id)) return true;
  if (w.pid == 0) return false;
  for (const auto& [name, pid] : launched_names_) {
    if (pid == w.pid) return true;
  }
  return false;
}

void WorkerRegistry::PruneLocked(int64_t now_ms) {
  std::erase_if(workers_,
                [&](const auto& kv) { return now_ms - kv.second.last_seen_ms > expire_ms_; });
  for (auto it = tokens_.begin(); it != tokens_.end();) {
    it = workers_.count(it->first) ? std::next(it) : tokens_.erase(it);
  }
}

std::vector<WorkerRegistry::Worker> WorkerRegistry::List(int64_t now_ms) {
  MutexLock lock(mu_);
  PruneLocked(now_ms);
  std::vector<Worker> out;
  for (const auto& [id, w] : workers_) out.push_back(w);
  return out;
}

// --- JobsApi: plumbing ---

JobsApi::JobsApi(JobsOptions options, MapOwner& map_owner, KvGateway& kv)
    : options_(std::move(options)),
      map_owner_(map_owner),
      kv_(kv),
      workers_(std::max<int64_t>(2 * int64_t{options_.max_wait_ms}, 1000)),
      self_http_addr_(options_.self_http_addr) {}

bool JobsApi::Serves(const std::string& path) {
  static const char* kPaths[] = {"/enqueue",      "/getWork",       "/renewLease",
                                 "/completeWork", "/pullCompleted", "/pullCompletedNode",
                                 "/getQueueLen",  "/notifyKilled",  "/ip",
                                 "/workers",      "/registerWorker"};
  for (const char* p : kPaths) {
    if (path == p) return true;
  }
  return path.rfind(kJobsPrefix, 0) == 0;
}

void JobsApi::Shutdown() {
  stopping_ = true;
}

void JobsApi::set_autoscaler_status(std::function<AutoscalerStatus()> f) {
  MutexLock lock(mu_);
  autoscaler_status_ = std::move(f);
}

void JobsApi::set_http_addr(std::string addr) {
  MutexLock lock(mu_);
  self_http_addr_ = std::move(addr);
}

std::vector<Backend> JobsApi::JobNodes() const {
  RouteTablePtr t = map_owner_.Current();
  std::vector<Backend> out;
  for (const Backend& b : t->backends) {
    if (b.kind == cluster::BackendKind::kRingkv) out.push_back(b);
  }
  return out;
}

std::vector<JobsApi::NodeStats> JobsApi::StatsPerNode(const std::vector<Backend>& nodes) {
  std::vector<NodeStats> out;
  for (const Backend& b : nodes) {
    auto r = kv_.Call(b.addr, {proto::kStats});
    if (!r.ok()) continue;
    auto s = codec::ParseStatsReply(*r);
    if (!s.ok()) {
      spdlog::debug("jobs: {} answered JOB.STATS with {}", b.addr, r->str);
      continue;
    }
    out.push_back({b, *s});
  }
  return out;
}

JobsApi::Totals JobsApi::GatherStats() {
  std::vector<Backend> nodes = JobNodes();
  std::vector<codec::ShardStats> shards;
  for (const NodeStats& n : StatsPerNode(nodes)) shards.push_back(n.stats);
  return {codec::SumStats(shards), nodes.size()};
}

StatusOr<net::resp::Reply> JobsApi::CallForJob(const std::string& id,
                                               std::initializer_list<std::string_view> args,
                                               bool nil_is_miss) {
  std::vector<Backend> nodes = JobNodesFor(*map_owner_.Current(), id);
  if (nodes.empty()) return NoNodes();
  Status unreachable;
  for (const Backend& b : nodes) {
    auto r = kv_.Call(b.addr, args);
    if (!r.ok()) {
      unreachable = Unreachable(b, r.status());
      continue;
    }
    if (IsError(*r, "NOTFOUND") || (nil_is_miss && r->type == Type::kNull)) continue;
    return r;
  }
  // The job may be on a node that did not answer: that is not a 404.
  if (!unreachable.ok()) return unreachable;
  return NotFound("no job " + id);
}

Status JobsApi::CheckWorkerToken(const HttpRequest& req, const std::string& worker) {
  if (!options_.require_worker_tokens) return OkStatus();
  if (workers_.CheckToken(worker, req.Header("x-worker-token"))) return OkStatus();
  return Unauthenticated("worker " + worker +
                         " is not registered, or X-Worker-Token is not its token: POST "
                         "/registerWorker first");
}

StatusOr<std::string> JobsApi::Identify(const HttpRequest& req) {
  auto id = codec::WorkerIdOf(req);
  if (!id.ok()) return id;
  if (Status s = CheckWorkerToken(req, *id); !s.ok()) return s;
  workers_.Touch(*id, PidOf(req, *id), WallMs());
  return id;
}

HttpResponse JobsApi::RegisterWorker(const HttpRequest& req) {
  auto id = codec::WorkerIdOf(req);
  if (!id.ok()) return ErrorResponse(id.status());
  auto token = workers_.Register(*id, PidOf(req, *id), WallMs());
  if (!token.ok()) return ErrorResponse(token.status());
  return HttpResponse::Json(200, json{{"worker_id", *id}, {"token", *token}}.dump());
}

// --- handlers ---

HttpResponse JobsApi::Enqueue(const HttpRequest& req) {
  auto parsed = codec::ParseEnqueue(req, options_.limits);
  if (!parsed.ok()) return ErrorResponse(parsed.status());
  std::string id = jobs::NewJobId();
  std::vector<Backend> nodes = JobNodesFor(*map_owner_.Current(), id);
  if (nodes.empty()) return ErrorResponse(NoNodes());
  // Only the owner: retrying elsewhere after a timeout could enqueue the job twice.
  const Backend& b = nodes.front();
  std::string iterations = std::to_string(parsed->iterations);
  auto r = kv_.Call(b.addr, {proto::kEnqueue, id, iterations,
                             jobs::HashAlgorithmName(parsed->algorithm), parsed->payload});
  if (!r.ok()) return ErrorResponse(Unreachable(b, r.status()));
  if (IsError(*r, "OOM")) return HttpResponse::Error(507, "node " + b.addr + ": " + r->str);
  if (r->type == Type::kError) return HttpResponse::Error(502, "node " + b.addr + ": " + r->str);
  return HttpResponse::Json(200, json{{"work_id", id}}.dump());
}

StatusOr<std::optional<codec::LeasedJob>> JobsApi::TryLease(const std::string& worker) {
  std::vector<Backend> nodes = JobNodes();
  if (nodes.empty()) return NoNodes();
  std::vector<NodeStats> stats = StatsPerNode(nodes);
  if (stats.empty()) return Unavailable("no ringkv node answered JOB.STATS");
  // Approximates global FIFO: the node holding the oldest queued job first.
  std::erase_if(stats, [](const NodeStats& n) { return n.stats.queued == 0; });
  std::stable_sort(stats.begin(), stats.end(), [](const NodeStats& a, const NodeStats& b) {
    return a.stats.oldest_queued_ms < b.stats.oldest_queued_ms;
  });
  std::string lease_ms = std::to_string(options_.lease_ms);
  for (const NodeStats& n : stats) {
    auto r = kv_.Call(n.backend.addr, {proto::kLease, worker, lease_ms});
    if (!r.ok()) continue;
    auto job = codec::ParseLeaseReply(*r);
    if (!job.ok()) {
      spdlog::warn("jobs: {} answered JOB.LEASE with {}", n.backend.addr, r->str);
      continue;
    }
    if (*job) return job;  // nil: taken meanwhile, try the next node
  }
  return std::optional<codec::LeasedJob>();
}

HttpResponse JobsApi::GetWork(const HttpRequest& req) {
  const int64_t started_ms = WallMs();
  auto worker = Identify(req);
  if (!worker.ok()) return ErrorResponse(worker.status());
  auto wait_ms = codec::ParseWaitMs(req, options_.max_wait_ms);
  if (!wait_ms.ok()) return ErrorResponse(wait_ms.status());
  // A long poll holds an HTTP thread: beyond long_poll_slots, answer at once.
  bool slot = false;
  if (*wait_ms > 0) {
    slot = waiting_.fetch_add(1) < options_.long_poll_slots;
    if (!slot) waiting_.fetch_sub(1);
  }
  struct Release {
    std::atomic<uint32_t>* n;
    ~Release() {
      if (n) n->fetch_sub(1);
    }
  } release{slot ? &waiting_ : nullptr};
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(slot ? *wait_ms : 0);
  for (;;) {
    // A worker that left (POST /notifyKilled) while this poll waited is gone:
    // leasing to it would park a job until the lease expires.
    if (workers_.LeftSince(*worker, started_ms)) return NoContent();
    auto job = TryLease(*worker);
    if (!job.ok()) return ErrorResponse(job.status());
    if (*job && workers_.LeftSince(*worker, started_ms)) {
      ReleaseLeases(*worker);  // it left between the check and the lease
      return NoContent();
    }
    if (*job) return HttpResponse::Json(200, codec::RenderLease(**job, options_.lease_ms));
    auto next =
        std::chrono::steady_clock::now() + std::chrono::milliseconds(options_.poll_interval_ms);
    if (stopping_ || next > deadline) return NoContent();
    std::this_thread::sleep_until(next);
  }
}

HttpResponse JobsApi::RenewLease(const HttpRequest& req) {
  auto worker = Identify(req);
  if (!worker.ok()) return ErrorResponse(worker.status());
  auto id = codec::ParseWorkIdBody(req.body);
  if (!id.ok()) return ErrorResponse(id.status());
  std::string lease_ms = std::to_string(options_.lease_ms);
  int64_t now = WallMs();
  auto r = CallForJob(*id, {proto::kRenew, *id, *worker, lease_ms}, false);
  if (!r.ok()) return ErrorResponse(r.status());
  if (r->type == Type::kError && r->str.find("not leased") != std::string::npos)
    return HttpResponse::Error(409, "job " + *id + " is not leased by " + *worker);
  if (r->type == Type::kError) return HttpResponse::Error(502, "node: " + r->str);
  // JOB.RENEW answers +OK: the expiry is computed here, on the same wall clock.
  return HttpResponse::Json(200, json{{"lease_expires_ms", now + options_.lease_ms}}.dump());
}

HttpResponse JobsApi::CompleteWork(const HttpRequest& req) {
  auto worker = Identify(req);
  if (!worker.ok()) return ErrorResponse(worker.status());
  auto c = codec::ParseCompleteWork(req.body);
  if (!c.ok()) return ErrorResponse(c.status());
  auto r = CallForJob(c->work_id, {proto::kComplete, c->work_id, *worker, c->output}, false);
  if (!r.ok()) return ErrorResponse(r.status());
  if (r->type != Type::kSimple) return HttpResponse::Error(502, "node: " + r->str);
  std::string status = r->str;
  std::transform(status.begin(), status.end(), status.begin(), ::tolower);
  if (status != "stored" && status != "duplicate" && status != "conflict")
    return HttpResponse::Error(502, "node answered JOB.COMPLETE with " + r->str);
  if (status == "stored") workers_.Touch(*worker, PidOf(req, *worker), WallMs(), true);
  return HttpResponse::Json(200, json{{"status", status}}.dump());
}

// Each node hands out its completions oldest first and marks them pulled, so
// an item pulled but not returned would be lost from the stream. To return
// the N oldest completions across nodes without losing any, the router keeps
// what it pulled and did not return in a per-node carry-over (oldest first):
// each call tops every node's carry-over up to N items with JOB.PULL, merges
// the heads by completed_ms, and returns N; the rest waits for the next call.
// The carry-over is bounded by N x nodes (N <= kMaxTop) and lives in this
// router's memory: if the router dies those results leave the pull stream
// but stay readable at GET /jobs/{id} for job_retention.
std::vector<codec::Completed> JobsApi::Pull(const std::vector<Backend>& nodes, size_t top,
                                            bool all_nodes) {
  MutexLock lock(pull_mu_);
  std::vector<codec::Completed> out;
  if (top == 0) return out;
  for (const Backend& b : nodes) {
    auto& q = carry_[b.id];
    if (q.size() >= top) continue;
    auto r = kv_.Call(b.addr, {proto::kPull, std::to_string(top - q.size())});
    if (!r.ok()) continue;  // nothing was pulled: nothing is lost
    auto items = codec::ParsePullReply(*r);
    if (!items.ok()) {
      spdlog::warn("jobs: {} answered JOB.PULL with {}", b.addr, r->str);
      continue;
    }
    for (auto& c : *items) q.push_back(std::move(c));
  }
  std::vector<std::string> from;
  from.reserve(nodes.size());
  for (const Backend& b : nodes) from.push_back(b.id);
  if (all_nodes) {  // include carry-overs of nodes that left the ring
    from.clear();
    for (const auto& [id, q] : carry_) from.push_back(id);
  }
  while (out.size() < top) {
    std::deque<codec::Completed>* best = nullptr;
    for (const std::string& id : from) {
      auto it = carry_.find(id);
      if (it == carry_.end() || it->second.empty()) continue;
      if (!best || it->second.front().completed_ms < best->front().completed_ms) best = &it->second;
    }
    if (!best) break;
    out.push_back(std::move(best->front()));
    best->pop_front();
  }
  std::erase_if(carry_, [](const auto& kv) { return kv.second.empty(); });
  return out;
}

HttpResponse JobsApi::PullCompleted(const HttpRequest& req, bool one_node) {
  auto top = codec::ParseTop(req);
  if (!top.ok()) return ErrorResponse(top.status());
  std::vector<Backend> nodes = JobNodes();
  if (nodes.empty()) return ErrorResponse(NoNodes());
  if (one_node) {
    auto name = req.Query("node");
    if (!name || name->empty()) return HttpResponse::Error(400, "use ?node=<addr>&top=N");
    std::string id = *name;
    for (const auto& n : map_owner_.Map().nodes) {
      if (n.addr == *name || n.http_addr == *name) id = n.id;
    }
    std::erase_if(nodes, [&](const Backend& b) { return b.id != id; });
    if (nodes.empty()) return HttpResponse::Error(404, "no ringkv node " + *name + " in service");
  }
  return HttpResponse::Json(200, codec::RenderCompleted(Pull(nodes, *top, !one_node)));
}

HttpResponse JobsApi::GetJob(const std::string& id) {
  if (!jobs::IsJobId(id)) return HttpResponse::Error(404, "no job " + id);
  auto r = CallForJob(id, {proto::kGet, id}, true);
  if (!r.ok()) return ErrorResponse(r.status());
  auto fields = codec::ParseGetReply(*r);
  if (!fields.ok()) return ErrorResponse(fields.status());
  if (!*fields) return HttpResponse::Error(404, "no job " + id);
  return HttpResponse::Json(200, codec::RenderJob(**fields));
}

HttpResponse JobsApi::QueueLen() {
  Totals t = GatherStats();
  if (t.nodes == 0) return ErrorResponse(NoNodes());
  int64_t now = WallMs();
  return HttpResponse::Json(
      200, codec::RenderQueueLen(t.stats, now, workers_.List(now).size(), options_.max_workers));
}

int64_t JobsApi::ReleaseLeases(const std::string& worker) {
  int64_t released = 0;
  for (const Backend& b : JobNodes()) {
    // A node that does not answer requeues the leases when they expire.
    auto r = kv_.Call(b.addr, {proto::kRelease, worker});
    if (r.ok() && r->type == Type::kInteger) released += r->integer;
  }
  return released;
}

HttpResponse JobsApi::NotifyKilled(const HttpRequest& req) {
  auto named = codec::ParseNotifyKilled(req.body);
  if (!named.ok()) return ErrorResponse(named.status());
  std::string worker = *named;
  if (worker.empty()) {
    auto self = codec::WorkerIdOf(req);
    if (!self.ok()) return ErrorResponse(self.status());
    worker = *self;
  }
  if (Status s = CheckWorkerToken(req, worker); !s.ok()) return ErrorResponse(s);
  if (JobNodes().empty()) return ErrorResponse(NoNodes());
  workers_.MarkLeft(worker, WallMs());
  int64_t released = ReleaseLeases(worker);
  spdlog::info("jobs: worker {} left; {} leases released", worker, released);
  return HttpResponse::Json(200, json{{"released", released}}.dump());
}

HttpResponse JobsApi::Ip(const HttpRequest& req) {
  MutexLock lock(mu_);
  if (req.method == "POST") {
    auto ips = codec::ParseIps(req.body);
    if (!ips.ok()) return ErrorResponse(ips.status());
    for (const std::string& ip : *ips) {
      if (ip != self_http_addr_ &&
          std::find(peer_routers_.begin(), peer_routers_.end(), ip) == peer_routers_.end()) {
        peer_routers_.push_back(ip);
      }
    }
  }
  json routers = json::array({self_http_addr_});
  for (const std::string& p : peer_routers_) routers.push_back(p);
  return HttpResponse::Json(200, json{{"router", self_http_addr_}, {"routers", routers}}.dump());
}

HttpResponse JobsApi::Workers() {
  json list = json::array();
  for (const auto& w : workers_.List(WallMs())) {
    list.push_back({{"id", w.id},
                    {"last_seen_ms", w.last_seen_ms},
                    {"completed", w.completed},
                    {"launched_by_autoscaler", w.launched_by_autoscaler},
                    {"pid", w.pid}});
  }
  AutoscalerStatus a;
  {
    MutexLock lock(mu_);
    if (autoscaler_status_) a = autoscaler_status_();
  }
  json j = {{"workers", list},
            {"max_workers", options_.max_workers},
            {"autoscaler",
             {{"enabled", a.enabled},
              {"max_workers", options_.max_workers},
              {"scale_after_ms", a.scale_after_ms},
              {"launches", a.launches},
              {"alive_workers", a.alive_workers},
              {"last_decision", a.last_decision}}}};
  return HttpResponse::Json(200, j.dump(-1, ' ', false, json::error_handler_t::replace));
}

std::string JobsApi::MetricsText() {
  Totals t = GatherStats();
  int64_t now = WallMs();
  AutoscalerStatus a;
  {
    MutexLock lock(mu_);
    if (autoscaler_status_) a = autoscaler_status_();
  }
  double age = t.stats.oldest_queued_ms > 0
                   ? std::max<int64_t>(0, now - t.stats.oldest_queued_ms) / 1000.0
                   : 0.0;
  std::string out;
  auto metric = [&out](const char* name, const char* type, const char* help,
                       const std::string& value) {
    out += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " " + type + "\n";
    out += std::string(name) + " " + value + "\n";
  };
  metric("ringkv_autoscaler_launches_total", "counter", "Workers launched by the autoscaler.",
         std::to_string(a.launches));
  metric("ringkv_workers", "gauge", "Workers seen by this router recently.",
         std::to_string(workers_.List(now).size()));
  metric("ringkv_jobs_queued", "gauge", "Jobs waiting for a worker, over all nodes.",
         std::to_string(t.stats.queued));
  metric("ringkv_jobs_leased", "gauge", "Jobs leased to a worker, over all nodes.",
         std::to_string(t.stats.leased));
  metric("ringkv_jobs_oldest_queued_age_seconds", "gauge",
         "How long the oldest queued job has waited (0 when none).", std::to_string(age));
  return out;
}

HttpResponse JobsApi::Handle(const HttpRequest& req) {
  const std::string& p = req.path;
  const std::string& m = req.method;
  if (p == "/enqueue" && (m == "PUT" || m == "POST")) return Enqueue(req);
  if (p == "/getWork" && (m == "GET" || m == "POST")) return GetWork(req);
  if (p == "/renewLease" && m == "POST") return RenewLease(req);
  if (p == "/completeWork" && m == "POST") return CompleteWork(req);
  if (p == "/pullCompleted" && (m == "POST" || m == "GET")) return PullCompleted(req, false);
  if (p == "/pullCompletedNode" && (m == "POST" || m == "GET")) return PullCompleted(req, true);
  if (p.rfind(kJobsPrefix, 0) == 0 && m == "GET") return GetJob(p.substr(kJobsPrefix.size()));
  if (p == "/getQueueLen" && m == "GET") return QueueLen();
  if (p == "/notifyKilled" && m == "POST") return NotifyKilled(req);
  if (p == "/registerWorker" && m == "POST") return RegisterWorker(req);
  if (p == "/ip" && (m == "GET" || m == "POST")) return Ip(req);
  if (p == "/workers" && m == "GET") return Workers();
  return HttpResponse::Error(405, "method " + m + " not allowed on " + p);
}

HttpResponse HandleJobsHttp(const HttpRequest& req, JobsApi* api) {
  if (!api) return HttpResponse::Error(503, "the jobs API is not enabled on this router");
  return api->Handle(req);
}

}  // namespace ringkv::router
