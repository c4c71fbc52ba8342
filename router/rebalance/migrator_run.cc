// The Migrator's runner thread: one step of the state machine after another,
// each persisted before the next, each safe to repeat after a restart.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <future>

#include "cluster/map_store.h"
#include "router/rebalance/migrator.h"

namespace ringkv::router {
namespace {

using cluster::ClusterMap;
using cluster::Migration;
using cluster::MigrationState;

constexpr char kRecordFile[] = "migration.json";
constexpr int kEndAttempts = 3;

bool AllSourcesDone(const Migration& m) {
  return std::all_of(m.sources.begin(), m.sources.end(),
                     [](const cluster::MigrationSource& s) { return s.done; });
}

const cluster::NodeInfo* FindIn(const ClusterMap& map, const std::string& id) {
  auto i = map.Find(id);
  return i ? &map.nodes[*i] : nullptr;
}

// The source and the targets of its pairs.
std::vector<std::string> SourceAndTargets(const Migration& m, const std::string& source) {
  std::vector<std::string> out = {source};
  for (const cluster::MigrationPair& p : m.pairs) {
    if (p.source == source && std::find(out.begin(), out.end(), p.target) == out.end()) {
      out.push_back(p.target);
    }
  }
  return out;
}

}  // namespace

void Migrator::Run() {
  while (true) {
    MigrationState state;
    {
      MutexLock lock(mu_);
      if (stop_ || !log_.current) return;
      if (cancel_requested_ && cluster::Cancellable(*log_.current)) {
        SetStateLocked(MigrationState::kCancelling);
        continue;
      }
      state = log_.current->state;
    }
    switch (state) {
      case MigrationState::kPlanned: {
        MutexLock lock(mu_);
        SetStateLocked(MigrationState::kCopying);
        break;
      }
      case MigrationState::kCopying: {
        Copy();
        MutexLock lock(mu_);
        if (!Interrupted() && AllSourcesDone(*log_.current)) {
          SetStateLocked(MigrationState::kSwitching);
        }
        break;
      }
      case MigrationState::kSwitching:
        Switch();
        break;
      case MigrationState::kCleaning: {
        int64_t wait = 0;
        {
          MutexLock lock(mu_);
          wait = std::max<int64_t>(0, log_.current->clean_until_ms - clock_.NowMs());
        }
        if (!SleepMs(static_cast<uint32_t>(wait), false)) return;
        MutexLock lock(mu_);
        SetStateLocked(MigrationState::kDone);
        break;
      }
      case MigrationState::kCancelling:
        CancelSteps();
        break;
      case MigrationState::kDone:
      case MigrationState::kCancelled:
        Finish();
        return;
    }
  }
}

// copying: roles, routing map, map push, grace, then every source's copy.
void Migrator::Copy() {
  if (!BeginAll()) return;
  if (Status s = PublishRoutingMap(); !s.ok()) {
    spdlog::error("rebalance: cannot publish the routing map: {}; cancelling", s.message());
    SetError(s.message());
    MutexLock lock(mu_);
    cancel_requested_ = true;
    return;
  }
  PushMapToAll(map_owner_.Map());
  // No proxy request still in flight with the old table after this.
  if (!SleepMs(Snapshot().grace_ms, true)) return;
  {
    MutexLock lock(mu_);
    if (log_.current->copy_started_ms == 0) log_.current->copy_started_ms = clock_.NowMs();
  }
  std::vector<std::thread> threads;
  for (const cluster::MigrationSource& s : Snapshot().sources) {
    if (!s.done) threads.emplace_back([this, id = s.id] { CopySource(id); });
  }
  const Migration m = Snapshot();
  if (cluster::ReplicaMove(m.from_map, m.to_map)) {
    threads.emplace_back([this, m] { KeepReplicaParts(m); });
  }
  {
    MutexLock lock(mu_);
    while (!Interrupted() && !AllSourcesDone(*log_.current)) {
      cv_.WaitFor(mu_, std::chrono::seconds(1));
      if (dirty_ && PersistLocked().ok()) dirty_ = false;
    }
    StopCallsLocked();
  }
  cv_.NotifyAll();
  for (std::thread& t : threads) t.join();
  MutexLock lock(mu_);
  if (AllSourcesDone(*log_.current) && log_.current->copy_finished_ms == 0) {
    log_.current->copy_finished_ms = clock_.NowMs();
    dirty_ = true;
  }
  if (dirty_ && PersistLocked().ok()) dirty_ = false;
}

// BeginMigration on every involved node, retried with backoff until each
// answered. False when interrupted.
// BeginMigration on each of `pending`, in parallel, retried with backoff
// until each answered. False when interrupted.
bool Migrator::BeginEach(const cluster::Migration& m, std::vector<std::string> pending) {
  uint32_t backoff = options_.retry_min_ms;
  while (!pending.empty()) {
    std::vector<std::future<StatusOr<uint64_t>>> calls;
    calls.reserve(pending.size());
    for (const std::string& id : pending) {
      calls.push_back(
          std::async(std::launch::async, [this, &m, id] { return mover_.Begin(m, id); }));
    }
    std::vector<std::string> failed;
    for (size_t i = 0; i < pending.size(); ++i) {
      StatusOr<uint64_t> keys = calls[i].get();
      if (!keys.ok()) {
        spdlog::warn("rebalance: {}: {}", m.id, keys.status().message());
        SetError(keys.status().message());
        failed.push_back(pending[i]);
        continue;
      }
      MutexLock lock(mu_);
      for (cluster::MigrationSource& s : log_.current->sources) {
        if (s.id == pending[i] && s.keys_held == 0) s.keys_held = *keys;
      }
    }
    pending = std::move(failed);
    if (pending.empty()) break;
    if (!SleepMs(backoff, true)) return false;
    backoff = std::min(backoff * 2, options_.retry_max_ms);
  }
  return true;
}

bool Migrator::BeginAll() {
  Migration m = Snapshot();
  // Nodes that only import begin first: an exporter writes each change of a
  // moving key through to its importer, which must know the migration by
  // then. (A node that does both relies on the writer's short retry.)
  std::vector<std::string> importers, rest;
  for (const std::string& id : m.InvolvedNodes()) {
    const bool exports =
        std::any_of(m.pairs.begin(), m.pairs.end(),
                    [&](const cluster::MigrationPair& p) { return p.source == id; });
    (exports ? rest : importers).push_back(id);
  }
  for (std::vector<std::string>* phase : {&importers, &rest}) {
    if (!BeginEach(m, std::move(*phase))) return false;
  }
  MutexLock lock(mu_);
  log_.current->last_error.clear();
  (void)PersistLocked();  // a failed write is logged; the step is redone on resume
  return true;
}

// Publishes the routing map E+1; idempotent (after a restart the registry
// may hold it already).
Status Migrator::PublishRoutingMap() {
  Migration m = Snapshot();
  // The old ring beside the new one (RouteTable::moves): reads of moving
  // keys go to the old owner (ringkv), or each key is moved first (Redis).
  // Replica sets need none: any replica of either set coordinates a key
  // with both sets in mind (docs/replication.md, "Moves").
  if (!cluster::ReplicaMove(m.from_map, m.to_map)) {
    if (Status s = map_owner_.SetMovesFrom(m.from_map); !s.ok()) return s;
  }
  auto r = map_owner_.Apply([&](const ClusterMap& cur) -> StatusOr<ClusterMap> {
    if (cluster::SameMembership(cur, m.to_map)) return cur;
    if (cluster::SameMembership(cur, m.from_map) && cur.epoch < m.to_map.epoch) return m.to_map;
    return FailedPrecondition("the cluster map changed (epoch " + std::to_string(cur.epoch) +
                              ") since migration " + m.id + " was planned");
  });
  if (!r.ok()) return r.status();
  spdlog::info("rebalance: {}: routing map epoch {} published", m.id, r->epoch);
  return OkStatus();
}

// One source's copy: MoveArcs until done, restarted after a pause or a rate
// change, retried with backoff (roles re-asserted first) after a failure.
void Migrator::CopySource(const std::string& id) {
  uint32_t backoff = options_.retry_min_ms;
  bool reassert = false;
  while (true) {
    std::atomic<bool> stop_call{false};
    MoveLimits limits;
    Migration m;
    {
      MutexLock lock(mu_);
      cv_.Wait(mu_, [&]() REQUIRES(mu_) {
        return Interrupted() ||
               (!log_.current->paused &&
                (options_.max_parallel_copies == 0 || copying_ < options_.max_parallel_copies));
      });
      if (Interrupted()) return;
      ++copying_;
      limits = {max_keys_per_sec_, max_bytes_per_sec_};
      calls_[id] = &stop_call;
      m = *log_.current;
      RecordProgressLocked(0);
    }
    if (reassert) Reassert(m, id);
    uint64_t seen = 0;
    Status s = mover_.Move(
        m, id, limits,
        [&](const MoveCounts& c) {
          MutexLock lock(mu_);
          for (cluster::MigrationSource& src : log_.current->sources) {
            if (src.id != id) continue;
            src.keys_moved = std::max(src.keys_moved, c.keys_sent);
            src.bytes_moved = std::max(src.bytes_moved, c.bytes_sent);
          }
          if (c.keys_sent > seen) RecordProgressLocked(c.keys_sent - seen);
          seen = std::max(seen, c.keys_sent);
          dirty_ = true;
        },
        stop_call);
    {
      MutexLock lock(mu_);
      calls_.erase(id);
      --copying_;
      cv_.NotifyAll();  // a waiting source may copy now
      if (s.ok()) {
        MarkSourceDoneLocked(id);
        cv_.NotifyAll();
        return;
      }
      if (stop_call.load()) continue;  // paused, new rate, cancel or stop: decided above
      log_.current->last_error = s.message();
    }
    spdlog::warn("rebalance: copy from {} failed ({}); retrying in {} ms", id, s.message(),
                 backoff);
    if (!SleepMs(backoff, true)) return;
    backoff = std::min(backoff * 2, options_.retry_max_ms);
    reassert = true;
  }
}

void Migrator::MarkSourceDoneLocked(const std::string& id) {
  Migration& m = *log_.current;
  for (cluster::MigrationSource& s : m.sources) s.done = s.done || s.id == id;
  for (cluster::MigrationPair& p : m.pairs) p.done = p.done || p.source == id;
  m.last_error.clear();
  if (PersistLocked().ok()) dirty_ = false;
  spdlog::info("rebalance: {}: {} copied its arcs ({}/{} arcs done)", m.id, id, m.ArcsDone(),
               m.ArcsTotal());
}

// While a replica move copies, every second: a node that restarted lost its
// part, and with it the old ring, so it would read and write the new
// replica sets alone; tell it again (its own copy may be done already, so
// no retry would).
void Migrator::KeepReplicaParts(const Migration& m) {
  constexpr uint32_t kTickMs = 100;
  for (uint32_t tick = 1;; ++tick) {
    if (!SleepMs(kTickMs, true)) return;
    {
      MutexLock lock(mu_);
      if (AllSourcesDone(*log_.current)) return;
    }
    if (tick % 10 == 0) ReassertNodes(m, m.InvolvedNodes());
  }
}

// Before a retried copy: a source or target that restarted lost its roles
// (and its map); tell it again.
void Migrator::Reassert(const Migration& m, const std::string& source) {
  ReassertNodes(m, SourceAndTargets(m, source));
}

void Migrator::ReassertNodes(const Migration& m, const std::vector<std::string>& ids) {
  std::string map_json = cluster::ToJson(map_owner_.Map());
  for (const std::string& id : ids) {
    auto has = mover_.HasPart(m, id);
    if (has.ok() && !*has) {
      spdlog::warn("rebalance: {}: node {} lost its part (restarted?); re-sending it", m.id, id);
    }
    if (has.ok() && *has) continue;
    if (auto r = mover_.Begin(m, id); !r.ok()) {
      spdlog::warn("rebalance: {}: {}", m.id, r.status().message());
      continue;
    }
    for (const ClusterMap* map : {&m.to_map, &m.from_map}) {
      if (auto i = map->Find(id)) {
        if (Status s = mover_.PushMap(map->nodes[*i], map_json); !s.ok()) {
          spdlog::debug("rebalance: SetMap on {}: {}", id, s.message());
        }
        break;
      }
    }
  }
}

// switching: end the migration on the nodes, settle the membership (joining
// -> active, leaving removed; same ring, new epoch), then clean.
void Migrator::Switch() {
  // Every key is on its new owner: reads go there, and the proxy stops moving
  // keys, before the nodes stop writing through (after the grace, no read
  // sent to an old owner is still in flight).
  if (map_owner_.Current()->moves) {
    if (Status s = map_owner_.SetMovesFrom(std::nullopt); !s.ok()) {
      spdlog::error("rebalance: cannot clear the moving keys: {}", s.message());
    }
    if (!SleepMs(Snapshot().grace_ms, false)) return;
  }
  if (cluster::ReplicaMove(Snapshot().from_map, Snapshot().to_map)) {
    // Reads move to the new replica sets on every node while writes still
    // reach both; only then may a node write to the new sets alone.
    SwitchReads();
    if (!SleepMs(Snapshot().grace_ms, false)) return;
  }
  EndAll(false);
  Migration m = Snapshot();
  ClusterMap cur = map_owner_.Map();
  if (!cluster::SameMembership(cluster::Settled(cur), cur)) {
    auto r = map_owner_.Apply([](const ClusterMap& c) -> StatusOr<ClusterMap> {
      ClusterMap next = cluster::Settled(c);
      next.epoch = c.epoch + 1;
      return next;
    });
    if (!r.ok()) {
      spdlog::error("rebalance: {}: cannot settle the map: {}", m.id, r.status().message());
      SetError(r.status().message());
      SleepMs(options_.retry_max_ms, false);
      return;  // still switching: retried
    }
    spdlog::info("rebalance: {}: epoch {}: joining nodes active, leaving nodes removed", m.id,
                 r->epoch);
  }
  PushMapToAll(map_owner_.Map());
  MutexLock lock(mu_);
  log_.current->clean_until_ms = clock_.NowMs() + log_.current->grace_ms;
  SetStateLocked(MigrationState::kCleaning);
}

// A replica move in state switching: BeginMigration again, now with
// `switched` (GrpcArcMover sets it from the state), on every involved node.
// A node that does not answer after a few tries is left, like EndAll does:
// it serves nothing meanwhile, and it forgets its part when it restarts.
void Migrator::SwitchReads() {
  Migration m = Snapshot();
  std::vector<std::future<void>> calls;
  for (const std::string& id : m.InvolvedNodes()) {
    calls.push_back(std::async(std::launch::async, [this, &m, id] {
      StatusOr<uint64_t> r = mover_.Begin(m, id);
      for (int i = 1; i < kEndAttempts && !r.ok(); ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(options_.retry_min_ms << i));
        r = mover_.Begin(m, id);
      }
      if (!r.ok()) spdlog::warn("rebalance: {}: switching reads: {}", m.id, r.status().message());
    }));
  }
  for (auto& c : calls) c.get();
  spdlog::info("rebalance: {}: reads switched to the new replica sets", m.id);
}

