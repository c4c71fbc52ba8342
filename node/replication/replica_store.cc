// The replica side of this node's store: reads and keep-newer installs of
// entries and tombstones (replica_entry.h).

#include "node/replication/replica_entry.h"

namespace ringkv::node {

std::optional<ReplicaEntry> PeekLocal(store::Engine& engine, std::string_view key,
                                      int64_t now_ms) {
  std::optional<ReplicaEntry> out;
  (void)engine.Mutate(key, now_ms, [&](const store::Entry* cur) {
    if (cur != nullptr) out = ReplicaEntry{false, *cur};
    return store::Mutation::Keep();
  });
  return out;
}

Status InstallIfNewer(store::Engine& engine, HybridClock& hlc, std::string_view key,
                      const ReplicaEntry& e, int64_t now_ms, bool* installed) {
  *installed = false;
  hlc.Observe(e.version());
  return engine.Mutate(key, now_ms, [&](const store::Entry* cur) {
    if (cur != nullptr && cur->version >= e.version()) return store::Mutation::Keep();
    if (e.tombstone) {
      if (cur == nullptr) return store::Mutation::Keep();
      *installed = true;
      return store::Mutation::Delete();
    }
    if (e.entry.expire_at_ms != 0 && e.entry.expire_at_ms <= now_ms) {
      return cur != nullptr ? store::Mutation::Delete() : store::Mutation::Keep();
    }
    *installed = true;
    return store::Mutation::Put(e.entry);
  });
}

StatusOr<std::optional<ReplicaEntry>> SealDelete(store::Engine& engine, HybridClock& hlc,
                                                 std::string_view key, int64_t now_ms) {
  std::optional<ReplicaEntry> now = PeekLocal(engine, key, now_ms);
  if (now) return now;  // written again meanwhile: that is the newest
  ReplicaEntry t;
  t.tombstone = true;
  t.entry.version = hlc.Next();
  return std::optional<ReplicaEntry>(std::move(t));
}

}  // namespace ringkv::node
