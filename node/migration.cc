#include "node/migration.h"

#include <chrono>
#include <thread>
#include <utility>

#include "cluster/cluster_map.h"
#include "node/internal/arc_dropper.h"
#include "node/internal/tombstones.h"

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

// How long a replaced view stays alive for FastHere readers holding its
// raw pointer (they hold it for one hash and one ring lookup).
constexpr int64_t kRetireGraceMs = 60'000;

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
std::vector<T>& GroupFor(std::vector<std::pair<const MigrationView::Role*, std::vector<T>>>& groups,
                         const MigrationView::Role* role) {
  for (auto& [r, items] : groups) {
    if (r->role.peer_grpc == role->role.peer_grpc) return items;
  }
  return groups.emplace_back(role, std::vector<T>{}).second;
}

}  // namespace

const MigrationView::Role* MigrationView::RoleAt(uint64_t pos) const {
  for (const Role& r : roles) {
    if (r.set.Contains(pos)) return &r;
  }
  return nullptr;
}

bool MigrationView::OwnsByMap(std::string_view key) const {
  return epoch != 0 && self != ring::kNoNode && ring->OwnerIndexOfKey(key) == self;
}

MigrationView::Place MigrationView::PlaceOf(std::string_view key, uint32_t* owner) const {
  if (epoch == 0) return Place::kHere;
  const uint64_t pos = ring->KeyPosition(key);
  const uint32_t o = ring->OwnerIndex(pos);
  if (o != ring::kNoNode && o == self) return Place::kHere;
  if (!roles.empty() && RoleAt(hash == ring->options().hash ? pos : ring::HashKey(hash, key))) {
    return Place::kHere;
  }
  if (o == ring::kNoNode) return Place::kDown;
  *owner = o;
  return Place::kOwner;
}

Migration::Migration(store::Engine& engine, const Clock& clock, HybridClock& hlc, Metrics& metrics,
                     const std::string& self_id, PeerLink& link,
                     std::chrono::microseconds bulk_yield)
    : engine_(engine),
      clock_(clock),
      hlc_(hlc),
      metrics_(metrics),
      self_id_(self_id),
      link_(link),
      bulk_yield_(bulk_yield),
      view_(std::make_shared<MigrationView>()),
      tombstones_(std::make_unique<internal::TombstoneTable>()) {
  fast_.store(view_.get(), std::memory_order_release);
  dropper_ = std::make_unique<internal::ArcDropper>(
      engine_, clock_, metrics_, [this](std::string_view key) { return KeepOnDrop(key); },
      bulk_yield_);
}

Migration::~Migration() = default;

std::shared_ptr<const MigrationView> Migration::View() const {
  std::lock_guard lock(mu_);
  return view_;
}

void Migration::Publish(std::shared_ptr<const MigrationView> view) {
  const int64_t now = clock_.NowMs();
  std::erase_if(retired_, [now](const auto& r) { return now - r.first > kRetireGraceMs; });
  retired_.emplace_back(now, std::move(view_));
  view_ = std::move(view);
  fast_.store(view_.get(), std::memory_order_release);
  const bool roles = !view_->roles.empty();
  const bool await = view_->epoch == 0 && !await_reason_.empty();
  mode_.store((view_->epoch > 0 ? kFence : 0) | (roles ? kRoles : 0) | (await ? kAwait : 0),
              std::memory_order_relaxed);
  metrics_.migration().epoch.store(view_->epoch, std::memory_order_relaxed);
  metrics_.migration().active.store(roles ? 1 : 0, std::memory_order_relaxed);
}

Status Migration::Begin(MigrationPlan plan) {
  if (plan.id.empty()) return InvalidArgument("migration_id must not be empty");
  for (const MigrationRole& r : plan.roles) {
    if (r.peer_grpc.empty()) return InvalidArgument("a migration role has no peer_grpc address");
  }
  // Keys an earlier migration gave away leave first: once this one's roles
  // are published, a stale copy in an arc this node imports would count as
  // held (no fetch) and be kept by the dropper.
  dropper_->Flush();
  std::lock_guard lock(mu_);
  auto v = std::make_shared<MigrationView>(*view_);
  const bool same = v->migration_id == plan.id;
  v->migration_id = std::move(plan.id);
  v->migration_epoch = plan.epoch;
  v->hash = plan.hash;
  v->roles.clear();
  for (MigrationRole& r : plan.roles) {
    ring::ArcSet set(r.arcs);
    v->roles.push_back(MigrationView::Role{std::move(r), std::move(set)});
  }
  if (!same) tombstones_->Clear();
  Publish(std::move(v));
  return OkStatus();
}

// Ended migration ids whose Apply and Fetch calls are still accepted.
constexpr size_t kRecentlyEnded = 4;