// cancelling: back to the old ring (a new epoch with from_map's membership),
// wait for requests in flight, then end the migration on the nodes.
void Migrator::CancelSteps() {
  Migration m = Snapshot();
  if (Status s = map_owner_.SetMovesFrom(std::nullopt); !s.ok()) {
    spdlog::error("rebalance: cannot clear the moving keys: {}", s.message());
  }
  if (!cluster::SameMembership(map_owner_.Map(), m.from_map)) {
    auto r = map_owner_.Apply([&](const ClusterMap& c) -> StatusOr<ClusterMap> {
      if (cluster::SameMembership(c, m.from_map)) return c;
      if (!cluster::SameMembership(c, m.to_map)) {
        return FailedPrecondition("the cluster map changed during migration " + m.id +
                                  "; leaving it as it is");
      }
      ClusterMap back = m.from_map;
      back.epoch = c.epoch + 1;
      return back;
    });
    if (!r.ok() && r.status().code() != StatusCode::kFailedPrecondition) {
      SetError(r.status().message());
      SleepMs(options_.retry_max_ms, false);
      return;  // still cancelling: retried
    }
    if (r.ok()) spdlog::info("rebalance: {}: back to the old ring at epoch {}", m.id, r->epoch);
  }
  PushMapToAll(map_owner_.Map());
  if (!SleepMs(m.grace_ms, false)) return;
  EndAll(true);
  MutexLock lock(mu_);
  SetStateLocked(MigrationState::kCancelled);
}

