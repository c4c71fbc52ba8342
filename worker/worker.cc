#include "worker/worker.h"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <map>
#include <nlohmann/json.hpp>
#include <random>

#include "base/thread_annotations.h"
#include "net/http_client.h"
#include "worker/work_item.h"

namespace ringkv::worker {
namespace {

using json = nlohmann::json;
using Clock = std::chrono::steady_clock;

constexpr uint32_t kDefaultLeaseMs = 30000;
constexpr int kCompleteAttempts = 30;
constexpr auto kHousekeepingTick = std::chrono::milliseconds(20);
constexpr int64_t kRenewRetryMs = 100;

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now().time_since_epoch())
      .count();
}

// A job being computed; the housekeeping thread renews its lease.
struct ActiveJob {
  std::string work_id;
  int64_t lease_ms = kDefaultLeaseMs;
  int64_t renewed_ms = 0;         // last successful lease (or renewal)
  int64_t renew_tried_ms = 0;     // last renewal attempt
  std::atomic<bool> lost{false};  // the router says the lease is no longer ours
};

}  // namespace

// Shared by the threads, so detached threads never outlive it.
struct internal::WorkerState {
  explicit WorkerState(WorkerOptions o) : options(std::move(o)) {
    if (!options.router_tls.enabled()) return;
    auto context = net::TlsContext::CreateClient(options.router_tls);
    if (context.ok()) {
      tls = *context;
    } else {
      tls_status = context.status();
    }
  }

  const WorkerOptions options;
  // HTTPS to the router; a context that failed to load fails every call
  // (never plain HTTP instead).
  std::shared_ptr<const net::TlsContext> tls;
  Status tls_status;
  std::atomic<bool> stopping{false};
  std::atomic<bool> idle{false};
  Mutex mu;
  CondVar cv;
  int pollers GUARDED_BY(mu) = 0;  // poll threads still running
  int threads GUARDED_BY(mu) = 0;  // all threads still running
  int busy GUARDED_BY(mu) = 0;     // poll threads computing a job
  int64_t last_activity_ms GUARDED_BY(mu) = NowMs();
  std::map<uint32_t, std::shared_ptr<ActiveJob>> active GUARDED_BY(mu);  // by thread slot
  WorkerStats stats GUARDED_BY(mu);

  bool Quitting() const { return stopping || idle; }

  // Sleeps up to `ms` unless the worker is quitting; false if it is.
  bool SleepFor(uint32_t ms) {
    MutexLock lock(mu);
    return !cv.WaitFor(mu, std::chrono::milliseconds(ms), [&] { return Quitting(); });
  }

  // Registration (POST /registerWorker): the token this worker presents as
  // X-Worker-Token, so no one else can act under its id. A router that does
  // not know the call (404/405) needs no token.
  Mutex register_mu;  // one registration at a time; never held with token_mu by others
  mutable Mutex token_mu;
  bool registered GUARDED_BY(token_mu) = false;
  std::string token GUARDED_BY(token_mu);

  // True once registered; false (and logged by the caller) on failure.
  StatusOr<bool> EnsureRegistered() {
    if (!tls_status.ok()) return tls_status;
    MutexLock serial(register_mu);
    {
      MutexLock lock(token_mu);
      if (registered) return true;
    }
    auto res = net::HttpCall("POST", options.router, "/registerWorker", "{}",
                             CallOptions(options.http_timeout_ms));
    if (!res.ok()) return res.status();
    std::string token;
    if (res->status == 200) {
      json j = json::parse(res->body, nullptr, false);
      if (!j.is_object() || !j.contains("token") || !j["token"].is_string()) {
        return Internal("POST /registerWorker answered without a token");
      }
      token = j["token"].get<std::string>();
    } else if (res->status != 404 && res->status != 405) {
      return Unavailable("POST /registerWorker answered " + std::to_string(res->status) + " " +
                         res->body.substr(0, 200));
    }
    MutexLock lock(token_mu);
    registered = true;
    this->token = std::move(token);
    return true;
  }
  // The router no longer knows the token (it restarted, or forgot this
  // worker): register again before the next call.
  void ForgetRegistration() {
    MutexLock lock(token_mu);
    registered = false;
    token.clear();
  }

