#include "router/map/health_checker.h"

#include <spdlog/spdlog.h>

#include <chrono>
#include <future>
#include <vector>

#include "cluster/membership.h"
#include "router/map/discovery.h"

namespace ringkv::router {
namespace {

// A replace that failed (e.g. the migration's probes) is tried again after this.
constexpr int64_t kReplaceRetryMs = 5000;

int64_t SteadyMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace

HealthChecker::HealthChecker(MapOwner& map_owner, LiveSettings& settings,
                             const net::RespCredentials& backend, NodeCalls calls)
    : map_owner_(map_owner),
      settings_(settings),
      calls_(std::move(calls)),
      tracker_(settings.health()) {
  if (!calls_.probe) {
    calls_.probe = [backend](const cluster::NodeInfo& node, uint32_t timeout_ms) {
      return ProbeNode(node, timeout_ms, backend);
    };
  }
  if (!calls_.discover) {
    calls_.discover = [backend](const std::string& addr, std::optional<cluster::BackendKind> hint,
                                uint32_t timeout_ms) {
      return DiscoverNode(addr, hint, timeout_ms, backend);
    };
  }
  if (!calls_.flush) {
    calls_.flush = [backend](const cluster::NodeInfo& node, uint32_t timeout_ms) {
      return FlushRedisNode(node, timeout_ms, backend);
    };
  }
}

HealthChecker::~HealthChecker() {
  Stop();
}

void HealthChecker::Start() {
  task_.Start([this] { return std::chrono::milliseconds(settings_.health().interval_ms); },
              [this] {
                RunOnce();
                return true;
              },
              /*run_first=*/true);
}

void HealthChecker::Stop() {
  task_.Stop();
}

void HealthChecker::RunOnce() {
  cluster::HealthOptions options = settings_.health();
  tracker_.set_options(options);
  cluster::ClusterMap map = map_owner_.Map();
  // Probe all nodes concurrently so one slow node does not delay the others.
  std::vector<std::future<Status>> probes;
  for (const auto& node : map.nodes) {
    probes.push_back(std::async(std::launch::async, [node, options, this] {
      return calls_.probe(node, options.timeout_ms);
    }));
  }
  for (size_t i = 0; i < map.nodes.size(); ++i) {
    const cluster::NodeInfo& node = map.nodes[i];
    Status s = probes[i].get();
    bool down = node.state == cluster::NodeState::kDown;
    if (!s.ok()) spdlog::debug("health: {} ({}) probe failed: {}", node.id, node.addr, s.message());
    if (!s.ok()) {
      failing_.insert(node.id);
    } else {
      map_owner_.ClearSuspect(node.id);
      if (failing_.erase(node.id) > 0 && !down && hooks_.node_up) hooks_.node_up(node);
    }
    switch (tracker_.Record(node.id, s.ok(), down)) {
      case cluster::HealthTransition::kWentDown:
        if (MigrationRunning()) {
          spdlog::warn(
              "health: node {} ({}) fails its probes; ejection deferred: migration in "
              "progress",
              node.id, node.addr);
          tracker_.Forget(node.id);
          break;
        }
        OnWentDown(node, s.message());
        break;
      case cluster::HealthTransition::kCameBack:
        if (MigrationRunning()) {
          spdlog::info("health: node {} ({}) answers again; re-add deferred: migration in progress",
                       node.id, node.addr);
          tracker_.Forget(node.id);
          break;
        }
        OnCameBack(node);
        break;
      case cluster::HealthTransition::kNone:
        break;
    }
  }
  ReplaceLongDown(map);
}

void HealthChecker::ReplaceLongDown(const cluster::ClusterMap& map) {
  const int64_t now = SteadyMs();
  std::map<std::string, int64_t> since;
  for (const cluster::NodeInfo& node : map.nodes) {
    if (node.state != cluster::NodeState::kDown) continue;
    auto it = down_since_ms_.find(node.id);
    since[node.id] = it != down_since_ms_.end() ? it->second : now;
  }
  down_since_ms_ = std::move(since);
  const uint32_t after_s = settings_.health().replace_after_s;
  if (after_s == 0 || map.replication < 2 || !hooks_.replace || MigrationRunning()) return;
  if (now - last_replace_ms_ < kReplaceRetryMs) return;
  for (const cluster::NodeInfo& node : map.nodes) {
    auto it = down_since_ms_.find(node.id);
    if (it == down_since_ms_.end() || now - it->second < int64_t{after_s} * 1000) continue;
    last_replace_ms_ = now;
    if (Status s = hooks_.replace(node); !s.ok()) {
      spdlog::warn(
          "health: node {} ({}) is down for over replace_after_s={}s but cannot be "
          "removed yet: {}",
          node.id, node.addr, after_s, s.message());
      return;
    }
    spdlog::warn(
        "health: node {} ({}) is down for over replace_after_s={}s: removed; its keys "
        "get their copies back from the other replicas",
        node.id, node.addr, after_s);
    return;  // one migration at a time
  }
}

void HealthChecker::OnWentDown(const cluster::NodeInfo& node, std::string_view why) {
  auto r = map_owner_.Apply([&](const cluster::ClusterMap& m) {
    return cluster::SetState(m, node.id, cluster::NodeState::kDown);
  });
  if (r.ok()) {
    spdlog::warn("health: node {} ({}) is down at epoch {} (last probe: {}); {}", node.id,
                 node.addr, r->epoch, why,
                 r->replication > 1 ? "its keys are served by their other replicas"
                                    : "ejected from the ring");
  } else {
    spdlog::error("health: cannot mark {} down: {}", node.id, r.status().message());
  }
}

void HealthChecker::OnCameBack(const cluster::NodeInfo& node) {
  uint32_t timeout = settings_.health().timeout_ms;
  // A node registered while unreachable has not told us its kind and ports yet.
  cluster::NodeInfo fresh = node;
  bool undiscovered = IsUndiscovered(node);
  if (undiscovered || node.kind == cluster::BackendKind::kRingkv) {
    std::optional<cluster::BackendKind> hint;
    if (!undiscovered) hint = node.kind;
    auto d = calls_.discover(node.http_addr, hint, timeout);
    if (d.ok()) {
      fresh.kind = d->kind;
      fresh.addr = d->addr;
      fresh.http_addr = d->http_addr;
      fresh.grpc_addr = d->grpc_addr;
    } else if (undiscovered) {
      spdlog::warn("health: node {} answered a probe but not discovery ({}); keeping it down",
                   node.id, d.status().message());
      tracker_.Forget(node.id);
      return;
    }
  }
  // Only a redis back end is flushed (cache mode); a ringkv node keeps its data.
  const bool flush = fresh.kind == cluster::BackendKind::kRedis;
  if (Status s = flush ? calls_.flush(fresh, timeout) : OkStatus(); !s.ok()) {
    spdlog::warn("health: node {} answers again but FLUSHALL failed ({}); keeping it down", node.id,
                 s.message());
    tracker_.Forget(node.id);
    return;
  }
  if (!flush && map_owner_.Map().replication == 1 && hooks_.rejoin) {
    // Its successors served its arcs meanwhile: it takes them back by a
    // migration that keeps the newer of its entries and theirs.
    if (Status s = hooks_.rejoin(fresh); !s.ok()) {
      spdlog::warn(
          "health: node {} answers again but cannot take its keys back yet ({}); "
          "keeping it down",
          node.id, s.message());
      tracker_.Forget(node.id);
      return;
    }
    spdlog::info(
        "health: node {} ({}) is back; it takes its arcs back from its successors "
        "(newer versions win), nothing flushed",
        node.id, fresh.addr);
    if (hooks_.node_up) hooks_.node_up(fresh);
    return;
  }
  auto r = map_owner_.Apply([&](const cluster::ClusterMap& m) {
    return cluster::Reinstate(m, fresh, cluster::NodeState::kActive);
  });
  if (r.ok()) {
    spdlog::info("health: node {} ({}) is back; {} at epoch {}", node.id, fresh.addr,
                 flush ? "flushed and re-added" : "active again, nothing flushed", r->epoch);
    if (hooks_.node_up) hooks_.node_up(fresh);
  } else {
    spdlog::error("health: cannot re-add {}: {}", node.id, r.status().message());
  }
}

}  // namespace ringkv::router