void Migration::End(std::string_view id, bool cancelled, uint32_t drop_after_ms) {
  std::vector<ring::Arc> drop;
  ring::HashKind hash;
  {
    std::lock_guard lock(mu_);
    if (view_->migration_id.empty() || view_->migration_id != id) return;
    const auto kind = cancelled ? MigrationRole::Kind::kImport : MigrationRole::Kind::kExport;
    for (const MigrationView::Role& r : view_->roles) {
      if (r.role.kind == kind) drop.insert(drop.end(), r.role.arcs.begin(), r.role.arcs.end());
    }
    hash = view_->hash;
    recently_ended_.push_back(view_->migration_id);
    if (recently_ended_.size() > kRecentlyEnded) recently_ended_.erase(recently_ended_.begin());
    auto v = std::make_shared<MigrationView>(*view_);
    v->migration_id.clear();
    v->migration_epoch = 0;
    v->roles.clear();
    Publish(std::move(v));
    tombstones_->Clear();
  }
  dropper_->Schedule(std::move(drop), hash, drop_after_ms);
}

StatusOr<uint64_t> Migration::SetMap(std::string_view map_json, std::string_view registry) {
  StatusOr<cluster::ClusterMap> map = cluster::ClusterMapFromJson(map_json);
  if (!map.ok()) return InvalidArgument("bad cluster map: " + map.status().message());
  {
    std::lock_guard lock(mu_);
    if (!registry.empty()) registry_ = std::string(registry);
    if (map->epoch <= view_->epoch) return view_->epoch;
  }
  StatusOr<ring::RingPtr> ring = cluster::BuildRing(*map);
  if (!ring.ok()) return InvalidArgument("bad cluster map: " + ring.status().message());
  std::vector<std::string> addrs;
  std::vector<std::string> grpc_addrs;
  for (const ring::NodeSpec& n : (*ring)->nodes()) {
    const cluster::NodeInfo* found = nullptr;
    for (const cluster::NodeInfo& info : map->nodes) {
      if (info.id == n.id) found = &info;
    }
    addrs.push_back(found ? found->addr : std::string());
    grpc_addrs.push_back(found ? found->grpc_addr : std::string());
  }
  std::lock_guard lock(mu_);
  if (map->epoch <= view_->epoch) return view_->epoch;  // a newer one won meanwhile
  auto v = std::make_shared<MigrationView>(*view_);
  v->epoch = map->epoch;
  v->ring = *ring;
  v->self = (*ring)->IndexOf(self_id_);
  v->addrs = std::move(addrs);
  v->grpc_addrs = std::move(grpc_addrs);
  v->map_json = cluster::ToJson(*map);
  v->map = std::make_shared<const cluster::ClusterMap>(std::move(*map));
  Publish(std::move(v));
  return view_->epoch;
}

std::string Migration::registry() const {
  std::lock_guard lock(mu_);
  return registry_;
}

void Migration::SetRegistry(std::string addr) {
  std::lock_guard lock(mu_);
  registry_ = std::move(addr);
}

void Migration::AwaitMap(std::string reason) {
  std::lock_guard lock(mu_);
  await_reason_ = std::move(reason);
  Publish(std::make_shared<MigrationView>(*view_));
}

std::string Migration::await_reason() const {
  std::lock_guard lock(mu_);
  return await_reason_;
}

Status Migration::CheckId(std::string_view id) const {
  std::lock_guard lock(mu_);
  if (!view_->migration_id.empty() && view_->migration_id == id) return OkStatus();
  return FailedPrecondition(
      "migration '" + std::string(id) + "' is not under way on this node (current: " +
      (view_->migration_id.empty() ? std::string("none") : "'" + view_->migration_id + "'") + ")");
}

Status Migration::CheckIdOrRecent(std::string_view id) const {
  {
    std::lock_guard lock(mu_);
    for (const std::string& ended : recently_ended_) {
      if (ended == id) return OkStatus();
    }
  }
  return CheckId(id);
}

Status Migration::Install(std::string_view key, std::string_view value, uint64_t version,
                          int64_t expire_at_ms, bool tombstone, int64_t now_ms, Tally& tally) {
  MigrationCounters& c = metrics_.migration();
  if (!tombstone && expire_at_ms != 0 && expire_at_ms <= now_ms) {
    ++tally.skipped;
    Bump(c.skipped);
    return OkStatus();
  }
  hlc_.Observe(version);
  const bool record = tombstone && View()->RoleOfKey(key) != nullptr;
  bool applied = false;
  Status s = engine_.Mutate(key, now_ms, [&](const store::Entry* cur) {
    if (version <= tombstones_->Get(key) || (cur != nullptr && cur->version >= version)) {
      return store::Mutation::Keep();
    }
    applied = true;
    if (tombstone) {
      if (record && tombstones_->Raise(key, version)) Bump(c.tombstones);
      return cur != nullptr ? store::Mutation::Delete() : store::Mutation::Keep();
    }
    return store::Mutation::Put(store::Entry{std::string(value), version, expire_at_ms});
  });
  if (!s.ok()) return s;
  ++(applied ? tally.applied : tally.skipped);
  Bump(applied ? c.applied : c.skipped);
  return OkStatus();
}

