#include "node/migration/migration_roles.h"

#include <algorithm>
#include <chrono>
#include <thread>
#include <utility>

#include "node/migration/internal/arc_dropper.h"
#include "node/migration/internal/tombstones.h"

namespace ringkv::node {
namespace {

// The router begins a migration on its nodes in parallel (importers first),
// so a peer may not have begun it yet when the first write-through or fetch
// reaches it: it answers FailedPrecondition. Such a call is retried for up to
// ~255 ms (1, 2, 4, ... 128 ms) before the command fails.
constexpr int kPeerBeginRetries = 8;

bool NotBegunYet(const Status& s) {
  return s.code() == StatusCode::kFailedPrecondition;
}
template <typename T>
bool NotBegunYet(const StatusOr<T>& r) {
  return !r.ok() && NotBegunYet(r.status());
}

template <typename Call>
auto UntilPeerBegins(Call&& call) {
  auto r = call();
  for (int i = 0; i < kPeerBeginRetries && NotBegunYet(r); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1 << i));
    r = call();
  }
  return r;
}

void Bump(std::atomic<uint64_t>& c, uint64_t n = 1) {
  c.fetch_add(n, std::memory_order_relaxed);
}

// "migration peer <addr> unavailable: ..." keeps the peer's code, so the
// command path and the RPCs can both report it.
Status PeerError(const std::string& addr, const Status& s) {
  const bool down =
      s.code() == StatusCode::kUnavailable || s.code() == StatusCode::kDeadlineExceeded;
  return Status(s.code(),
                "migration peer " + addr + (down ? " unavailable: " : " failed: ") + s.message());
}

// Up to a few roles per node: a linear list of (role, items) groups.
template <typename T>
std::vector<T>& GroupFor(std::vector<std::pair<const RoleSnapshot::Role*, std::vector<T>>>& groups,
                         const RoleSnapshot::Role* role) {
  for (auto& [r, items] : groups) {
    if (r->role.peer_grpc == role->role.peer_grpc) return items;
  }
  return groups.emplace_back(role, std::vector<T>{}).second;
}

}  // namespace

RoleSnapshot::RoleSnapshot(MigrationPlan plan)
    : migration_id(std::move(plan.id)),
      migration_epoch(plan.epoch),
      replicas(plan.from_map != nullptr),
      hash(plan.hash) {
  std::vector<ring::Arc> all;
  for (MigrationRole& r : plan.roles) {
    all.insert(all.end(), r.arcs.begin(), r.arcs.end());
    refresh_exports = refresh_exports || (r.kind == MigrationRole::Kind::kExport && r.refresh);
    ring::ArcSet set(r.arcs);
    roles.push_back(Role{std::move(r), std::move(set)});
  }
  held_ = HeldArcs{hash, ring::ArcSet(all)};
}

const RoleSnapshot::Role* RoleSnapshot::RoleAt(uint64_t pos) const {
  for (const Role& r : roles) {
    if (r.set.Contains(pos)) return &r;
  }
  return nullptr;
}

MigrationRoles::MigrationRoles(ClusterView& view, store::Engine& engine, const Clock& clock,
                               HybridClock& hlc, ClusterCounters& counters, PeerLink& link,
                               std::chrono::microseconds bulk_yield)
    : view_(view),
      engine_(engine),
      clock_(clock),
      hlc_(hlc),
      counters_(counters),
      link_(link),
      bulk_yield_(bulk_yield),
      cell_(std::make_shared<RoleSnapshot>()),
      tombstones_(std::make_unique<internal::TombstoneTable>()) {
  dropper_ = std::make_unique<internal::ArcDropper>(
      engine_, clock_, counters_, [this](std::string_view key) { return KeepOnDrop(key); },
      bulk_yield_);
}

MigrationRoles::~MigrationRoles() = default;

std::shared_ptr<const RoleSnapshot> MigrationRoles::Roles() const {
  MutexLock lock(mu_);
  return CurrentLocked();
}

void MigrationRoles::Publish(std::shared_ptr<const RoleSnapshot> next) {
  const bool held = !next->roles.empty() && !next->replicas;
  cell_.Replace(std::move(next), clock_.NowMs());
  view_.SetRolesHeld(held);
  counters_.active.store(held ? 1 : 0, std::memory_order_relaxed);
}

Status MigrationRoles::Begin(MigrationPlan plan) {
  if (plan.id.empty()) return InvalidArgument("migration_id must not be empty");
  for (const MigrationRole& r : plan.roles) {
    if (r.peer_grpc.empty()) return InvalidArgument("a migration role has no peer_grpc address");
  }
  // Keys an earlier migration gave away leave first: once this one's roles
  // are published, a stale copy in an arc this node imports would count as
  // held (no fetch) and be kept by the dropper.
  dropper_->Flush();
  // The view learns the old ring before any arrival or command relies on it.
  if (plan.from_map != nullptr) {
    view_.SetReplicaMove(plan.from_map, plan.switched);
  } else {
    view_.ClearReplicaMove();
  }
  MutexLock lock(mu_);
  const bool same = CurrentLocked()->migration_id == plan.id;
  if (!same) tombstones_->Clear();
  Publish(std::make_shared<RoleSnapshot>(std::move(plan)));
  return OkStatus();
}

