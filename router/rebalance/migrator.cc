#include "router/rebalance/migrator.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <future>
#include <nlohmann/json.hpp>

#include "cluster/map_store.h"
#include "router/rebalance/node_client.h"

namespace ringkv::router {
namespace {

using cluster::ClusterMap;
using cluster::Migration;
using cluster::MigrationState;
using json = nlohmann::ordered_json;

constexpr char kRecordFile[] = "migration.json";

std::string NewId(uint64_t epoch, int64_t now_ms) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "m%" PRIu64 "-%" PRIx64, epoch,
                static_cast<uint64_t>(now_ms) & uint64_t{0xffffffffff});
  return buf;
}

const cluster::NodeInfo* FindIn(const ClusterMap& map, const std::string& id) {
  auto i = map.Find(id);
  return i ? &map.nodes[*i] : nullptr;
}

// A migration as GET /migrations shows it: the record without its maps and
// arc lists, plus the live rate and ETA.
json Summary(const Migration& m, double rate, std::optional<double> eta_s) {
  json j = json::parse(cluster::MigrationToJson(m));
  j.erase("from_map");
  j.erase("to_map");
  for (json& p : j["pairs"]) p["arcs"] = p["arcs"].size();
  j["from_epoch"] = m.from_map.epoch;
  j["to_epoch"] = m.to_map.epoch;
  j["started_ms"] = m.created_ms;
  j["rate"] = rate;
  j["eta_s"] = eta_s ? json(*eta_s) : json();
  if (m.copy_started_ms != 0 && m.copy_finished_ms >= m.copy_started_ms) {
    j["copy_seconds"] = (m.copy_finished_ms - m.copy_started_ms) / 1000.0;
  }
  return j;
}

}  // namespace

std::string MigrationSummaryJson(const Migration& m, double rate, std::optional<double> eta_s) {
  return Summary(m, rate, eta_s).dump(-1, ' ', false, json::error_handler_t::replace);
}

Migrator::Migrator(MigratorOptions options, MapOwner& map_owner, ArcMover& mover, NodeClient* peers,
                   Clock& clock)
    : options_(std::move(options)),
      map_owner_(map_owner),
      mover_(mover),
      peers_(peers),
      clock_(clock),
      max_keys_per_sec_(options_.max_keys_per_sec),
      max_bytes_per_sec_(options_.max_bytes_per_sec) {}

Migrator::~Migrator() {
  Stop();
}

Status Migrator::Open() {
  const std::string path = options_.data_dir + "/" + kRecordFile;
  auto text = cluster::ReadFileIfExists(path);
  if (!text.ok()) return text.status();
  MutexLock change_lock(change_mu_);
  MutexLock lock(mu_);
  if (text->has_value()) {
    auto log = cluster::MigrationLogFromJson(**text);
    // Corrupt is an error, never "no migration": resuming nothing could
    // leave keys on an old owner the map no longer routes to.
    if (!log.ok()) return DataLoss(path + ": " + log.status().message());
    log_ = *std::move(log);
  }
  if (log_.current) {
    const Migration& m = *log_.current;
    max_keys_per_sec_ = m.max_keys_per_sec;
    max_bytes_per_sec_ = m.max_bytes_per_sec;
    spdlog::info("rebalance: resuming migration {} ({} {}) in state {}", m.id,
                 cluster::MigrationKindName(m.kind), m.subject,
                 cluster::MigrationStateName(m.state));
    runner_ = std::thread([this] { Run(); });
  }
  return OkStatus();
}

void Migrator::Stop() {
  {
    MutexLock lock(mu_);
    stop_ = true;
    StopCallsLocked();
  }
  cv_.NotifyAll();
  MutexLock change_lock(change_mu_);
  if (runner_.joinable()) runner_.join();
}

// ---- starting a change ----