  net::HttpCallOptions CallOptions(uint32_t timeout_ms) const {
    net::HttpCallOptions o;
    o.timeout_ms = timeout_ms;
    o.tls = tls;
    o.headers["X-Worker-Id"] = options.id;
    {
      MutexLock lock(token_mu);
      if (!token.empty()) o.headers["X-Worker-Token"] = token;
    }
    o.headers["X-Worker-Pid"] = std::to_string(getpid());  // the autoscaler matches workers by pid
    o.headers["Content-Type"] = "application/json";
    if (!options.password.empty()) o.headers["Authorization"] = "Bearer " + options.password;
    return o;
  }

  StatusOr<net::HttpResponse> Post(const std::string& target, const json& body) {
    return net::HttpCall("POST", options.router, target, body.dump(),
                         CallOptions(options.http_timeout_ms));
  }
};

namespace {

using State = internal::WorkerState;

// Router errors: the first of a run is a warning, the rest are debug noise.
class ErrorLog {
 public:
  void Failed(const std::string& what) {
    if (failures_++ == 0) {
      spdlog::warn("{}; retrying with back-off", what);
    } else {
      spdlog::debug("{} (failure {})", what, failures_);
    }
  }
  void Succeeded() {
    if (failures_ > 0) spdlog::info("router answers again after {} failed calls", failures_);
    failures_ = 0;
  }

 private:
  uint64_t failures_ = 0;
};

class Backoff {
 public:
  Backoff(const WorkerOptions& o, uint32_t seed)
      : min_(o.backoff_min_ms), max_(o.backoff_max_ms), rng_(seed) {}
  uint32_t Next() {
    delay_ = delay_ == 0 ? min_ : std::min(max_, delay_ * 2);
    return delay_ / 2 + std::uniform_int_distribution<uint32_t>(0, delay_ / 2)(rng_);
  }
  void Reset() { delay_ = 0; }