// Ended migration ids whose Apply and Fetch calls are still accepted.
constexpr size_t kRecentlyEnded = 4;

void MigrationRoles::End(std::string_view id, bool cancelled, uint32_t drop_after_ms) {
  std::vector<ring::Arc> drop;
  ring::HashKind hash;
  bool replicas = false;
  {
    MutexLock lock(mu_);
    const RoleSnapshot& current = *CurrentLocked();
    if (current.migration_id.empty() || current.migration_id != id) return;
    replicas = current.replicas;
    const auto kind = cancelled ? MigrationRole::Kind::kImport : MigrationRole::Kind::kExport;
    for (const RoleSnapshot::Role& r : current.roles) {
      // A replica set may keep a node on both sides of an arc: the map at
      // drop time decides (KeepOnDrop), not the role.
      if (r.role.kind == kind || replicas) {
        drop.insert(drop.end(), r.role.arcs.begin(), r.role.arcs.end());
      }
    }
    hash = current.hash;
    recently_ended_.push_back(CurrentLocked());
    if (recently_ended_.size() > kRecentlyEnded) recently_ended_.erase(recently_ended_.begin());
    Publish(std::make_shared<RoleSnapshot>());
    tombstones_->Clear();
  }
  if (replicas) view_.ClearReplicaMove();
  dropper_->Schedule(std::move(drop), hash, drop_after_ms, /*with_tombstones=*/replicas);
}

Status MigrationRoles::CheckId(std::string_view id) const {
  MutexLock lock(mu_);
  const std::string& current = CurrentLocked()->migration_id;
  if (!current.empty() && current == id) return OkStatus();
  return FailedPrecondition("migration '" + std::string(id) +
                            "' is not under way on this node (current: " +
                            (current.empty() ? std::string("none") : "'" + current + "'") + ")");
}

Status MigrationRoles::CheckIdOrRecent(std::string_view id) const {
  {
    MutexLock lock(mu_);
    for (const std::shared_ptr<const RoleSnapshot>& ended : recently_ended_) {
      if (ended->migration_id == id) return OkStatus();
    }
  }
  return CheckId(id);
}

bool MigrationRoles::PlacedHere(std::string_view key) const {
  if (cell_.Peek().RoleOfKey(key) != nullptr || view_.OwnsByMap(key)) return true;
  MutexLock lock(mu_);
  for (const std::shared_ptr<const RoleSnapshot>& ended : recently_ended_) {
    if (ended->RoleOfKey(key) != nullptr) return true;
  }
  return false;
}

Status MigrationRoles::CheckArrival(std::string_view key, uint64_t version, int64_t now_ms) {
  if (!PlacedHere(key)) {
    Status s(StatusCode::kPermissionDenied,
             "key '" + std::string(key.substr(0, 64)) +
                 "' is in no arc of a migration under way here, and the map does not place it "
                 "here; refused");
    counters_.refused.Count(Refusal::kOutsideArcs, s.message(), now_ms);
    return s;
  }
  return hlc_.Admit(version, key);  // a refusal is counted by the clock's hook
}

Status MigrationRoles::Install(std::string_view key, std::string value, uint64_t version,
                               int64_t expire_at_ms, bool tombstone, int64_t now_ms, Tally& tally) {
  if (Status s = CheckArrival(key, version, now_ms); !s.ok()) return s;
  if (!tombstone && expire_at_ms != 0 && expire_at_ms <= now_ms) {
    ++tally.skipped;
    Bump(counters_.skipped);
    return OkStatus();
  }
  if (cell_.Peek().replicas) {
    // Replicas keep their tombstones in the store (docs/replication.md).
    StatusOr<bool> stored = store::InstallIfNewer(
        engine_, key, now_ms,
        store::VersionedEntry{store::Entry{std::move(value), version, expire_at_ms}, tombstone});
    if (!stored.ok()) return stored.status();
    ++(*stored ? tally.applied : tally.skipped);
    Bump(*stored ? counters_.applied : counters_.skipped);
    return OkStatus();
  }
  const bool record = tombstone && Roles()->RoleOfKey(key) != nullptr;
  bool applied = false;
  // `cur` may be the store's tombstone (DeleteAbsentKey): it beats older
  // arrivals like a live entry does.
  Status s = engine_.MutateVersioned(key, now_ms, [&](const store::VersionedEntry* cur) {
    if (version <= tombstones_->Get(key) || (cur != nullptr && cur->entry.version >= version)) {
      return store::Mutation::Keep();
    }
    applied = true;
    if (tombstone) {
      if (record && tombstones_->Raise(key, version)) Bump(counters_.tombstones);
      return cur != nullptr ? store::Mutation::Delete() : store::Mutation::Keep();
    }
    return store::Mutation::Put(store::Entry{std::move(value), version, expire_at_ms});
  });
  if (!s.ok()) return s;
  ++(applied ? tally.applied : tally.skipped);
  Bump(applied ? counters_.applied : counters_.skipped);
  return OkStatus();
}