void Migrator::Finish() {
  MutexLock lock(mu_);
  if (!log_.current) return;
  const Migration& m = *log_.current;
  spdlog::info("rebalance: migration {} {}: {} keys, {} bytes moved", m.id,
               cluster::MigrationStateName(m.state), m.KeysMoved(), m.BytesMoved());
  log_.history.push_back(m);
  while (log_.history.size() > options_.history) log_.history.erase(log_.history.begin());
  log_.current.reset();
  cancel_requested_ = false;
  samples_.clear();
  if (Status s = PersistLocked(); !s.ok()) spdlog::error("rebalance: {}", s.message());
}

// ---- helpers ----

// A replica move skips the nodes its old map says are down: a dead node
// must not hold up the move (the health checker pushes the map to a node
// that comes back: NodeUp).
void Migrator::PushMapToAll(const ClusterMap& map) {
  std::vector<cluster::NodeInfo> nodes = map.nodes;
  std::optional<Migration> m = SnapshotIfAny();
  if (m) {
    for (const ClusterMap* other : {&m->from_map, &m->to_map}) {
      for (const cluster::NodeInfo& n : other->nodes) {
        if (!map.Find(n.id)) nodes.push_back(n);
      }
    }
  }
  if (m && cluster::ReplicaMove(m->from_map, m->to_map)) {
    std::erase_if(nodes, [&](const cluster::NodeInfo& n) {
      const cluster::NodeInfo* before = FindIn(m->from_map, n.id);
      return before != nullptr && before->state == cluster::NodeState::kDown;
    });
  }
  std::string text = cluster::ToJson(map);
  std::vector<std::future<Status>> calls;
  calls.reserve(nodes.size());
  for (const cluster::NodeInfo& n : nodes) {
    calls.push_back(std::async(std::launch::async, [&, n] { return mover_.PushMap(n, text); }));
  }
  for (size_t i = 0; i < calls.size(); ++i) {
    if (Status s = calls[i].get(); !s.ok()) {
      spdlog::debug("rebalance: SetMap epoch {} on {}: {}", map.epoch, nodes[i].id, s.message());
    }
  }
}