 private:
  uint32_t min_, max_, delay_ = 0;
  std::minstd_rand rng_;
};

std::string Describe(const StatusOr<net::HttpResponse>& res, const std::string& what) {
  if (!res.ok()) return what + ": " + res.status().message();
  return what + " answered " + std::to_string(res->status) + " " + res->body.substr(0, 200);
}

// POST /completeWork until the router answers; false if it never did.
bool Complete(State& s, const std::string& work_id, const std::string& output, Backoff& backoff) {
  ErrorLog log;
  json body = {{"work_id", work_id}, {"output", output}};
  for (int attempt = 0; attempt < kCompleteAttempts && !s.stopping; ++attempt) {
    auto res = s.Post("/completeWork", body);
    if (res.ok() && res->status == 200) {
      json j = json::parse(res->body, nullptr, false);
      std::string status = j.is_object() ? j.value("status", "") : "";
      if (status == "conflict") {
        spdlog::error("job {}: router kept a different output than ours ({})", work_id, output);
      } else {
        spdlog::debug("job {}: {}", work_id, status);
      }
      return true;
    }
    if (res.ok() && res->status >= 400 && res->status < 500) {
      spdlog::error("job {}: {}", work_id, Describe(res, "POST /completeWork"));
      return false;
    }
    {
      MutexLock lock(s.mu);
      ++s.stats.errors;
    }
    log.Failed("job " + work_id + ": " + Describe(res, "POST /completeWork"));
    std::this_thread::sleep_for(std::chrono::milliseconds(backoff.Next()));
  }
  return false;
}

void RunJob(State& s, uint32_t slot, const WorkItem& item, Backoff& backoff) {
  auto job = std::make_shared<ActiveJob>();
  job->work_id = item.work_id;
  // The shorter of ours and the router's: renewing late loses the lease.
  uint32_t lease = item.lease_ms ? item.lease_ms : kDefaultLeaseMs;
  if (s.options.lease_ms) lease = std::min(lease, s.options.lease_ms);
  job->lease_ms = lease;
  job->renewed_ms = job->renew_tried_ms = NowMs();
  {
    MutexLock lock(s.mu);
    ++s.stats.leased;
    ++s.busy;
    s.active[slot] = job;
    s.last_activity_ms = NowMs();
  }
  spdlog::debug("job {}: {} x{} over {} bytes (attempt {})", item.work_id,
                jobs::HashAlgorithmName(item.algorithm), item.iterations, item.payload.size(),
                item.attempts);
  const int64_t start = NowMs();
  auto output =
      IterateHashSliced(item.algorithm, item.payload, item.iterations, s.options.slice_iterations,
                        [&] { return !job->lost && !s.stopping; });
  {
    MutexLock lock(s.mu);
    s.active.erase(slot);
  }
  bool completed = false;
  if (!output) {
    spdlog::info("job {}: given up ({})", item.work_id,
                 job->lost ? "lease lost" : "worker stopping");
  } else {
    spdlog::debug("job {}: computed in {} ms", item.work_id, NowMs() - start);
    completed = Complete(s, item.work_id, *output, backoff);
  }
  MutexLock lock(s.mu);
  ++(completed ? s.stats.completed : s.stats.abandoned);
  --s.busy;
  s.last_activity_ms = NowMs();
}

// The long-poll wait: never past the idle deadline, so idle exit is timely.
uint32_t PollWaitS(State& s) {
  uint32_t wait = s.options.poll_wait_s;
  if (s.options.idle_exit_ms == 0) return wait;
  MutexLock lock(s.mu);
  int64_t left = s.last_activity_ms + static_cast<int64_t>(s.options.idle_exit_ms) - NowMs();
  int64_t left_s = std::max<int64_t>(1, (left + 999) / 1000);
  return static_cast<uint32_t>(std::min<int64_t>(wait, left_s));
}

// A thread's entry: std::thread holds its own copy of `s` for the call.
void PollLoop(const std::shared_ptr<State>& s, uint32_t slot) {
  Backoff backoff(s->options, static_cast<uint32_t>(getpid()) * 31 + slot);
  ErrorLog log;
  while (!s->Quitting()) {
    if (auto registered = s->EnsureRegistered(); !registered.ok()) {
      {
        MutexLock lock(s->mu);
        ++s->stats.errors;
      }
      log.Failed("register: " + registered.status().message());
      s->SleepFor(backoff.Next());
      continue;
    }
    uint32_t wait = PollWaitS(*s);
    auto res = net::HttpCall("GET", s->options.router, "/getWork?wait=" + std::to_string(wait), "",
                             s->CallOptions(wait * 1000 + s->options.http_timeout_ms));
    if (!res.ok() || (res->status != 200 && res->status != 204)) {
      {
        MutexLock lock(s->mu);
        ++s->stats.errors;
      }
      if (res.ok() && res->status == 401) s->ForgetRegistration();
      log.Failed(Describe(res, "GET /getWork"));
      s->SleepFor(backoff.Next());
      continue;
    }
    log.Succeeded();
    backoff.Reset();
    if (res->status == 204) continue;
    if (s->stopping) {  // leased after Stop(): hand it back at once
      (void)s->Post("/notifyKilled", json{{"worker", s->options.id}, {"reason", "stopped"}});
      break;
    }
    auto item = ParseWorkItem(res->body);
    if (!item.ok()) {
      spdlog::error("bad job from the router: {}", item.status().message());
      MutexLock lock(s->mu);
      ++s->stats.abandoned;
      continue;
    }
    RunJob(*s, slot, *item, backoff);
  }
  MutexLock lock(s->mu);
  --s->pollers;
  --s->threads;
  s->cv.NotifyAll();
}

void RenewLease(State& s, ActiveJob& job) {
  auto res = s.Post("/renewLease", json{{"work_id", job.work_id}});
  MutexLock lock(s.mu);
  if (res.ok() && res->status == 200) {
    job.renewed_ms = NowMs();
  } else if (res.ok() && (res->status == 404 || res->status == 409)) {
    spdlog::warn("job {}: lease lost ({})", job.work_id, Describe(res, "POST /renewLease"));
    job.lost = true;
  } else {
    ++s.stats.errors;
    spdlog::warn("job {}: {}", job.work_id, Describe(res, "POST /renewLease"));
  }
}

// Renews leases that are a third used up, and decides when the worker is idle.
void Housekeeping(const std::shared_ptr<State>& s) {
  MutexLock lock(s->mu);
  while (!s->stopping && s->pollers > 0) {
    s->cv.WaitFor(s->mu, kHousekeepingTick);
    const int64_t now = NowMs();
    if (s->options.idle_exit_ms > 0 && !s->idle && s->busy == 0 &&
        now - s->last_activity_ms >= static_cast<int64_t>(s->options.idle_exit_ms)) {
      spdlog::info("no work for {} ms: leaving", now - s->last_activity_ms);
      s->idle = true;
      s->cv.NotifyAll();
    }
    std::vector<std::shared_ptr<ActiveJob>> due;
    for (auto& [slot, job] : s->active) {
      if (now - job->renewed_ms >= job->lease_ms / 3 &&
          now - job->renew_tried_ms >= kRenewRetryMs && !job->lost) {
        job->renew_tried_ms = now;
        due.push_back(job);
      }
    }
    lock.unlock();
    for (auto& job : due) RenewLease(*s, *job);
    lock.lock();
  }
  --s->threads;
  s->cv.NotifyAll();
}

}  // namespace