std::optional<WireEntry> MigrationRoles::Read(std::string_view key, int64_t now_ms) {
  std::optional<WireEntry> out;
  (void)engine_.MutateVersioned(key, now_ms, [&](const store::VersionedEntry* cur) {
    if (cur != nullptr && !cur->tombstone) {
      out = WireEntry{std::string(key), cur->entry, false};
      return store::Mutation::Keep();
    }
    // The newer of the store's tombstone (a delete while a node was down,
    // DeleteAbsentKey) and the migration's.
    uint64_t t = tombstones_->Get(key);
    if (cur != nullptr) t = std::max(t, cur->entry.version);
    if (t != 0) out = WireEntry{std::string(key), store::Entry{{}, t, 0}, true};
    return store::Mutation::Keep();
  });
  return out;
}

std::string MigrationRoles::migration_id() const {
  return Roles()->migration_id;
}

size_t MigrationRoles::pending_drops() const {
  return dropper_->pending();
}

bool MigrationRoles::KeepOnDrop(std::string_view key) const {
  return cell_.Peek().RoleOfKey(key) != nullptr || view_.OwnsByMap(key);
}

bool MigrationRoles::HeldHere(std::string_view key, int64_t now_ms) {
  bool held = false;
  (void)engine_.MutateVersioned(key, now_ms, [&](const store::VersionedEntry* cur) {
    held = cur != nullptr || tombstones_->Get(key) != 0;
    return store::Mutation::Keep();
  });
  return held;
}

bool MigrationRoles::NeedsPeer(const RoleSnapshot& roles, std::span<const std::string_view> keys,
                               bool write, int64_t now_ms) {
  for (std::string_view key : keys) {
    const RoleSnapshot::Role* role = roles.RoleOfKey(key);
    if (role == nullptr) continue;
    if (write) return true;
    if (role->role.kind == MigrationRole::Kind::kImport &&
        (role->role.refresh || !HeldHere(key, now_ms))) {
      return true;
    }
  }
  return false;
}

Status MigrationRoles::PullMissing(const RoleSnapshot& roles,
                                   std::span<const std::string_view> keys, int64_t now_ms) {
  std::vector<std::pair<const RoleSnapshot::Role*, std::vector<std::string_view>>> groups;
  for (std::string_view key : keys) {
    const RoleSnapshot::Role* role = roles.RoleOfKey(key);
    if (role == nullptr || role->role.kind != MigrationRole::Kind::kImport) continue;
    if (role->role.refresh || !HeldHere(key, now_ms)) GroupFor(groups, role).push_back(key);
  }
  for (const auto& [role, missing] : groups) {
    const std::string& peer = role->role.peer_grpc;
    const auto& keys = missing;  // lambdas may not capture structured bindings (clang < 16)
    auto got = UntilPeerBegins([&] { return link_.Fetch(peer, roles.migration_id, keys); });
    if (!got.ok()) return PeerError(role->role.peer_grpc, got.status());
    Tally tally;
    for (WireEntry& e : *got) {
      Status s = Install(e.key, std::move(e.entry.value), e.entry.version, e.entry.expire_at_ms,
                         e.tombstone, now_ms, tally);
      if (!s.ok()) return s;
    }
    Bump(counters_.fetched, got->size());
  }
  return OkStatus();
}

Status MigrationRoles::WriteThrough(const RoleSnapshot& roles,
                                    std::span<const std::string_view> keys, int64_t now_ms) {
  std::vector<std::pair<const RoleSnapshot::Role*, std::vector<WireEntry>>> groups;
  for (std::string_view key : keys) {
    const RoleSnapshot::Role* role = roles.RoleOfKey(key);
    if (role == nullptr) continue;
    WireEntry e{std::string(key), {}, false};
    (void)engine_.Mutate(key, now_ms, [&](const store::Entry* cur) {
      if (cur != nullptr) {
        e.entry = *cur;
      } else {
        e.tombstone = true;
        e.entry.version = hlc_.Next();
        if (tombstones_->Raise(key, e.entry.version)) Bump(counters_.tombstones);
      }
      return store::Mutation::Keep();
    });
    GroupFor(groups, role).push_back(std::move(e));
  }
  for (const auto& [role, entries] : groups) {
    const std::string& peer = role->role.peer_grpc;
    const auto& batch = entries;  // lambdas may not capture structured bindings (clang < 16)
    Status s = UntilPeerBegins(
        [&] { return link_.Apply(peer, roles.migration_id, roles.migration_epoch, batch); });
    if (!s.ok()) return PeerError(role->role.peer_grpc, s);
    Bump(counters_.written_through, entries.size());
  }
  return OkStatus();
}

}  // namespace ringkv::node
