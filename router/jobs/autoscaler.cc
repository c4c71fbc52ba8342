#include "router/jobs/autoscaler.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <set>

namespace ringkv::router {

namespace {

constexpr std::string_view kWorkerPrefix = "worker-";

bool Matches(const provider::Instance& i, const WorkerRegistry::Worker& w) {
  return w.id == i.name || (w.pid != 0 && w.pid == i.pid);
}

}  // namespace

ScaleDecision DecideScale(const ScaleInputs& in) {
  using Kind = ScaleDecision::Kind;
  std::string workers = fmt::format("workers {}/{}", in.alive, in.max_workers);
  if (in.queued == 0) return {Kind::kNoQueue, "no queued job, " + workers};
  double waited = in.oldest_age_ms / 1000.0, after = in.scale_after_ms / 1000.0;
  if (in.oldest_age_ms <= int64_t{in.scale_after_ms}) {
    return {Kind::kYoung,
            fmt::format("oldest job waited {:.1f} s <= {:g} s, {}", waited, after, workers)};
  }
  std::string reason =
      fmt::format("oldest job waited {:.1f} s > {:g} s, {}", waited, after, workers);
  if (in.alive >= in.max_workers) return {Kind::kAtMax, reason + ": at max_workers"};
  return {Kind::kLaunch, reason};
}

size_t CountAliveWorkers(const std::vector<provider::Instance>& instances,
                         const std::vector<WorkerRegistry::Worker>& seen) {
  size_t matched = 0, lone_instances = 0;
  std::set<std::string> matched_ids;
  for (const provider::Instance& i : instances) {
    if (i.kind != "worker" || !i.alive) continue;
    auto it = std::find_if(seen.begin(), seen.end(),
                           [&](const WorkerRegistry::Worker& w) { return Matches(i, w); });
    if (it == seen.end()) {
      ++lone_instances;
    } else {
      ++matched;
      matched_ids.insert(it->id);
    }
  }
  size_t lone_seen = seen.size() - std::min(seen.size(), matched_ids.size());
  return matched + std::max(lone_instances, lone_seen);
}

std::string NextWorkerName(const std::vector<provider::Instance>& instances) {
  std::set<std::string> taken;
  for (const auto& i : instances) {
    if (i.alive) taken.insert(i.name);
  }
  for (size_t n = 1;; ++n) {
    std::string name = std::string(kWorkerPrefix) + std::to_string(n);
    if (!taken.count(name)) return name;
  }
}

Autoscaler::Autoscaler(AutoscalerOptions options, JobsApi& jobs,
                       std::unique_ptr<provider::Provider> provider)
    : options_(std::move(options)), jobs_(jobs), provider_(std::move(provider)) {}

Autoscaler::~Autoscaler() {
  Stop();
}

void Autoscaler::Start() {
  if (!options_.enabled || !provider_ || task_.running()) return;
  spdlog::info(
      "autoscaler: on, launching up to {} workers when a job waits over {} ms (checked every {} "
      "ms)",
      options_.max_workers, options_.scale_after_ms, options_.interval_ms);
  task_.Start(std::chrono::milliseconds(options_.interval_ms), [this] {
    Tick();
    return true;
  });
}

void Autoscaler::Stop() {
  task_.Stop();
}

void Autoscaler::Tick() {
  JobsApi::Totals t = jobs_.GatherStats();
  int64_t now = WallMs();
  auto list = provider_->List();
  if (!list.ok()) {
    spdlog::warn("autoscaler: cannot list workers: {}", list.status().message());
    return;
  }
  ScaleInputs in;
  in.queued = t.stats.queued;
  in.oldest_age_ms = t.stats.oldest_queued_ms > 0 ? now - t.stats.oldest_queued_ms : 0;
  in.alive = CountAliveWorkers(*list, jobs_.workers().List(now));
  in.max_workers = options_.max_workers;
  in.scale_after_ms = options_.scale_after_ms;
  ScaleDecision d = DecideScale(in);
  bool launch = d.kind == ScaleDecision::Kind::kLaunch;
  {
    MutexLock lock(mu_);
    alive_ = in.alive;
    if (launch && now < retry_after_ms_) {
      last_decision_ = d.reason + ": waiting after a failed launch";
      return;
    }
    if (!launch) {
      if (d.kind != last_kind_) spdlog::info("autoscaler: {}: no launch", d.reason);
      last_kind_ = d.kind;
      last_decision_ = d.reason + ": no launch";
      return;
    }
    last_kind_ = d.kind;
  }
  Launch(d.reason, *list);
}

void Autoscaler::Launch(const std::string& reason,
                        const std::vector<provider::Instance>& instances) {
  provider::LaunchSpec spec;
  spec.name = NextWorkerName(instances);
  spec.kind = "worker";
  // The worker's id is its instance name, so /workers can tell it was launched here.
  spec.args = {"--router",    options_.router_url,
               "--idle-exit", options_.worker_idle_exit,
               "--threads",   std::to_string(options_.worker_threads),
               "--id",        spec.name};
  if (!options_.password_file.empty()) {
    spec.args.insert(spec.args.end(), {"--password-file", options_.password_file});
  }
  if (!options_.router_tls_ca_cert_file.empty()) {
    spec.args.insert(spec.args.end(),
                     {"--router-tls-ca-cert-file", options_.router_tls_ca_cert_file});
  }
  if (!options_.router_tls_cert_file.empty()) {
    spec.args.insert(spec.args.end(), {"--router-tls-cert-file", options_.router_tls_cert_file,
                                       "--router-tls-key-file", options_.router_tls_key_file});
  }
  std::string decision = reason + ": launching " + spec.name;
  spdlog::info("autoscaler: {}", decision);
  // Known before it starts: the worker may poll before Launch returns.
  jobs_.workers().MarkLaunched(spec.name, 0);
  auto inst = provider_->Launch(spec);
  MutexLock lock(mu_);
  if (!inst.ok()) {
    spdlog::warn("autoscaler: launching {} failed: {}", spec.name, inst.status().message());
    last_decision_ = decision + " failed: " + inst.status().message();
    retry_after_ms_ = WallMs() + options_.scale_after_ms;
    return;
  }
  ++launches_;
  ++alive_;
  last_decision_ = decision;
  jobs_.workers().MarkLaunched(spec.name, inst->pid);
  spdlog::info("autoscaler: {} runs as pid {}", spec.name, inst->pid);
}

AutoscalerStatus Autoscaler::status() const {
  MutexLock lock(mu_);
  AutoscalerStatus s;
  s.enabled = options_.enabled;
  s.max_workers = options_.max_workers;
  s.scale_after_ms = options_.scale_after_ms;
  s.launches = launches_;
  s.alive_workers = alive_;
  s.last_decision = last_decision_;
  return s;
}

}  // namespace ringkv::router