// EndMigration on every involved node; a node that does not answer after a
// few tries is left (its roles die with its next restart or migration).
//
// Order matters while clients write: a node with roles applies each write to
// a moving key on its peer too, and the peer refuses once its own part has
// ended. Writes go to the new owners after a completed move and to the old
// ones after a cancel, so those end first (nodes that only import, resp. only
// export), then the rest.
void Migrator::EndAll(bool cancelled) {
  Migration m = Snapshot();
  std::vector<std::string> first, second;
  for (const std::string& id : m.InvolvedNodes()) {
    bool imports = false, exports = false;
    for (const cluster::MigrationPair& p : m.pairs) {
      imports = imports || p.target == id;
      exports = exports || p.source == id;
    }
    bool serves_writes = cancelled ? !imports : !exports;
    (serves_writes ? first : second).push_back(id);
  }
  for (const std::vector<std::string>* group : {&first, &second}) {
    std::vector<std::future<Status>> calls;
    for (const std::string& id : *group) {
      calls.push_back(std::async(std::launch::async, [this, &m, id, cancelled] {
        Status s;
        for (int i = 0; i < kEndAttempts; ++i) {
          s = mover_.End(m, id, cancelled, m.grace_ms);
          if (s.ok()) break;
          std::this_thread::sleep_for(std::chrono::milliseconds(options_.retry_min_ms << i));
        }
        return s;
      }));
    }
    for (auto& c : calls) {
      if (Status s = c.get(); !s.ok()) spdlog::warn("rebalance: {}: {}", m.id, s.message());
    }
  }
}

