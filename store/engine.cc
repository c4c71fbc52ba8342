#include "store/engine.h"

namespace ringkv::store {

StatusOr<bool> InstallIfNewer(Engine& engine, std::string_view key, int64_t now_ms,
                              const VersionedEntry& arrival) {
  bool installed = false;
  Status s = engine.MutateVersioned(key, now_ms, [&](const VersionedEntry* current) {
    if (current != nullptr && current->entry.version >= arrival.entry.version) {
      return Mutation::Keep();
    }
    installed = true;
    return arrival.tombstone ? Mutation::Tombstone(arrival.entry.version)
                             : Mutation::Put(arrival.entry);
  });
  if (!s.ok()) return s;
  return installed;
}

}  // namespace ringkv::store
