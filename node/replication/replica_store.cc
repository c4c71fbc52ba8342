// The replica side of this node's store: reads and keep-newer installs of
// entries and tombstones (replica_entry.h), over store::Engine's versioned
// calls.

#include "node/replication/replica_entry.h"

namespace ringkv::node {
namespace {

ReplicaEntry FromStore(const store::VersionedEntry& v) {
  return ReplicaEntry{v.tombstone, v.entry};
}

}  // namespace

std::optional<ReplicaEntry> PeekLocal(store::Engine& engine, std::string_view key, int64_t now_ms) {
  std::optional<store::VersionedEntry> v = engine.Peek(key, now_ms);
  if (!v) return std::nullopt;
  return FromStore(*v);
}

Status InstallIfNewer(store::Engine& engine, HybridClock& hlc, std::string_view key,
                      const ReplicaEntry& e, int64_t now_ms, bool* installed) {
  *installed = false;
  if (Status s = hlc.Admit(e.version(), key); !s.ok()) return s;
  if (!e.tombstone && e.entry.expire_at_ms != 0 && e.entry.expire_at_ms <= now_ms) {
    return OkStatus();  // expired on arrival: nothing to keep
  }
  StatusOr<bool> r =
      store::InstallIfNewer(engine, key, now_ms, store::VersionedEntry{e.entry, e.tombstone});
  if (!r.ok()) return r.status();
  *installed = *r;
  return OkStatus();
}

}  // namespace ringkv::node