std::string DefaultWorkerId() {
  char host[256] = {};
  if (gethostname(host, sizeof(host) - 1) != 0) std::snprintf(host, sizeof(host), "localhost");
  return "worker-" + std::string(host) + "-" + std::to_string(getpid());
}

Status ValidateWorkerOptions(const WorkerOptions& o) {
  if (o.threads < 1 || o.threads > 1024) return InvalidArgument("threads must be 1..1024");
  if (o.poll_wait_s < 1) return InvalidArgument("poll wait must be >= 1 s");
  if (o.backoff_min_ms < 1 || o.backoff_max_ms < o.backoff_min_ms) {
    return InvalidArgument("back-off must satisfy 1 <= min <= max");
  }
  if (o.lease_ms != 0 && o.lease_ms < 30) return InvalidArgument("lease_ms must be 0 or >= 30");
  if (o.slice_iterations < 1) return InvalidArgument("slice_iterations must be >= 1");
  if (o.id.empty() || o.id.size() > 200) return InvalidArgument("worker id must be 1..200 chars");
  for (char c : o.id) {
    if (static_cast<unsigned char>(c) < 0x21 || c == 0x7f) {
      return InvalidArgument("worker id must not contain spaces or control characters");
    }
  }
  if (o.router_tls.enabled() || !o.router_tls.cert_file.empty()) {
    if (auto tls = net::TlsContext::CreateClient(o.router_tls); !tls.ok()) return tls.status();
  }
  return net::SplitHostPort(o.router).status();
}

Worker::Worker(WorkerOptions options) : options_(std::move(options)) {
  if (options_.id.empty()) options_.id = DefaultWorkerId();
  state_ = std::make_shared<internal::WorkerState>(options_);
}

Worker::~Worker() {
  if (threads_.empty()) return;
  Stop();
  for (auto& t : threads_) {
    if (t.joinable()) t.join();
  }
}

void Worker::Start() {
  {
    MutexLock lock(state_->mu);
    state_->pollers = static_cast<int>(options_.threads);
    state_->threads = state_->pollers + 1;
    state_->last_activity_ms = NowMs();
  }
  spdlog::info("worker {}: {} thread(s) polling {}://{} (idle exit {} ms)", options_.id,
               options_.threads, state_->tls ? "https" : "http", options_.router,
               options_.idle_exit_ms);
  for (uint32_t i = 0; i < options_.threads; ++i) threads_.emplace_back(PollLoop, state_, i);
  threads_.emplace_back(Housekeeping, state_);
}

ExitReason Worker::Wait() {
  for (auto& t : threads_) {
    if (t.joinable()) t.join();
  }
  if (state_->stopping) return ExitReason::kStopped;
  if (Status s = NotifyKilled("idle"); !s.ok()) spdlog::warn("{}", s.message());
  return ExitReason::kIdle;
}

void Worker::Stop() {
  MutexLock lock(state_->mu);
  state_->stopping = true;
  state_->cv.NotifyAll();
}

bool Worker::JoinFor(uint32_t timeout_ms) {
  bool ended;
  {
    MutexLock lock(state_->mu);
    ended = state_->cv.WaitFor(state_->mu, std::chrono::milliseconds(timeout_ms),
                               [&]() REQUIRES(state_->mu) { return state_->threads == 0; });
  }
  for (auto& t : threads_) {
    if (!t.joinable()) continue;
    if (ended) {
      t.join();
    } else {
      t.detach();
    }
  }
  return ended;
}

Status Worker::NotifyKilled(const std::string& reason) {
  json body = {{"worker", options_.id}, {"reason", reason}};
  auto res = state_->Post("/notifyKilled", body);
  if (!res.ok() || res->status != 200) {
    return Unavailable("worker " + options_.id + ": " + Describe(res, "POST /notifyKilled"));
  }
  json j = json::parse(res->body, nullptr, false);
  spdlog::info("worker {}: router told ({}), {} lease(s) released", options_.id, reason,
               j.is_object() ? j.value("released", 0) : 0);
  return OkStatus();
}

bool Worker::Done() const {
  MutexLock lock(state_->mu);
  return state_->threads == 0;
}

WorkerStats Worker::stats() const {
  MutexLock lock(state_->mu);
  return state_->stats;
}

}  // namespace ringkv::worker
