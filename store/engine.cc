#include "store/engine.h"

namespace ringkv::store {

bool Supersedes(const VersionedEntry& a, const VersionedEntry& b) {
  if (a.entry.version != b.entry.version) return a.entry.version > b.entry.version;
  // Two writes on two nodes can draw the same HLC version: order them by
  // content, the same way everywhere, so replicas converge.
  if (a.tombstone != b.tombstone) return a.tombstone;
  if (a.tombstone) return false;
  if (a.entry.value != b.entry.value) return a.entry.value > b.entry.value;
  return a.entry.expire_at_ms > b.entry.expire_at_ms;
}

StatusOr<bool> InstallIfNewer(Engine& engine, std::string_view key, int64_t now_ms,
                              const VersionedEntry& arrival) {
  bool installed = false;
  Status s = engine.MutateVersioned(key, now_ms, [&](const VersionedEntry* current) {
    if (current != nullptr && !Supersedes(arrival, *current)) return Mutation::Keep();
    installed = true;
    return arrival.tombstone ? Mutation::Tombstone(arrival.entry.version)
                             : Mutation::Put(arrival.entry);
  });
  if (!s.ok()) return s;
  return installed;
}

}  // namespace ringkv::store