StatusOr<Migrator::Started> Migrator::Change(cluster::MigrationKind kind, std::string subject,
                                             MapChange change) {
  MutexLock change_lock(change_mu_);
  {
    MutexLock lock(mu_);
    if (stop_) return Unavailable("the router is stopping");
    if (log_.current) {
      return Status(StatusCode::kAborted,
                    "a migration is in progress (id " + log_.current->id + ")");
    }
  }
  if (runner_.joinable()) runner_.join();  // the last one has finished
  ClusterMap before = map_owner_.Map();
  auto to = change(before);
  if (!to.ok()) return to.status();
  auto plan = cluster::PlanMigration(before, *to, kind, NewId(to->epoch, clock_.NowMs()),
                                     std::move(subject), clock_.NowMs());
  if (!plan.ok()) return plan.status();
  if (!plan->pairs.empty() && cluster::ReplicaMove(before, *to)) {
    if (Status s = CheckNodesAnswer(*plan); !s.ok()) return s;
  }
  std::string skip = plan->pairs.empty() ? "" : FallbackReason(*plan);
  if (plan->pairs.empty() || !skip.empty()) {
    auto after = ApplySettled(before, *to);
    if (!after.ok()) return after.status();
    if (!skip.empty()) {
      spdlog::warn(
          "rebalance: {} {}: {}; applied epoch {} at once: keys on moved arcs are "
          "remapped (cache semantics)",
          cluster::MigrationKindName(kind), plan->subject, skip, after->epoch);
    } else {
      PushMapToAll(*after);
    }
    return Started{before, *after, std::nullopt, !skip.empty()};
  }
  plan->grace_ms = options_.grace_ms;
  {
    MutexLock lock(mu_);
    plan->max_keys_per_sec = max_keys_per_sec_;
    plan->max_bytes_per_sec = max_bytes_per_sec_;
    log_.current = *plan;
    if (Status s = PersistLocked(); !s.ok()) {
      log_.current.reset();
      return s;
    }
    cancel_requested_ = false;
    samples_.clear();
    sent_total_ = 0;
  }
  spdlog::info("rebalance: migration {} ({} {}): {} arcs in {} pairs, epoch {} -> {}", plan->id,
               cluster::MigrationKindName(kind), plan->subject, plan->ArcsTotal(),
               plan->pairs.size(), before.epoch, plan->to_map.epoch);
  runner_ = std::thread([this] { Run(); });
  return Started{before, plan->to_map, *plan, false};
}

// The one place where a ring change skips the migration and is applied at
// once, as a cache remap: back ends that cannot move keys yet. Redis pairs
// get a RedisArcMover here later (router/rebalance/redis_mover.h has the copy).
std::string Migrator::FallbackReason(const Migration& plan) {
  std::vector<std::string> ids = plan.InvolvedNodes();
  if (plan.InvolvesRedis()) {
    // Redis moves run on the router (SCAN + MIGRATE); a mix of kinds cannot.
    for (const std::string& id : ids) {
      const cluster::NodeInfo* n = FindIn(plan.to_map, id);
      if (!n) n = FindIn(plan.from_map, id);
      if (!n || n->kind != cluster::BackendKind::kRedis) {
        return "the move mixes redis back ends and ringkv nodes";
      }
    }
    return "";
  }
  std::vector<std::future<Status>> probes;
  for (const std::string& id : ids) {
    const cluster::NodeInfo* n = FindIn(plan.to_map, id);
    if (!n) n = FindIn(plan.from_map, id);
    if (!n || n->grpc_addr.empty()) return "node " + id + " has no gRPC address";
    if (!peers_) continue;
    probes.push_back(std::async(std::launch::async, [this, addr = n->grpc_addr] {
      return peers_->GetStatus(addr).status();
    }));
  }
  for (size_t i = 0; i < probes.size(); ++i) {
    Status s = probes[i].get();
    if (s.code() == StatusCode::kUnimplemented) {
      return "node " + ids[i] + " does not serve ringkv.v1.Peer";
    }
  }
  return "";
}

// A replica move copies from every old replica the map does not mark down,
// and waits for each of them: one that does not answer (killed, and not yet
// marked down by the health checks) would hold the move up until a cancel.
Status Migrator::CheckNodesAnswer(const Migration& plan) {
  if (!peers_) return OkStatus();
  std::vector<std::string> ids = plan.InvolvedNodes();
  std::vector<std::future<Status>> probes;
  for (const std::string& id : ids) {
    const cluster::NodeInfo* n = FindIn(plan.to_map, id);
    if (!n) n = FindIn(plan.from_map, id);
    probes.push_back(std::async(std::launch::async, [this, addr = n ? n->grpc_addr : ""] {
      return addr.empty() ? OkStatus() : peers_->GetStatus(addr).status();
    }));
  }
  for (size_t i = 0; i < probes.size(); ++i) {
    Status s = probes[i].get();
    if (s.code() == StatusCode::kUnavailable || s.code() == StatusCode::kDeadlineExceeded) {
      return Unavailable("node " + ids[i] + " does not answer (" + s.message() +
                         "); replica sets are copied from every old replica not marked down: "
                         "retry once it answers or the health checks mark it down");
    }
  }
  return OkStatus();
}

StatusOr<ClusterMap> Migrator::ApplySettled(const ClusterMap& from, const ClusterMap& to) {
  return map_owner_.Apply([&](const ClusterMap& cur) -> StatusOr<ClusterMap> {
    if (cur.epoch != from.epoch) {
      return Status(StatusCode::kAborted, "the cluster map changed meanwhile; try again");
    }
    return cluster::Settled(to);
  });
}

// ---- operator controls ----

