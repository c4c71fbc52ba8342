#include "router/config_watcher.h"

#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <set>

#include "cluster/membership.h"
#include "router/map/live_settings.h"
#include "router/map/map_owner.h"
#include "router/node_changes.h"
#include "router/rebalance/migrator.h"

namespace ringkv::router {

namespace {

int64_t MtimeNs(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return -1;
  return int64_t{st.st_mtim.tv_sec} * 1'000'000'000 + st.st_mtim.tv_nsec;
}

// The entries of `a` that are not in `b`, in a's order.
std::vector<std::string> Minus(const std::vector<std::string>& a,
                               const std::vector<std::string>& b) {
  std::set<std::string> drop(b.begin(), b.end());
  std::vector<std::string> out;
  for (const auto& x : a) {
    if (!drop.count(x)) out.push_back(x);
  }
  return out;
}

}  // namespace

ConfigWatcher::ConfigWatcher(const RouterOptions& options, MapOwner& map_owner, Migrator& migrator,
                             NodeChanges& nodes, LiveSettings& settings)
    : options_(options),
      map_owner_(map_owner),
      migrator_(migrator),
      nodes_(nodes),
      settings_(settings),
      applied_(options) {}

void ConfigWatcher::Start() {
  if (options_.config_path.empty()) return;
  {
    MutexLock lock(mu_);
    mtime_ns_ = MtimeNs(options_.config_path);
  }
  task_.Start(std::chrono::milliseconds(options_.config_poll_ms), [this] {
    Poll();
    return true;
  });
}

void ConfigWatcher::Poll() {
  const int64_t m = MtimeNs(options_.config_path);
  {
    MutexLock lock(mu_);
    if (m == mtime_ns_) {
      if (pending_ && !migrator_.Running()) {
        RouterOptions next = *pending_;
        ApplyLive(next);
      }
      return;
    }
    mtime_ns_ = m;
  }
  Reload();
}

void ConfigWatcher::Reload() {
  if (options_.config_path.empty()) return;
  auto next = LoadRouterConfig(options_.config_path, RouterOptions{});
  for (const auto& [name, value] : options_.overrides) {
    if (!next.ok()) break;
    if (Status s = ApplyRouterSetting(*next, name, value); !s.ok()) next = s;
  }
  if (next.ok()) {
    if (Status s = ValidateRouterOptions(*next); !s.ok()) next = s;
  }
  if (!next.ok()) {
    spdlog::error("config: {} is invalid, keeping the running config: {}", options_.config_path,
                  next.status().message());
    return;
  }
  spdlog::info("config: re-read {}", options_.config_path);
  MutexLock lock(mu_);
  ApplyLive(*next);
}

// Consistency levels and lifetimes changed in the file: a new epoch (no key
// moves). `replication` is not live: a persisted map keeps its own.
// False while a migration runs (its maps must stay as planned): retried.
bool ConfigWatcher::ApplyConsistency(const RouterOptions& next) {
  const RouterOptions& was = applied_;
  if (next.write_consistency == was.write_consistency &&
      next.read_consistency == was.read_consistency &&
      next.tombstone_ttl_s == was.tombstone_ttl_s && next.hint_ttl_s == was.hint_ttl_s) {
    return true;
  }
  if (migrator_.Running()) return false;
  auto r = map_owner_.Apply([&](const cluster::ClusterMap& m) -> StatusOr<cluster::ClusterMap> {
    cluster::ClusterMap n = m;
    n.write_consistency = next.write_consistency;
    n.read_consistency = next.read_consistency;
    n.tombstone_ttl_s = next.tombstone_ttl_s;
    n.hint_ttl_s = next.hint_ttl_s;
    if (n == m) return m;
    n.epoch = m.epoch + 1;
    return n;
  });
  if (r.ok()) {
    spdlog::info(
        "config: write_consistency {}, read_consistency {}, tombstone_ttl_s {}, "
        "hint_ttl_s {} at epoch {}",
        cluster::ConsistencyName(r->write_consistency),
        cluster::ConsistencyName(r->read_consistency), r->tombstone_ttl_s, r->hint_ttl_s, r->epoch);
  } else {
    spdlog::warn("config: cannot apply the consistency settings: {}", r.status().message());
  }
  return true;
}

void ConfigWatcher::ApplyLive(const RouterOptions& next) {
  cluster::ClusterMap map = map_owner_.Map();
  bool waiting = false;  // a ring change waits for the running migration
  if (next.vnodes != applied_.vnodes && next.vnodes != map.vnodes) {
    auto r = migrator_.Change(
        cluster::MigrationKind::kVnodes, "vnodes " + std::to_string(next.vnodes),
        [&](const cluster::ClusterMap& m) { return cluster::SetVnodes(m, next.vnodes); });
    if (r.ok()) {
      spdlog::info("config: vnodes {} -> {} at epoch {}{}", map.vnodes, next.vnodes, r->after.epoch,
                   r->migration ? " (migration " + r->migration->id + ")" : "");
    } else if (r.status().code() == StatusCode::kAborted) {
      spdlog::info("config: vnodes {} waits: {}", next.vnodes, r.status().message());
      waiting = true;
    } else {
      spdlog::warn("config: cannot set vnodes {}: {}", next.vnodes, r.status().message());
    }
  }
  const bool consistency_applied = ApplyConsistency(next);
  waiting = !consistency_applied || waiting;
  const cluster::HealthOptions &h = next.health, &was = applied_.health;
  if (h.interval_ms != was.interval_ms || h.timeout_ms != was.timeout_ms ||
      h.failures != was.failures || h.successes != was.successes) {
    settings_.set_health(h);
  }
  if (next.log_level != applied_.log_level) {
    settings_.set_log_level(next.log_level);
    spdlog::set_level(spdlog::level::from_str(next.log_level));
    spdlog::info("config: log level {}", next.log_level);
  }
  waiting = !nodes_.Add(Minus(next.nodes, applied_.nodes), NodeChanges::Source::kConfig) || waiting;
  waiting = !nodes_.Remove(Minus(applied_.nodes, next.nodes)) || waiting;
  if (waiting) {
    // Settings applied so far stay; the ring changes are retried each poll.
    RouterOptions partial = next;
    partial.vnodes = applied_.vnodes;
    partial.nodes = applied_.nodes;
    if (!consistency_applied) {
      partial.write_consistency = applied_.write_consistency;
      partial.read_consistency = applied_.read_consistency;
      partial.tombstone_ttl_s = applied_.tombstone_ttl_s;
      partial.hint_ttl_s = applied_.hint_ttl_s;
    }
    applied_ = partial;
    pending_ = next;
    return;
  }
  applied_ = next;
  pending_.reset();
}

}  // namespace ringkv::router