std::optional<WireEntry> Migration::Read(std::string_view key, int64_t now_ms) {
  std::optional<WireEntry> out;
  (void)engine_.Mutate(key, now_ms, [&](const store::Entry* cur) {
    if (cur != nullptr) {
      out = WireEntry{std::string(key), *cur, false};
    } else if (uint64_t t = tombstones_->Get(key); t != 0) {
      out = WireEntry{std::string(key), store::Entry{{}, t, 0}, true};
    }
    return store::Mutation::Keep();
  });
  return out;
}

uint64_t Migration::epoch() const {
  return View()->epoch;
}

std::string Migration::migration_id() const {
  return View()->migration_id;
}

size_t Migration::pending_drops() const {
  return dropper_->pending();
}

bool Migration::KeepOnDrop(std::string_view key) const {
  const MigrationView* v = fast_.load(std::memory_order_acquire);
  return v->RoleOfKey(key) != nullptr || v->OwnsByMap(key);
}

bool Migration::HeldHere(std::string_view key, int64_t now_ms) {
  bool held = false;
  (void)engine_.Mutate(key, now_ms, [&](const store::Entry* cur) {
    held = cur != nullptr || tombstones_->Get(key) != 0;
    return store::Mutation::Keep();
  });
  return held;
}

bool Migration::NeedsPeer(const MigrationView& view, std::span<const std::string_view> keys,
                          bool write, int64_t now_ms) {
  for (std::string_view key : keys) {
    const MigrationView::Role* role = view.RoleOfKey(key);
    if (role == nullptr) continue;
    if (write) return true;
    if (role->role.kind == MigrationRole::Kind::kImport && !HeldHere(key, now_ms)) return true;
  }
  return false;
}

Status Migration::PullMissing(const MigrationView& view, std::span<const std::string_view> keys,
                              int64_t now_ms) {
  std::vector<std::pair<const MigrationView::Role*, std::vector<std::string_view>>> groups;
  for (std::string_view key : keys) {
    const MigrationView::Role* role = view.RoleOfKey(key);
    if (role == nullptr || role->role.kind != MigrationRole::Kind::kImport) continue;
    if (!HeldHere(key, now_ms)) GroupFor(groups, role).push_back(key);
  }
  for (const auto& [role, missing] : groups) {
    const std::string& peer = role->role.peer_grpc;
    const auto& keys = missing;  // lambdas may not capture structured bindings (clang < 16)
    auto got = UntilPeerBegins([&] { return link_.Fetch(peer, view.migration_id, keys); });
    if (!got.ok()) return PeerError(role->role.peer_grpc, got.status());
    Tally tally;
    for (const WireEntry& e : *got) {
      Status s = Install(e.key, e.entry.value, e.entry.version, e.entry.expire_at_ms, e.tombstone,
                         now_ms, tally);
      if (!s.ok()) return s;
    }
    Bump(metrics_.migration().fetched, got->size());
  }
  return OkStatus();
}

Status Migration::WriteThrough(const MigrationView& view, std::span<const std::string_view> keys,
                               int64_t now_ms) {
  std::vector<std::pair<const MigrationView::Role*, std::vector<WireEntry>>> groups;
  MigrationCounters& c = metrics_.migration();
  for (std::string_view key : keys) {
    const MigrationView::Role* role = view.RoleOfKey(key);
    if (role == nullptr) continue;
    WireEntry e{std::string(key), {}, false};
    (void)engine_.Mutate(key, now_ms, [&](const store::Entry* cur) {
      if (cur != nullptr) {
        e.entry = *cur;
      } else {
        e.tombstone = true;
        e.entry.version = hlc_.Next();
        if (tombstones_->Raise(key, e.entry.version)) Bump(c.tombstones);
      }
      return store::Mutation::Keep();
    });
    GroupFor(groups, role).push_back(std::move(e));
  }
  for (const auto& [role, entries] : groups) {
    const std::string& peer = role->role.peer_grpc;
    const auto& batch = entries;  // lambdas may not capture structured bindings (clang < 16)
    Status s = UntilPeerBegins(
        [&] { return link_.Apply(peer, view.migration_id, view.migration_epoch, batch); });
    if (!s.ok()) return PeerError(role->role.peer_grpc, s);
    Bump(c.written_through, entries.size());
  }
  return OkStatus();
}

}  // namespace ringkv::node