Status Migrator::Pause() {
  MutexLock lock(mu_);
  if (!log_.current) return FailedPrecondition("no migration is running");
  Migration& m = *log_.current;
  if (!cluster::Cancellable(m) || cancel_requested_) {
    return FailedPrecondition(
        "migration " + m.id + " is " + std::string(cluster::MigrationStateName(m.state)) +
        (cancel_requested_ ? " (cancelling)" : "") + "; it can no longer be paused");
  }
  if (m.paused) return FailedPrecondition("migration " + m.id + " is already paused");
  m.paused = true;
  StopCallsLocked();
  spdlog::info("rebalance: migration {} paused", m.id);
  return PersistLocked();
}

Status Migrator::Resume() {
  Status s;
  {
    MutexLock lock(mu_);
    if (!log_.current) return FailedPrecondition("no migration is running");
    Migration& m = *log_.current;
    if (!m.paused) return FailedPrecondition("migration " + m.id + " is not paused");
    m.paused = false;
    spdlog::info("rebalance: migration {} resumed", m.id);
    s = PersistLocked();
  }
  cv_.NotifyAll();
  return s;
}

Status Migrator::Cancel() {
  {
    MutexLock lock(mu_);
    if (!log_.current) return FailedPrecondition("no migration is running");
    Migration& m = *log_.current;
    if (cancel_requested_ || m.state == MigrationState::kCancelling) {
      return FailedPrecondition("migration " + m.id + " is already being cancelled");
    }
    if (m.InvolvesRedis()) {
      return FailedPrecondition("migration " + m.id +
                                " moves keys between Redis back ends: keys already moved cannot be "
                                "handed back; pause it or let it finish");
    }
    if (!cluster::Cancellable(m)) {
      return FailedPrecondition("migration " + m.id + " is " +
                                std::string(cluster::MigrationStateName(m.state)) +
                                ": every key is copied, too late to cancel");
    }
    cancel_requested_ = true;
    StopCallsLocked();
    spdlog::info("rebalance: cancelling migration {}", m.id);
  }
  cv_.NotifyAll();
  return OkStatus();
}

void Migrator::SetRate(uint64_t max_keys_per_sec, uint64_t max_bytes_per_sec) {
  MutexLock lock(mu_);
  max_keys_per_sec_ = max_keys_per_sec;
  max_bytes_per_sec_ = max_bytes_per_sec;
  if (!log_.current) return;
  log_.current->max_keys_per_sec = max_keys_per_sec;
  log_.current->max_bytes_per_sec = max_bytes_per_sec;
  StopCallsLocked();  // the copy calls restart with the new limits
  if (Status s = PersistLocked(); !s.ok()) spdlog::error("rebalance: {}", s.message());
}

std::string Migrator::StatusJson() const {
  MutexLock lock(mu_);
  json out;
  if (log_.current) {
    const Migration& m = *log_.current;
    double rate = RateLocked();
    std::optional<double> eta;
    uint64_t expected = m.KeysExpected();
    if (m.state == MigrationState::kCopying && rate > 0 && expected > 0) {
      eta =
          std::max(0.0, static_cast<double>(expected) - static_cast<double>(m.KeysMoved())) / rate;
    }
    out["current"] = Summary(m, rate, eta);
  } else {
    out["current"] = nullptr;
  }
  out["history"] = json::array();
  for (const Migration& m : log_.history) out["history"].push_back(Summary(m, 0, std::nullopt));
  out["rate_limit"] = {{"max_keys_per_sec", max_keys_per_sec_},
                       {"max_bytes_per_sec", max_bytes_per_sec_}};
  return out.dump(-1, ' ', false, json::error_handler_t::replace);
}

bool Migrator::Running() const {
  MutexLock lock(mu_);
  return log_.current.has_value();
}

std::string Migrator::RunningId() const {
  MutexLock lock(mu_);
  return log_.current ? log_.current->id : "";
}

void Migrator::NodeUp(const cluster::NodeInfo& node) {
  if (Status s = mover_.PushMap(node, cluster::ToJson(map_owner_.Map())); !s.ok()) {
    spdlog::debug("rebalance: SetMap on {}: {}", node.id, s.message());
  }
  std::optional<Migration> m;
  {
    MutexLock lock(mu_);
    if (log_.current && log_.current->state == MigrationState::kCopying) m = *log_.current;
  }
  if (!m) return;
  auto ids = m->InvolvedNodes();
  if (std::find(ids.begin(), ids.end(), node.id) == ids.end()) return;
  if (auto r = mover_.Begin(*m, node.id); !r.ok()) {
    spdlog::warn("rebalance: re-sending BeginMigration to {}: {}", node.id, r.status().message());
  }
}

}  // namespace ringkv::router