bool Migrator::SleepMs(uint32_t ms, bool cancel_interrupts) {
  MutexLock lock(mu_);
  auto interrupted = [&]() REQUIRES(mu_) {
    return stop_ || (cancel_interrupts && cancel_requested_);
  };
  cv_.WaitFor(mu_, std::chrono::milliseconds(ms), interrupted);
  return !interrupted();
}

bool Migrator::Interrupted() const {
  return stop_ || cancel_requested_;
}

Status Migrator::PersistLocked() {
  Status s = cluster::WriteFileDurably(options_.data_dir, kRecordFile,
                                       cluster::MigrationLogToJson(log_) + "\n");
  if (!s.ok()) spdlog::error("rebalance: cannot write the migration record: {}", s.message());
  return s;
}

Migration Migrator::Snapshot() const {
  MutexLock lock(mu_);
  return *log_.current;
}

std::optional<Migration> Migrator::SnapshotIfAny() const {
  MutexLock lock(mu_);
  return log_.current;
}

void Migrator::SetStateLocked(MigrationState next) {
  Migration& m = *log_.current;
  MigrationState was = m.state;
  if (Status s = cluster::Transition(m, next, clock_.NowMs()); !s.ok()) {
    spdlog::error("rebalance: {}", s.message());
    return;
  }
  spdlog::info("rebalance: migration {}: {} -> {}", m.id, cluster::MigrationStateName(was),
               cluster::MigrationStateName(next));
  (void)PersistLocked();
}

void Migrator::StopCallsLocked() {
  for (auto& [id, flag] : calls_) flag->store(true);
}

void Migrator::SetError(const std::string& error) {
  MutexLock lock(mu_);
  if (log_.current) log_.current->last_error = error;
}

void Migrator::RecordProgressLocked(uint64_t delta) {
  sent_total_ += delta;
  int64_t now = clock_.NowMs();
  if (samples_.empty() || now - samples_.back().first >= 200) {
    samples_.emplace_back(now, sent_total_);
  } else {
    samples_.back().second = sent_total_;
  }
  while (samples_.size() > 2 && now - samples_.front().first > 5000) samples_.pop_front();
}

double Migrator::RateLocked() const {
  if (samples_.size() < 2) return 0;
  int64_t now = clock_.NowMs();
  const auto& [t1, k1] = samples_.back();
  if (now - t1 > 3000) return 0;  // no progress lately
  const auto& [t0, k0] = samples_.front();
  if (t1 <= t0) return 0;
  return static_cast<double>(k1 - k0) * 1000.0 / static_cast<double>(t1 - t0);
}

}  // namespace ringkv::router
